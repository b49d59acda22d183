"""`Filter`: which passages a search may return (collections, tags, path glob, date range), and
`allowed_rows`, which turns a filter and the caller's visible collections into the chunk rows the
dense, lexical and sentence stages search within (so a filtered query still fills `top_k`).

A `Filter` is checked when it is made: a malformed date or an empty tag is a `FilterError` (a
`QueryError`, so every edge shows it as the client's mistake). Collections the build does not hold
are refused by `allowed_rows`; collections outside the caller's scope by `check_scope`.
"""

from __future__ import annotations

import calendar
import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
import numpy.typing as npt

from .errors import CollectionAccessError, FilterError, UnknownCollectionError
from .index.loader import Index

IdArray = npt.NDArray[np.int64]
GLOB_CHARS = frozenset("*?[")
MAX_PATH_CHARS = 500
MAX_VALUES = 50  # collections or tags one filter may name
_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_TAG = re.compile(r"^[^\W\d_][\w/.-]*$")  # a tag starts with a letter


def source_matches(source: str, pattern: str) -> bool:
    """A glob (when `pattern` has `*`, `?` or `[`; `*` also crosses `/`) or else a path prefix."""
    if GLOB_CHARS.intersection(pattern):
        return fnmatch.fnmatchcase(source, pattern)
    return source.startswith(pattern)


def period_bounds(value: str, *, name: str) -> tuple[str, str]:
    """The first and last ISO day of `YYYY`, `YYYY-MM` or `YYYY-MM-DD`; FilterError for anything else."""
    match = _PERIOD.match(value.strip()) if isinstance(value, str) else None
    try:
        if match is None:
            raise ValueError
        year, month, day = int(match[1]), match[2], match[3]
        if month is None:
            return date(year, 1, 1).isoformat(), date(year, 12, 31).isoformat()
        if day is None:
            last = calendar.monthrange(year, int(month))[1]
            return date(year, int(month), 1).isoformat(), date(year, int(month), last).isoformat()
        one = date(year, int(month), int(day)).isoformat()
        return one, one
    except ValueError:
        raise FilterError(f"{name} must be a date as YYYY, YYYY-MM or YYYY-MM-DD, got {value!r}.") from None


def normalize_tag(tag: str) -> str:
    """A tag as stored and matched: lowercase, without a leading `#`."""
    return tag.strip().lstrip("#").lower()


def _names(values: Iterable[str] | None, what: str, *, tags: bool = False) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    found: list[str] = []
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise FilterError(f"Each of {what} must be non-empty text, got {value!r}.")
        found.append(normalize_tag(value) if tags else value.strip())
    if tags and any(not _TAG.match(t) for t in found):
        bad = next(t for t in found if not _TAG.match(t))
        raise FilterError(f"{bad!r} is not a tag; a tag starts with a letter (e.g. `kubernetes`).")
    if len(found) > MAX_VALUES:
        raise FilterError(f"{what} names {len(found)} values; the limit is {MAX_VALUES}.")
    return tuple(dict.fromkeys(found))


