"""What a build holds, file by file: `files.json` in each build, read by `semsearch status`,
`GET /status` and MCP's `status`.

Each notes file is `indexed` (new or changed), `unchanged` (same text as in the previous build,
possibly under another name: `renamed_from`), `skipped` (with the reason: binary, too large,
unreadable, empty) or `failed` (with the error). `removed` lists the files of the previous build
that are gone.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .loader import Index

FILES_FILE = "files.json"

FileState = Literal["indexed", "unchanged", "skipped", "failed"]


@dataclass(frozen=True, slots=True)
class FileStatus:
    """One notes file in one build."""

    source: str
    status: FileState
    chunks: int = 0  # chunks of this file in the build
    embedded: int = 0  # of which embedded by this build (the rest reused earlier vectors)
    sha256: str = ""  # of the decoded text; how unchanged and renamed files are recognized
    reason: str = ""  # why it was skipped
    error: str = ""  # why it failed
    renamed_from: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v or k in ("source", "status", "chunks")}


@dataclass(frozen=True, slots=True)
class BuildFiles:
    """The `files.json` of a build: every file seen, and what the build embedded."""

    files: list[FileStatus]
    embedded: int = 0  # chunks embedded by this build
    reused: int = 0  # chunks whose vectors came from the previous build
    removed: list[str] = field(default_factory=list)

    def to_json(self) -> bytes:
        data = {"embedded": self.embedded, "reused": self.reused,
                "removed": self.removed, "files": [f.to_dict() for f in self.files]}
        return json.dumps(data, ensure_ascii=False, indent=1).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> BuildFiles:
        """Parse `files.json` (ValueError, KeyError or TypeError when it is not one)."""
        data = json.loads(raw)
        files = [FileStatus(**f) for f in data["files"]]
        return cls(files, int(data["embedded"]), int(data["reused"]), list(data["removed"]))

    def by_source(self) -> dict[str, FileStatus]:
        return {f.source: f for f in self.files}


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

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["files"] = [f.to_dict() for f in self.files]
        return data


def status_of(index: Index) -> IndexStatus:
    """The status of a loaded build."""
    record, m = index.files, index.manifest
    return IndexStatus(
        build_id=m.build_id, built_at=m.created_at, model=m.model_name, notes_dir=m.notes_dir,
        file_count=m.file_count, chunk_count=m.chunk_count, embedded=record.embedded,
        reused=record.reused, files=record.files, removed=record.removed,
    )


def index_status(index_dir: Path) -> IndexStatus:
    """The status of the build published under `index_dir` (IndexNotFoundError if none)."""
    from .loader import load_current

    return status_of(load_current(index_dir, sentences=False))
