"""The on-disk layout of an index directory, and the checks every build file passes before it is read.

    index/CURRENT                  one line: the id of the published build
    index/builds/<build id>/       one complete build (see docs/architecture.md for each file)
        manifest.json              what the build is, and the sha256 of every other file

A build is written into a fresh directory, fsynced, read back and verified, and only then
published by replacing `CURRENT` with `os.replace`, so readers see the old build or the new one,
never half of one. Build ids start with a UTC timestamp, so they sort by age.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import shutil
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError, SemsearchError

logger = logging.getLogger(__name__)

FORMAT_VERSION = 4  # one version for the whole build (1: before it; 2: before mapped files; 3: before segments)
CURRENT = "CURRENT"
BUILDS = "builds"
MANIFEST_FILE = "manifest.json"
KEEP_BUILDS = 3
REBUILD = "Run `semsearch index NOTES_DIR` to rebuild."
_SEGMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a build is and how to check it."""

    build_id: str
    created_at: str
    model_name: str
    dim: int
    chunk_count: int
    file_count: int
    chunking: dict[str, Any]
    files: dict[str, str]  # file name -> sha256
    vector_store: str  # the vector store's description (`vectors.describe_store`)
    notes_dir: str = ""
    semsearch_version: str = ""
    format_version: int = FORMAT_VERSION
    collections: dict[str, str] = field(default_factory=dict)  # collection -> its folder (absolute)
    sizes: dict[str, int] = field(default_factory=dict)  # file name -> bytes
    edges: dict[str, str] = field(default_factory=dict)  # file name -> sha256 of its first and last block
    # the segments, in build-row order: {"name", "rows" (stored, deleted included), "vector_store"}
    segments: list[dict[str, Any]] = field(default_factory=list)

    def folder_of(self, collection: str) -> str:
        """The folder `collection`'s sources are relative to ("" when the build does not record it);
        a build made before collections holds one, the default, in `notes_dir`."""
        from ..records import DEFAULT_COLLECTION

        found = self.collections.get(collection, "")
        return found or (self.notes_dir if collection == DEFAULT_COLLECTION and not self.collections else "")

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False).encode()

    @classmethod
    def from_json(cls, raw: bytes, *, where: Path) -> Manifest:
        """Parse and check the shape of a manifest; IndexMismatchError for another format version,
        IndexCorruptError for anything else that is not a manifest."""
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise IndexCorruptError(f"{where} is corrupt (not JSON: {exc}). {REBUILD}") from None
        if not isinstance(data, dict):
            raise IndexCorruptError(f"{where} is corrupt (not a manifest). {REBUILD}")
        version = data.get("format_version", 1)
        if version != FORMAT_VERSION:
            raise IndexMismatchError(
                f"{where.parent} is an index of format {version!r} and this semsearch reads format "
                f"{FORMAT_VERSION}. {REBUILD}")
        types = {"build_id": str, "created_at": str, "model_name": str, "dim": int, "chunk_count": int,
                 "file_count": int, "chunking": dict, "files": dict, "vector_store": str,
                 "notes_dir": str, "semsearch_version": str, "format_version": int, "collections": dict,
                 "sizes": dict, "edges": dict, "segments": list}
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for name, kind in types.items():
            if name in values and (not isinstance(values[name], kind) or isinstance(values[name], bool)):
                raise IndexCorruptError(f"{where} is corrupt (a malformed `{name}`). {REBUILD}")
        texts = [v for name in ("files", "collections", "edges") for v in values.get(name, {}).values()]
        sizes = list(values.get("sizes", {}).values())
        if not all(isinstance(v, str) for v in texts) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in sizes):
            raise IndexCorruptError(f"{where} is corrupt (a malformed `files`). {REBUILD}")
        segments = values.get("segments", [])
        if not all(isinstance(s, dict) and isinstance(s.get("name"), str) and isinstance(s.get("rows"), int)
                   and isinstance(s.get("vector_store"), str) and _SEGMENT_NAME.fullmatch(s["name"])
                   for s in segments):
            raise IndexCorruptError(f"{where} is corrupt (a malformed `segments`). {REBUILD}")
        try:
            return cls(**values)
        except TypeError:
            raise IndexCorruptError(f"{where} is corrupt (required fields missing). {REBUILD}") from None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_durably(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


class _Summing:
    """A file being written, and the sha256, size and edges of what went into it."""

    def __init__(self, handle: Any, edge: int) -> None:
        self.handle, self.edge = handle, edge
        self.digest, self.size = hashlib.sha256(), 0
        self.head, self.tail = b"", b""

    def write(self, data: bytes | memoryview) -> int:
        data = bytes(data)
        self.handle.write(data)
        self.digest.update(data)
        self.size += len(data)
        if len(self.head) < self.edge:
            self.head += data[: self.edge - len(self.head)]
        self.tail = (self.tail + data[-self.edge:])[-self.edge:]
        return len(data)


def write_array_durably(path: Path, array: Any, edge: int) -> tuple[str, int, str]:
    """Save `array` as a `.npy` file without a copy of it in memory; (sha256, size, sha256 of the
    first and last `edge` bytes: the whole file's when it is no longer than 2 * edge)."""
    import numpy as np

    with open(path, "wb") as handle:
        summing = _Summing(handle, edge)
        np.lib.format.write_array(summing, np.ascontiguousarray(array), allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())
    if summing.size > 2 * edge:
        edges = sha256(summing.head + summing.tail)
    else:
        edges = sha256(path.read_bytes())
    return summing.digest.hexdigest(), summing.size, edges


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def new_build_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)


