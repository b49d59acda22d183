"""The install: `ask` and `semsearch index` need only the base dependencies (the lean first
command of the README), and a built wheel installed outside the checkout answers from its bundled
notes, from any directory, into the per-user index."""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .conftest import REPO

IMPORTED = """
import json, sys
from services.cli import ask, main
for command, args in ((main, ["index", sys.argv[1]]), (ask, ["water the tomatoes"])):
    try:
        command.main(args, standalone_mode=False)
    except SystemExit:
        pass
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""
# bm25s imports these when they are installed (the dev extra brings them) and falls back without
OPPORTUNISTIC = {"numba", "llvmlite", "orjson"}


def _base_closure() -> set[str]:
    """pyproject.toml's dependencies (no extras), and theirs, recursively (distribution names)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    seen = {canonicalize_name("semsearch")}
    todo = [Requirement(line).name for line in project["dependencies"]]
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen


def test_index_and_ask_import_only_the_base_dependencies(tiny_notes: Path, tmp_path: Path) -> None:
    env = {**os.environ, "SEMSEARCH_MODEL": "hashing", "SEMSEARCH_ABSTAIN_THRESHOLD": "0"}
    out = subprocess.run([sys.executable, "-c", IMPORTED, str(tiny_notes)], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "garden.txt" in out.stdout
    modules = json.loads(out.stdout.strip().splitlines()[-1])
    owners = metadata.packages_distributions()
    allowed = _base_closure()
    outside = {module: owners[module] for module in modules
               if module in owners and module not in OPPORTUNISTIC
               and not {canonicalize_name(d) for d in owners[module]} & allowed}
    assert outside == {}, f"imported from outside the base dependencies: {outside}"


def _run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(command, capture_output=True, text=True, timeout=900, **kwargs)  # type: ignore[call-overload]
    assert out.returncode == 0, f"{command}: {out.stdout}\n{out.stderr}"
    return out  # type: ignore[no-any-return]


@pytest.mark.slow
def test_a_wheel_installed_outside_the_checkout_answers_from_its_bundled_notes(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(REPO)])
    wheel = next(dist.glob("semsearch-*.whl"))
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    # the dependencies (torch...) from this venv, appended after the new venv's own site-packages;
    # a bare path line, so this venv's .pth files (the checkout's editable install) are not run
    (site / "_deps_from_dev_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)])

    env = {"PATH": str(venv / "bin") + os.pathsep + "/usr/bin:/bin", "HOME": os.environ.get("HOME", str(tmp_path)),
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    if os.environ.get("XDG_CACHE_HOME"):  # the exported ONNX model, where this machine keeps it
        env["XDG_CACHE_HOME"] = os.environ["XDG_CACHE_HOME"]
    where = _run([str(python), "-c", "import semsearch, services; print(semsearch.__file__); print(services.__file__)"],
                 env=env, cwd=tmp_path).stdout.split()
    assert all(Path(path).is_relative_to(site) for path in where), where  # the wheel's, not the checkout's

    first_dir, second_dir = tmp_path / "one", tmp_path / "two"
    first_dir.mkdir()
    second_dir.mkdir()
    first = _run([str(venv / "bin" / "ask"), "what is inverted dropout"], env=env, cwd=first_dir)
    assert "deep-neural-nets" in first.stdout
    assert "No index yet" in first.stderr and "bundled with semsearch" in first.stderr
    assert str(tmp_path / "data" / "semsearch" / "index") in first.stderr  # says where it builds
    second = _run([str(venv / "bin" / "ask"), "what is inverted dropout"], env=env, cwd=second_dir)
    assert "deep-neural-nets" in second.stdout and "No index yet" not in second.stderr
    assert list(first_dir.iterdir()) == [] and list(second_dir.iterdir()) == []
    assert (tmp_path / "data" / "semsearch" / "index" / "CURRENT").is_file()
    doctor = _run([str(venv / "bin" / "semsearch"), "doctor"], env=env, cwd=second_dir)
    assert f"{tmp_path / 'data' / 'semsearch' / 'index'}: build " in doctor.stdout
