"""The errors semsearch raises. The CLI shows `str(exc)`; edges that answer remote clients (API,
Slack, MCP) answer by `failure_of(exc)` (whose doing it is: an HTTP status, a tool error) and show
`public_message(exc)`, which names no server path.

SemsearchError
 ├─ QueryError            empty or too long query, top_k out of range
 │   └─ FilterError       malformed date or tag in a filter
 │       └─ UnknownCollectionError  a filter names a collection the build does not hold
 ├─ CollectionAccessError a filter names a collection the caller may not see (403; names nothing)
 ├─ IndexNotFoundError    no published index at the configured path
 ├─ IndexCorruptError     a published file is missing, truncated or fails its checksum
 ├─ IndexMismatchError    the index was built with another model or dimension
 ├─ IndexBuildError       a build could not complete (no notes, I/O error); nothing was published
 ├─ IndexLockedError      another process is building into the same index directory
 └─ ModelLoadError        the embedding model (or its package) is not available offline
"""

from __future__ import annotations

from typing import Literal


class SemsearchError(Exception):
    """Base class. The message is one sentence meant for the user."""


class QueryError(SemsearchError):
    """The query itself is invalid (empty, too long, bad top_k)."""


class FilterError(QueryError):
    """A filter is invalid: an unknown collection, a malformed date or tag."""


class UnknownCollectionError(FilterError):
    """A filter names a collection the build does not hold (the API answers 404: well formed, not there)."""


class CollectionAccessError(SemsearchError):
    """A search names a collection outside the caller's scope; the message names no collection."""


class IndexNotFoundError(SemsearchError):
    """No published index where one was expected."""


class IndexCorruptError(SemsearchError):
    """A published index file is missing or fails verification."""


class IndexMismatchError(SemsearchError):
    """The index does not match the embedder asked to query it."""


class IndexBuildError(SemsearchError):
    """A build failed; the previously published build is untouched."""


class IndexLockedError(SemsearchError):
    """Another build holds the index lock."""


class ModelLoadError(SemsearchError):
    """The embedding model could not be loaded."""


NO_INDEX_MESSAGE = "No index is loaded; run `semsearch index`."
MISMATCH_MESSAGE = ("The published index was built with another embedding model or index format than this "
                    "server uses; rebuild it with `semsearch index` or set SEMSEARCH_MODEL to that model.")
CORRUPT_MESSAGE = ("The published index failed its checksums and no earlier build is usable; "
                   "run `semsearch index` to rebuild it.")
INTERNAL_MESSAGE = "Internal error; the server log has the details."


Failure = Literal["query", "unknown", "forbidden", "unavailable", "internal"]
"""What a failed request was, for an edge to answer in its own form: the caller's query or filter
(`query`), a collection the build does not hold (`unknown`), one the caller may not see (`forbidden`),
no usable index (`unavailable`), or anything else (`internal`)."""

CALLER_FAILURES: frozenset[Failure] = frozenset({"query", "unknown", "forbidden"})
"""The failures of the caller's own asking: their message (`str(exc)`) is shown as it is."""

_FAILURES: tuple[tuple[type[SemsearchError], Failure], ...] = (  # the first kind that matches decides
    (UnknownCollectionError, "unknown"),  # well formed, but naming what is not there
    (QueryError, "query"),
    (CollectionAccessError, "forbidden"),
    (IndexNotFoundError, "unavailable"),
    (IndexCorruptError, "unavailable"),
    (IndexMismatchError, "unavailable"),
)


def failure_of(exc: SemsearchError) -> Failure:
    """Which kind of failure `exc` is (anything not listed is `internal`)."""
    return next((failure for kind, failure in _FAILURES if isinstance(exc, kind)), "internal")


def public_message(exc: SemsearchError) -> str:
    """The one sentence a remote client is shown for `exc`: a QueryError's own message (it is about
    the client's input), else a fixed sentence per kind of error that names no server path (the
    detail, with paths, belongs in the server's log)."""
    if failure_of(exc) in CALLER_FAILURES:
        return str(exc)
    if isinstance(exc, IndexNotFoundError):
        return NO_INDEX_MESSAGE
    if isinstance(exc, IndexMismatchError):
        return MISMATCH_MESSAGE
    if isinstance(exc, IndexCorruptError):
        return CORRUPT_MESSAGE
    return INTERNAL_MESSAGE
