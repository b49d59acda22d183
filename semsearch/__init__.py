"""semsearch: semantic search over your notes, from a folder of markdown and text to ranked passages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
from .records import Chunk, Hit, Note, SkippedFile  # noqa: E402
from .search import Searcher  # noqa: E402

if TYPE_CHECKING:
    from .indexing import BuildReport, build_index


def __getattr__(name: str) -> Any:
    """`build_index` and `BuildReport` load on first use: the indexing chain is kept off `ask`."""
    if name in ("BuildReport", "build_index"):
        from . import indexing

        return getattr(indexing, name)
    raise AttributeError(f"module 'semsearch' has no attribute {name!r}")

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