def plain_file(path: Path) -> bool:
    """True for a regular file that is not a symlink: the only thing an index reads (a FIFO would
    block the reader, a symlink would read whatever it points at)."""
    return not path.is_symlink() and path.is_file()


def read_manifest(build_dir: Path) -> Manifest:
    path = build_dir / MANIFEST_FILE
    if path.exists() and not plain_file(path):
        raise IndexCorruptError(f"{path} is not a plain file. {REBUILD}")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise IndexCorruptError(f"{path} is missing. {REBUILD}") from None
    except OSError as exc:
        raise IndexCorruptError(f"{path} is unreadable ({exc.strerror or exc}). {REBUILD}") from None
    return Manifest.from_json(raw, where=path)


def published_name(index_dir: Path) -> str:
    """The id of the published build, or "" when none is published or `CURRENT` is not a plain,
    short, UTF-8 file naming one."""
    pointer = index_dir / CURRENT
    if not plain_file(pointer):
        return ""
    try:
        with open(pointer, "rb") as handle:
            raw = handle.read(257)
        name = raw.decode("utf-8").strip() if len(raw) <= 256 else ""  # a build id is 30-odd bytes
    except (OSError, UnicodeDecodeError):
        return ""
    return name if name and "/" not in name and "\x00" not in name and not name.startswith(".") else ""


def current_build_dir(index_dir: Path) -> Path:
    """The published build's directory. IndexNotFoundError if nothing is published,
    IndexCorruptError if `CURRENT` names no build."""
    pointer = index_dir / CURRENT
    if not pointer.exists() and not pointer.is_symlink():
        raise IndexNotFoundError(f"No index at {index_dir}. Run `semsearch index NOTES_DIR` to build one.")
    name = published_name(index_dir)
    build = index_dir / BUILDS / name
    if not name or build.is_symlink() or not build.is_dir():
        raise IndexCorruptError(f"{pointer} does not name a build. {REBUILD}")
    return build


def older_format_folders(index_dir: Path) -> dict[str, str] | None:
    """When the published build is of an older format version: its collections' folders (name ->
    folder; the default collection's from `notes_dir` in builds before collections), to rebuild it
    from. None when the build is of this version, or its manifest cannot be read as one."""
    try:
        data = json.loads((current_build_dir(index_dir) / MANIFEST_FILE).read_bytes())
    except (SemsearchError, OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format_version", 1) in (FORMAT_VERSION, None):
        return None
    from ..records import DEFAULT_COLLECTION

    recorded = data.get("collections")
    folders: dict[Any, Any] = recorded if isinstance(recorded, dict) else {}
    found = {str(k): str(v) for k, v in folders.items() if isinstance(v, str) and v}
    if not found and isinstance(data.get("notes_dir"), str) and data["notes_dir"]:
        found = {DEFAULT_COLLECTION: data["notes_dir"]}
    return found


def build_dirs(index_dir: Path) -> list[Path]:
    """Every build directory under `index_dir`, newest first."""
    try:
        found = [p for p in (index_dir / BUILDS).iterdir() if p.is_dir() and not p.name.startswith(".")]
    except OSError:
        return []
    return sorted(found, key=lambda p: p.name, reverse=True)


def publish(index_dir: Path, build_id: str) -> None:
    """Point `CURRENT` at `build_id`, atomically. A directory in the way (damage) is moved aside,
    not deleted."""
    pointer = index_dir / CURRENT
    if pointer.is_dir() and not pointer.is_symlink():
        aside = index_dir / f".{CURRENT}.damaged-{new_build_id()}"
        logger.warning("%s is a directory; moving it to %s", pointer, aside.name)
        os.replace(pointer, aside)
    tmp = index_dir / f".{CURRENT}.{secrets.token_hex(4)}.tmp"
    try:
        write_durably(tmp, (build_id + "\n").encode())
        os.replace(tmp, index_dir / CURRENT)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(index_dir)


def prune_builds(index_dir: Path, keep: int = KEEP_BUILDS) -> None:
    """Delete all but the newest `keep` builds, never the published one."""
    current = published_name(index_dir)
    for old in build_dirs(index_dir)[keep:]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)


def remove_partial_builds(index_dir: Path) -> None:
    """Delete build folders a killed build left without a manifest (call with the build lock held)."""
    current = published_name(index_dir)
    for folder in build_dirs(index_dir):
        if folder.name != current and not (folder / MANIFEST_FILE).exists():
            logger.info("removing the unfinished build %s", folder.name)
            shutil.rmtree(folder, ignore_errors=True)
