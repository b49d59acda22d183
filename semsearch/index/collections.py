"""The collections of an index directory: `collections.json`, collection name -> absolute folder.

`semsearch index --collection NAME FOLDER` records a collection here; `semsearch index` alone syncs
every collection recorded. The file is replaced atomically (written beside it, fsynced, then
`os.replace`), so a reader sees the old list or the new one. Each build's manifest also records the
collections it holds (`Manifest.collections`), which is what searches and `get` read.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path

from ..errors import IndexBuildError
from .format import fsync_dir, plain_file, write_durably

REGISTRY_FILE = "collections.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_collection_name(name: str) -> str:
    """`name` if it can name a collection (letters, digits, `_`, `.`, `-`; up to 64), else IndexBuildError."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise IndexBuildError(f"{name!r} cannot name a collection: use up to 64 letters, digits, `_`, `.` or `-`, "
                              "starting with a letter or digit.")
    return name


def read_registry(index_dir: Path) -> dict[str, str]:
    """The recorded collections (name -> folder), {} when none are; IndexBuildError when the file is
    not a registry (say which file, so it can be fixed or removed)."""
    path = index_dir / REGISTRY_FILE
    if not path.exists():
        return {}
    try:
        if not plain_file(path):
            raise ValueError("not a plain file")
        data = json.loads(path.read_bytes())
        if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            raise ValueError("not an object of collection name -> folder")
    except (OSError, ValueError) as exc:
        raise IndexBuildError(f"The collections file {path} is unreadable ({exc}); fix or remove it.") from None
    return dict(sorted(data.items()))


def write_registry(index_dir: Path, collections: dict[str, str]) -> None:
    """Replace the recorded collections, atomically."""
    index_dir.mkdir(parents=True, exist_ok=True)
    tmp = index_dir / f".{REGISTRY_FILE}.{secrets.token_hex(4)}.tmp"
    try:
        write_durably(tmp, json.dumps(dict(sorted(collections.items())), indent=1, ensure_ascii=False).encode())
        os.replace(tmp, index_dir / REGISTRY_FILE)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(index_dir)