@dataclass(frozen=True, slots=True)
class Filter:
    """Which passages a search may return; every field given must hold (an empty Filter: all).

    `collections`: any of these collections (None: every collection the caller may see);
    `tags_all` / `tags_any`: all of / at least one of these tags; `path`: a glob or path prefix of
    the note's path within its collection (`source_matches`); `since` / `until`: inclusive dates as
    `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (`since` from the start of that period, `until` to its end)."""

    collections: tuple[str, ...] | None = None
    tags_all: tuple[str, ...] = ()
    tags_any: tuple[str, ...] = ()
    path: str | None = None
    since: str | None = None
    until: str | None = None
    _bounds: tuple[str, str] = field(init=False, repr=False, compare=False, default=("", ""))

    def __post_init__(self) -> None:
        if self.collections is not None:
            names = _names(self.collections, "collections")
            if not names:
                raise FilterError("collections must name at least one collection.")
            object.__setattr__(self, "collections", names)
        object.__setattr__(self, "tags_all", _names(self.tags_all, "tags_all", tags=True))
        object.__setattr__(self, "tags_any", _names(self.tags_any, "tags_any", tags=True))
        if self.path is not None and (not isinstance(self.path, str) or not 1 <= len(self.path) <= MAX_PATH_CHARS):
            raise FilterError(f"The path filter must be a glob or path prefix of 1 to {MAX_PATH_CHARS} characters.")
        low = period_bounds(self.since, name="since")[0] if self.since is not None else ""
        high = period_bounds(self.until, name="until")[1] if self.until is not None else ""
        object.__setattr__(self, "_bounds", (low, high))  # since after until: an empty range, nothing matches

    @property
    def is_empty(self) -> bool:
        return (self.collections is None and not self.tags_all and not self.tags_any and self.path is None
                and self.since is None and self.until is None)

    @property
    def date_range(self) -> tuple[str, str]:
        """(first day, last day) as ISO dates; "" where open."""
        return self._bounds

    def combined(self, other: Filter) -> Filter:
        """Both filters' collections and tags; `other`'s path and dates where it gives them."""
        collections = None
        if self.collections is not None or other.collections is not None:
            collections = (*(self.collections or ()), *(other.collections or ()))
        return replace(self, collections=collections, tags_all=(*self.tags_all, *other.tags_all),
                       tags_any=(*self.tags_any, *other.tags_any), path=other.path or self.path,
                       since=other.since or self.since, until=other.until or self.until)


def check_scope(filter: Filter, visible: frozenset[str] | None) -> None:
    """CollectionAccessError when `filter` names a collection outside `visible` (None: all visible).
    The message names nothing: not the collection asked for, not the ones the caller may see."""
    if visible is not None and filter.collections is not None and not set(filter.collections) <= visible:
        raise CollectionAccessError("Searching one of the collections asked for is not allowed here.")


def allowed_rows(index: Index, filter: Filter | None, visible: frozenset[str] | None = None) -> IdArray | None:
    """The sorted chunk rows `filter` allows within the `visible` collections; None when that is
    every row (the searches then run unfiltered)."""
    filter = filter or Filter()
    check_scope(filter, visible)
    by_collection = index.rows_by_collection
    unknown = [c for c in filter.collections or () if c not in by_collection]
    if unknown:
        known = ", ".join(sorted(c for c in by_collection if visible is None or c in visible)) or "none"
        raise UnknownCollectionError(f"Unknown collection {unknown[0]!r}; the collections are: {known}.")
    collections = filter.collections if filter.collections is not None else (
        None if visible is None else tuple(c for c in by_collection if c in visible))
    if filter.is_empty and collections is None:
        return None
    n = len(index.chunks)
    mask = np.ones(n, dtype=bool)
    if collections is not None and set(collections) != set(by_collection):
        mask = _rows_mask(n, (by_collection[c] for c in collections if c in by_collection))
    for tag in filter.tags_all:
        mask &= _rows_mask(n, [index.rows_by_tag.get(tag, np.zeros(0, dtype=np.int64))])
    if filter.tags_any:
        mask &= _rows_mask(n, (index.rows_by_tag[t] for t in filter.tags_any if t in index.rows_by_tag))
    if filter.path is not None:
        pattern = filter.path
        mask &= _rows_mask(n, (rows for (_, source), rows in index.rows_by_place.items()
                               if source_matches(source, pattern)))
    low, high = filter.date_range
    if low or high:
        dates = index.chunk_dates
        inside = dates != ""
        if low:
            inside &= dates >= low
        if high:
            inside &= dates <= high
        mask &= inside
    return None if mask.all() else np.flatnonzero(mask).astype(np.int64)  # all: search unfiltered (faster)


def _rows_mask(n: int, groups: Iterable[IdArray]) -> npt.NDArray[np.bool_]:
    mask = np.zeros(n, dtype=bool)
    for rows in groups:
        mask[rows] = True
    return mask
