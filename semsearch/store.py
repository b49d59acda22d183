"""The on-disk index: versioned builds under `index/builds/`, published through `index/CURRENT`.

A build directory holds `vectors.faiss`, `chunks.jsonl` (row i = faiss id i) and `manifest.json`
(model, dimension, chunking, counts and the sha256 of every other file). A build is written into a
fresh directory, fsynced, read back and verified, and only then published by replacing the
one-line `CURRENT` file with `os.replace`, so readers see the old build or the new one, never half.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from .ann import apply_search_params, choose_index_type
from .ann import build_index as build_ann_index
from .errors import IndexBuildError, IndexCorruptError, IndexMismatchError, IndexNotFoundError
from .records import Chunk

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
CURRENT = "CURRENT"
BUILDS = "builds"
VECTORS_FILE = "vectors.faiss"
CHUNKS_FILE = "chunks.jsonl"
MANIFEST_FILE = "manifest.json"
KEEP_BUILDS = 3


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
    format_version: int = FORMAT_VERSION
    metric: str = "ip"
    normalized: bool = True
    index_type: str = "Flat"
    notes_dir: str = ""
    skipped: list[dict[str, str]] = field(default_factory=list)
    semsearch_version: str = ""

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_durably(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def new_build_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)


def current_build_dir(index_dir: Path) -> Path:
    """The published build's directory. Raises IndexNotFoundError if nothing is published."""
    pointer = index_dir / CURRENT
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise IndexNotFoundError(
            f"No index at {index_dir}. Run `semsearch index NOTES_DIR` to build one."
        ) from None
    build = index_dir / BUILDS / name
    if not name or "/" in name or not build.is_dir():
        raise IndexCorruptError(
            f"{pointer} points to a missing build {name!r}. Run `semsearch index NOTES_DIR` to rebuild."
        )
    return build


def write_build(
    index_dir: Path,
    chunks: list[Chunk],
    vectors: np.ndarray,
    *,
    model_name: str,
    chunking: dict[str, Any],
    file_count: int,
    notes_dir: str = "",
    skipped: list[dict[str, str]] | None = None,
    version: str = "",
    extra_files: dict[str, bytes] | None = None,
    index: faiss.Index | None = None,
    index_type: str = "Flat",
) -> Manifest:
    """Write, verify and publish a build. On any failure nothing is published and the partial
    build directory is removed.

    `extra_files` (name -> bytes) are stored beside the vectors and checksummed like them (e.g. a
    lexical index); read them back with `LoadedBuild.read_extra`. `index` replaces the default
    index chosen by size (`ann.choose_index_type`); it must be trained and filled with `vectors`,
    and is described by `index_type`."""
    if len(chunks) != len(vectors):
        raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
    build_id = new_build_id()
    build_dir = index_dir / BUILDS / build_id
    try:
        build_dir.mkdir(parents=True)
        dim = int(vectors.shape[1]) if vectors.ndim == 2 else 0
        if index is None:  # exact below ann.FLAT_LIMIT vectors, HNSW above
            index_type = choose_index_type(len(vectors))
            index = build_ann_index(np.reshape(vectors, (len(vectors), dim)), index_type)
        blobs = {
            **(extra_files or {}),
            VECTORS_FILE: faiss.serialize_index(index).tobytes(),
            CHUNKS_FILE: "".join(
                json.dumps(c.to_dict(), ensure_ascii=False) + "\n" for c in chunks
            ).encode(),
        }
        for name, data in blobs.items():
            _write_durably(build_dir / name, data)
        manifest = Manifest(
            build_id=build_id,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            model_name=model_name,
            dim=dim,
            chunk_count=len(chunks),
            file_count=file_count,
            chunking=chunking,
            files={name: _sha256(data) for name, data in blobs.items()},
            notes_dir=notes_dir,
            skipped=skipped or [],
            semsearch_version=version,
            index_type=index_type,
        )
        _write_durably(build_dir / MANIFEST_FILE, json.dumps(asdict(manifest), indent=2).encode())
        _fsync_dir(build_dir)
        load_build(build_dir)  # read everything back before anyone can see it
        _publish(index_dir, build_id)
    except BaseException as exc:
        shutil.rmtree(build_dir, ignore_errors=True)
        if isinstance(exc, OSError):
            raise IndexBuildError(
                f"Could not write the index to {index_dir}: {exc.strerror or exc}; "
                "the previous index is unchanged."
            ) from exc
        raise
    prune_builds(index_dir)
    logger.info("published build %s (%d chunks)", build_id, len(chunks))
    return manifest


