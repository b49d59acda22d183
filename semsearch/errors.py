"""The errors semsearch raises. Edges (CLI, API, Slack) catch `SemsearchError` and show `str(exc)`.

SemsearchError
 ├─ QueryError            empty or too long query, top_k out of range
 ├─ IndexNotFoundError    no published index at the configured path
 ├─ IndexCorruptError     a published file is missing, truncated or fails its checksum
 ├─ IndexMismatchError    the index was built with another model or dimension
 ├─ IndexBuildError       a build could not complete (no notes, I/O error); nothing was published
 ├─ IndexLockedError      another process is building into the same index directory
 └─ ModelLoadError        the embedding model (or its package) is not available offline
"""

from __future__ import annotations


class SemsearchError(Exception):
    """Base class. The message is one sentence meant for the user."""


class QueryError(SemsearchError):
    """The query itself is invalid (empty, too long, bad top_k)."""


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
