"""The error tree's one mapping to a kind of failure, and the sentence a remote client is shown."""

from __future__ import annotations

import pytest

from semsearch.errors import (
    CALLER_FAILURES,
    CollectionAccessError,
    Failure,
    FilterError,
    IndexBuildError,
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
    ModelLoadError,
    QueryError,
    SemsearchError,
    UnknownCollectionError,
    failure_of,
    public_message,
)

KINDS: list[tuple[type[SemsearchError], Failure]] = [
    (QueryError, "query"),
    (FilterError, "query"),
    (UnknownCollectionError, "unknown"),  # a QueryError, but its own kind (the API's 404)
    (CollectionAccessError, "forbidden"),
    (IndexNotFoundError, "unavailable"),
    (IndexCorruptError, "unavailable"),
    (IndexMismatchError, "unavailable"),
    (IndexBuildError, "internal"),
    (IndexLockedError, "internal"),
    (ModelLoadError, "internal"),
    (SemsearchError, "internal"),
]


@pytest.mark.parametrize(("error", "failure"), KINDS)
def test_every_error_is_one_kind_of_failure(error: type[SemsearchError], failure: Failure) -> None:
    assert failure_of(error("x")) == failure


@pytest.mark.parametrize(("error", "failure"), KINDS)
def test_only_the_callers_failures_show_their_own_message(error: type[SemsearchError], failure: Failure) -> None:
    message = public_message(error("The index file /srv/secret/index/builds/x/chunks.jsonl is corrupt."))
    assert ("/srv" in message) == (failure in CALLER_FAILURES)