def _publish(index_dir: Path, build_id: str) -> None:
    tmp = index_dir / f".{CURRENT}.{secrets.token_hex(4)}.tmp"
    try:
        _write_durably(tmp, (build_id + "\n").encode())
        os.replace(tmp, index_dir / CURRENT)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(index_dir)


def published_name(index_dir: Path) -> str:
    """The id of the published build, or "" when none is published."""
    try:
        return (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""


def prune_builds(index_dir: Path, keep: int = KEEP_BUILDS) -> None:
    """Delete all but the newest `keep` builds, never the published one."""
    builds = index_dir / BUILDS
    if not builds.is_dir():
        return
    current = published_name(index_dir)
    for old in sorted(p for p in builds.iterdir() if p.is_dir())[:-keep]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class LoadedBuild:
    """A verified build in memory."""

    path: Path
    manifest: Manifest
    index: faiss.Index
    chunks: list[Chunk]

    def read_extra(self, name: str) -> bytes:
        """An extra file stored with this build, verified against the manifest."""
        return _read_verified(self.path, name, self.manifest)


def _read_verified(build_dir: Path, name: str, manifest: Manifest) -> bytes:
    path = build_dir / name
    fix = "Run `semsearch index NOTES_DIR` to rebuild."
    try:
        data = path.read_bytes()
    except OSError:
        raise IndexCorruptError(f"The index file {path} is missing. {fix}") from None
    if _sha256(data) != manifest.files.get(name):
        raise IndexCorruptError(f"The index file {path} is corrupt (checksum mismatch). {fix}")
    return data


def load_build(build_dir: Path) -> LoadedBuild:
    """Load one build, verifying every checksum before FAISS reads a byte."""
    manifest_path = build_dir / MANIFEST_FILE
    try:
        manifest = Manifest.from_json(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCorruptError(f"{manifest_path} is missing. Run `semsearch index` to rebuild.") from None
    except (ValueError, TypeError) as exc:
        raise IndexCorruptError(f"{manifest_path} is unreadable ({exc}). Run `semsearch index`.") from None
    if manifest.format_version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"{build_dir} has index format {manifest.format_version}, this semsearch reads "
            f"{FORMAT_VERSION}. Run `semsearch index NOTES_DIR` to rebuild."
        )
    raw_index = _read_verified(build_dir, VECTORS_FILE, manifest)
    raw_chunks = _read_verified(build_dir, CHUNKS_FILE, manifest)
    index = faiss.deserialize_index(np.frombuffer(raw_index, dtype=np.uint8))
    apply_search_params(index, manifest.index_type)
    chunks = [Chunk.from_dict(json.loads(line)) for line in raw_chunks.decode().splitlines()]
    if index.ntotal != len(chunks) or len(chunks) != manifest.chunk_count:
        raise IndexCorruptError(f"{build_dir} has {index.ntotal} vectors for {len(chunks)} chunks.")
    return LoadedBuild(build_dir, manifest, index, chunks)


def load_current(index_dir: Path, *, model_name: str | None = None, dim: int | None = None) -> LoadedBuild:
    """Load the published build and check it was made by the model that will query it."""
    build = load_build(current_build_dir(index_dir))
    m = build.manifest
    if model_name is not None and (m.model_name != model_name or (dim is not None and m.dim != dim)):
        raise IndexMismatchError(
            f"The index at {index_dir} was built with {m.model_name} ({m.dim}-d) but the configured "
            f"model is {model_name}; rebuild it with `semsearch index` or set SEMSEARCH_MODEL."
        )
    return build
