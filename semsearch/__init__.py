"""semsearch: semantic search over your notes, from a folder of markdown and text to ranked passages."""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import (  # noqa: E402
    IndexBuildError,
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
    ModelLoadError,
    QueryError,
    SemsearchError,
)
from .indexing import BuildReport, build_index  # noqa: E402
from .records import Chunk, Hit, Note, SkippedFile  # noqa: E402
from .search import Searcher  # noqa: E402

__all__ = [
    "BuildReport",
    "Chunk",
    "Hit",
    "IndexBuildError",
    "IndexCorruptError",
    "IndexLockedError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "ModelLoadError",
    "Note",
    "QueryError",
    "Searcher",
    "SemsearchError",
    "SkippedFile",
    "__version__",
    "build_index",
]
