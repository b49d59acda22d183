"""What is checked of a build file when: fully at publish and on request, cheaply on every open.

The manifest records each file's sha256, size and `edges` (the sha256 of its first and last
EDGE_BYTES). Opening a build (`check_on_open`, `read_checked(on_open=True)`) verifies a small file (up to
FULL_CHECK_BYTES) completely, and a large one by its size and edges: a truncated, extended, replaced or torn file is
refused before anything maps it, at a cost that does not grow with the corpus. A flipped byte in
the middle of a large file is found by `verify_build`, which hashes every file: the writer runs it
before publishing, `semsearch status --verify` on request, and a long-running server (`LiveIndex`)
in the background after it starts serving, dropping a build that fails.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from ..errors import IndexCorruptError
from .format import MANIFEST_FILE, REBUILD, Manifest, plain_file, read_manifest, sha256

logger = logging.getLogger(__name__)

FULL_CHECK_BYTES = 4 << 20  # files up to this size are hashed whole on every open
EDGE_BYTES = 64 << 10  # a large file's first and last this many bytes are hashed on open
_BLOCK = 1 << 20


def edges_digest(data: bytes) -> str:
    """The sha256 of a file's first and last EDGE_BYTES (the whole file when it is shorter)."""
    return sha256(data[:EDGE_BYTES] + data[-EDGE_BYTES:] if len(data) > 2 * EDGE_BYTES else data)


def _path(build_dir: Path, name: str, manifest: Manifest) -> Path:
    path = build_dir / name
    if name not in manifest.files:
        raise IndexCorruptError(f"{build_dir / MANIFEST_FILE} does not list {name}. {REBUILD}")
    if path.exists() and not plain_file(path):
        raise IndexCorruptError(f"The index file {path} is not a plain file. {REBUILD}")
    return path


def _corrupt(path: Path, why: str) -> IndexCorruptError:
    return IndexCorruptError(f"The index file {path} is corrupt ({why}). {REBUILD}")


def read_checked(build_dir: Path, name: str, manifest: Manifest, *, on_open: bool = False) -> bytes:
    """The bytes of one build file, checked against the manifest's sha256. `on_open`: checked as
    opening a build checks a file it maps, a large one by its size and edges only (the per-row
    columns; `verify_build` hashes it)."""
    path = _path(build_dir, name, manifest)
    try:
        data = path.read_bytes()
    except OSError:
        raise IndexCorruptError(f"The index file {path} is missing or unreadable. {REBUILD}") from None
    if name in manifest.sizes and len(data) != manifest.sizes[name]:
        raise _corrupt(path, "checksum mismatch")
    if not on_open or hashed_on_open(manifest, name):
        ok = sha256(data) == manifest.files[name]
    else:
        ok = edges_digest(data) == manifest.edges.get(name)
    if not ok:
        raise _corrupt(path, "checksum mismatch")
    return data


def hashed_on_open(manifest: Manifest, name: str) -> bool:
    """True when opening the build hashes file `name` whole (a small file)."""
    return manifest.sizes.get(name, 0) <= FULL_CHECK_BYTES


def check_on_open(build_dir: Path, name: str, manifest: Manifest) -> Path:
    """The path of one build file that is about to be mapped: a small file hashed whole, a large
    one checked by size and edges."""
    path = _path(build_dir, name, manifest)
    size = manifest.sizes.get(name)
    try:
        with open(path, "rb") as handle:
            actual = os.fstat(handle.fileno()).st_size
            if size is None or actual != size:
                raise _corrupt(path, "checksum mismatch")  # the size is part of what the sum covers
            if size <= FULL_CHECK_BYTES:
                data = handle.read()
                ok = sha256(data) == manifest.files[name]
            else:
                head = handle.read(EDGE_BYTES)
                handle.seek(size - EDGE_BYTES)
                ok = sha256(head + handle.read(EDGE_BYTES)) == manifest.edges.get(name)
    except OSError:
        raise IndexCorruptError(f"The index file {path} is missing or unreadable. {REBUILD}") from None
    if not ok:
        raise _corrupt(path, "checksum mismatch")
    return path


def fully_checked_on_open(manifest: Manifest) -> bool:
    """True when opening the build hashes every file whole (a small build): nothing is left for
    `verify_build` to find."""
    return all(hashed_on_open(manifest, name) for name in manifest.files)


def verify_build(build_dir: Path, manifest: Manifest | None = None, *, only: set[str] | None = None) -> Manifest:
    """Hash every file of a build (or the files `only` names) and compare it with the manifest
    (IndexCorruptError naming the first that differs). Reads the files whole, a block at a time."""
    manifest = manifest or read_manifest(build_dir)
    for name, expected in manifest.files.items():
        if only is not None and name not in only:
            continue
        path = _path(build_dir, name, manifest)
        digest = hashlib.sha256()
        size = 0
        try:
            with open(path, "rb") as handle:
                while block := handle.read(_BLOCK):
                    digest.update(block)
                    size += len(block)
        except OSError:
            raise IndexCorruptError(f"The index file {path} is missing or unreadable. {REBUILD}") from None
        if size != manifest.sizes.get(name, size) or digest.hexdigest() != expected:
            raise _corrupt(path, "checksum mismatch")
    logger.info("verified every file of build %s", manifest.build_id)
    return manifest
