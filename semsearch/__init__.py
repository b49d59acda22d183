"""semsearch: semantic search over your notes, from a folder of markdown and text to ranked passages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    CollectionAccessError,
    FilterError,
    IndexBuildError,
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
    ModelLoadError,
    QueryError,
    SemsearchError,
)
from .filters import Filter
from .index import Index, load_index
from .live import LiveIndex
from .query_syntax import ParsedQuery, parse_query
from .records import Chunk, Hit, Note, SkippedFile
from .search import QueryLimits, Searcher, SearchResult
from .version import __version__

if TYPE_CHECKING:
    from .indexing.build import BuildReport, build_index


def __getattr__(name: str) -> Any:
    """`build_index` and `BuildReport` load on first use: the indexing chain is kept off `ask`."""
    if name in ("BuildReport", "build_index"):
        from .indexing import build

        return getattr(build, name)
    raise AttributeError(f"module 'semsearch' has no attribute {name!r}")

__all__ = [
    "BuildReport",
    "Chunk",
    "CollectionAccessError",
    "Filter",
    "FilterError",
    "Hit",
    "Index",
    "IndexBuildError",
    "IndexCorruptError",
    "IndexLockedError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "LiveIndex",
    "ModelLoadError",
    "Note",
    "ParsedQuery",
    "QueryError",
    "QueryLimits",
    "SearchResult",
    "Searcher",
    "SemsearchError",
    "SkippedFile",
    "__version__",
    "build_index",
    "load_index",
    "parse_query",
]
