"""What a build holds, file by file: `files.json` in each build, read by `semsearch status`,
`GET /status` and MCP's `status`.

Each notes file is `indexed` (new or changed), `unchanged` (same text as in the previous build,
possibly under another name: `renamed_from`), `skipped` (with the reason: binary, too large,
unreadable, empty) or `failed` (with the error). `removed` lists the files of the previous build
that are gone.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..records import DEFAULT_COLLECTION

if TYPE_CHECKING:
    from .loader import Index

FILES_FILE = "files.json"

FileState = Literal["indexed", "unchanged", "skipped", "failed"]


@dataclass(frozen=True, slots=True)
class FileStatus:
    """One notes file in one build."""

    source: str  # relative to its collection's folder
    status: FileState
    chunks: int = 0  # chunks of this file in the build
    embedded: int = 0  # of which embedded by this build (the rest reused earlier vectors)
    sha256: str = ""  # of the decoded text; how unchanged and renamed files are recognized
    reason: str = ""  # why it was skipped
    error: str = ""  # why it failed
    renamed_from: str = ""
    collection: str = DEFAULT_COLLECTION
    reader: str = ""  # markdown, text, pdf, html, docx, notebook, org, rst ("" in older builds)
    stat: list[int] = field(default_factory=list)  # (size, mtime_ns, ctime_ns, inode) when read; [] unknown

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k in _FIELDS if (v := getattr(self, k)) or k in ("source", "status", "chunks")}

    def shown(self) -> dict[str, Any]:
        """`to_dict` without the stat (an internal record, not shown by status)."""
        data = self.to_dict()
        data.pop("stat", None)
        return data


_FIELDS = tuple(f.name for f in fields(FileStatus))


@dataclass(frozen=True, slots=True)
class BuildFiles:
    """The `files.json` of a build: every file seen, and what the build embedded."""

    files: list[FileStatus]
    embedded: int = 0  # chunks embedded by this build
    reused: int = 0  # chunks whose vectors came from the previous build
    removed: list[str] = field(default_factory=list)
    removed_from: list[str] = field(default_factory=list)  # the collection of each `removed` (default if short)
    # per collection, what its files were read with (`indexing.unchanged.sync_options`) and when
    # reading started (ns since the epoch): how a later sync knows a file unchanged from its stat
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    read_at_ns: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> bytes:
        data = {"embedded": self.embedded, "reused": self.reused, "removed": self.removed,
                "removed_from": self.removed_from, "options": self.options, "read_at_ns": self.read_at_ns,
                "files": [f.to_dict() for f in self.files]}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> BuildFiles:
        """Parse `files.json` (ValueError, KeyError or TypeError when it is not one; a file without
        collections is all the default collection)."""
        data = json.loads(raw)
        files = [FileStatus(**f) for f in data["files"]]
        return cls(files, int(data["embedded"]), int(data["reused"]), list(data["removed"]),
                   [str(c) for c in data.get("removed_from", [])], dict(data.get("options", {})),
                   {str(k): int(v) for k, v in data.get("read_at_ns", {}).items()})

    def removed_by_collection(self) -> list[tuple[str, str]]:
        """(collection, source) of each file of the previous build that is gone."""
        return [(self.removed_from[i] if i < len(self.removed_from) else DEFAULT_COLLECTION, source)
                for i, source in enumerate(self.removed)]

    def by_source(self, collection: str = DEFAULT_COLLECTION) -> dict[str, FileStatus]:
        """The files of one collection by source (a source is unique only within its collection)."""
        return {f.source: f for f in self.files if f.collection == collection}


@dataclass(frozen=True, slots=True)
class IndexStatus:
    """The published (or served) build: what it is and what became of each file."""

    build_id: str
    built_at: str
    model: str
    notes_dir: str
    file_count: int
    chunk_count: int
    embedded: int
    reused: int
    files: list[FileStatus]
    removed: list[str]
    collections: list[CollectionStatus] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["files"] = [f.shown() for f in self.files]
        return data


@dataclass(frozen=True, slots=True)
class CollectionStatus:
    """One collection of a build: its folder and how many files and passages it holds."""

    name: str
    folder: str
    file_count: int
    chunk_count: int


def status_of(index: Index, visible: frozenset[str] | None = None) -> IndexStatus:
    """The status of a loaded build; with `visible`, only those collections' files, passages and
    counts (a scoped caller learns nothing of the others, not even their size)."""
    record, m = index.files, index.manifest
    names = sorted(set(index.rows_by_collection) | {f.collection for f in record.files})
    shown = [n for n in names if visible is None or n in visible]
    files = [f for f in record.files if f.collection in shown]
    counts = index.chunks_per_collection
    collections = [CollectionStatus(n, m.folder_of(n), sum(f.status in ("indexed", "unchanged") for f in files
                                                           if f.collection == n), counts.get(n, 0))
                   for n in shown]
    if visible is None:
        return IndexStatus(
            build_id=m.build_id, built_at=m.created_at, model=m.model_name, notes_dir=m.notes_dir,
            file_count=m.file_count, chunk_count=m.chunk_count, embedded=record.embedded,
            reused=record.reused, files=files, removed=record.removed, collections=collections)
    return IndexStatus(
        build_id=m.build_id, built_at=m.created_at, model=m.model_name,
        notes_dir=m.notes_dir if set(names) <= visible else "",
        file_count=sum(c.file_count for c in collections), chunk_count=sum(c.chunk_count for c in collections),
        embedded=sum(f.embedded for f in files), reused=sum(f.chunks - f.embedded for f in files
                                                            if f.status in ("indexed", "unchanged")),
        files=files, removed=[s for c, s in record.removed_by_collection() if c in visible],
        collections=collections)


def index_status(index_dir: Path) -> IndexStatus:
    """The status of the build published under `index_dir` (IndexNotFoundError if none)."""
    from .loader import load_current

    return status_of(load_current(index_dir, sentences=False))
