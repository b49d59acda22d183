"""One build's rows across its segments: the row numbering ranking sees, and views that search
every segment as one.

Build row numbers run over the live rows of each segment in turn (a deleted row has none), so a
sync that deleted rows or added a segment is one dense table of rows to ranking, filters and the
edges. A build of one segment with nothing deleted uses that segment's own objects, unwrapped.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ..records import Chunk
from .chunk_table import ChunkRows
from .segments import Segment
from .vectors import best_k

IdArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]
OVERFETCH_LIMIT = 256  # a segment with at most this many deleted rows is searched for k + that many


@dataclass(frozen=True, slots=True)
class RowMap:
    """Where each build row lives: segment s holds build rows offsets[s]..offsets[s + 1]-1, its
    live rows `live[s]` (None: all of them, in order) in that order."""

    sizes: tuple[int, ...]
    live: tuple[IdArray | None, ...]
    offsets: IdArray = field(init=False)
    _starts: list[int] = field(init=False, repr=False)
    _to_global: tuple[IdArray | None, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        counts = [size if live is None else len(live) for size, live in zip(self.sizes, self.live, strict=True)]
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        object.__setattr__(self, "offsets", offsets)
        object.__setattr__(self, "_starts", offsets.tolist())
        build_rows: list[IdArray | None] = []
        for size, live, first in zip(self.sizes, self.live, self._starts[:-1], strict=True):
            if live is None:
                build_rows.append(None)
                continue
            out = np.full(size, -1, dtype=np.int64)
            out[live] = first + np.arange(len(live))
            build_rows.append(out)
        object.__setattr__(self, "_to_global", tuple(build_rows))

    @classmethod
    def of(cls, sizes: Sequence[int], deleted: Sequence[np.ndarray]) -> RowMap:
        live = tuple(None if not len(gone) else np.setdiff1d(np.arange(size, dtype=np.int64), gone)
                     for size, gone in zip(sizes, deleted, strict=True))
        return cls(tuple(sizes), live)

    @property
    def size(self) -> int:
        return int(self.offsets[-1])

    def to_global(self, segment: int) -> IdArray | None:
        """Build row of each of the segment's rows, -1 for a deleted one (None: rows follow on from
        its offset); computed once, shared by the lexical index and the vector search."""
        return self._to_global[segment]

    def local(self, segment: int, rows: IdArray) -> IdArray:
        """The segment's own rows of build rows `rows` (all in that segment)."""
        at: IdArray = np.asarray(rows, dtype=np.int64) - self.offsets[segment]
        live = self.live[segment]
        return at if live is None else np.asarray(live[at], dtype=np.int64)

    def place(self, row: int) -> tuple[int, int]:
        """(segment, its own row) of build row `row` (IndexError outside the build)."""
        if not 0 <= row < self.size:
            raise IndexError("chunk row out of range")
        segment = bisect.bisect_right(self._starts, row) - 1
        at = row - self._starts[segment]
        live = self.live[segment]
        return segment, at if live is None else int(live[at])

    def split(self, rows: IdArray) -> Iterator[tuple[int, np.ndarray, IdArray]]:
        """For each segment holding some of `rows`: (segment, where in `rows` they are, its own rows)."""
        rows = np.asarray(rows, dtype=np.int64)
        segment_of = np.searchsorted(self.offsets, rows, side="right") - 1
        for segment in np.unique(segment_of).tolist():
            where = np.flatnonzero(segment_of == segment)
            yield segment, where, self.local(segment, rows[where])

    def live_rows(self, segment: int) -> IdArray:
        live = self.live[segment]
        return np.arange(self.sizes[segment], dtype=np.int64) if live is None else live


class CombinedChunks(ChunkRows):
    """The passages of every segment's live rows, as one sequence of build rows."""

    def __init__(self, segments: Sequence[Segment], rows: RowMap) -> None:
        self._segments = list(segments)
        self._rows = rows

    def __len__(self) -> int:
        return self._rows.size

    def _chunk(self, row: int) -> Chunk:
        segment, local = self._rows.place(row)
        return self._segments[segment].chunks[local]

    def __iter__(self) -> Iterator[Chunk]:
        for s, segment in enumerate(self._segments):
            yield from segment.chunks.parsed(self._rows.live_rows(s))

    def line(self, row: int) -> bytes:
        segment, local = self._rows.place(row)
        return self._segments[segment].chunks.line(local)


def _merge(pieces: list[tuple[FloatArray, IdArray]], queries: int, k: int) -> tuple[FloatArray, IdArray]:
    """The best k of each query over every segment's results (ties to the lower row), padded."""
    scores = np.full((queries, k), -np.inf, dtype=np.float32)
    ids = np.full((queries, k), -1, dtype=np.int64)
    for q in range(queries):
        found_scores = np.concatenate([s[q] for s, _ in pieces])
        found_ids = np.concatenate([i[q] for _, i in pieces])
        keep = found_ids >= 0
        scores[q], ids[q] = best_k(found_scores[keep], found_ids[keep], k)
    return scores, ids


class CombinedStore:
    """The vector stores of every segment searched as one over build rows (each segment's best k,
    merged; exact stores give exactly one store's results). Read-only: a sync writes a segment."""

    def __init__(self, segments: Sequence[Segment], rows: RowMap) -> None:
        self._stores = [segment.store for segment in segments]
        self._rows = rows
        self._to_global = [rows.to_global(s) for s in range(len(self._stores))]
        self.dim = self._stores[0].dim if self._stores else 0

    def count(self) -> int:
        return self._rows.size

    def _build_rows(self, segment: int, local: IdArray) -> IdArray:
        to_global = self._to_global[segment]
        if to_global is None:
            return np.where(local >= 0, local + self._rows.offsets[segment], -1)
        return np.where(local >= 0, to_global[np.maximum(local, 0)], -1)

    def search(self, queries: FloatArray, k: int, *, allowed: IdArray | None = None) -> tuple[FloatArray, IdArray]:
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        pieces: list[tuple[FloatArray, IdArray]] = []
        if allowed is None:
            for s, store in enumerate(self._stores):
                live = self._rows.live[s]
                deleted = 0 if live is None else self._rows.sizes[s] - len(live)
                if live is not None and not len(live):
                    continue
                if deleted <= OVERFETCH_LIMIT:  # the deleted ones are dropped from the results
                    scores, ids = store.search(queries, k + deleted)
                else:
                    scores, ids = store.search(queries, k, allowed=live)
                pieces.append((scores, self._build_rows(s, ids)))
        else:
            for s, _, local in self._rows.split(np.asarray(allowed, dtype=np.int64)):
                scores, ids = self._stores[s].search(queries, k, allowed=local)
                pieces.append((scores, self._build_rows(s, ids)))
        return _merge(pieces, len(queries), k)

    def vectors(self, ids: IdArray) -> FloatArray:
        ids = np.asarray(ids, dtype=np.int64)
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        for s, where, local in self._rows.split(ids):
            out[where] = self._stores[s].vectors(local)
        return out

    def describe(self) -> str:
        return ";".join(store.describe() for store in self._stores)


class CombinedSentences:
    """The sentence vectors of every segment, by build row."""

    def __init__(self, segments: Sequence[Segment], rows: RowMap) -> None:
        self._indexes = [segment.sentences for segment in segments]
        self._rows = rows

    def count(self) -> int:
        """How many sentence vectors the live rows own."""
        return sum(int(index.owned(self._rows.live_rows(s)).sum())
                   for s, index in enumerate(self._indexes) if index is not None)

    def owned(self, ids: np.ndarray) -> np.ndarray:
        """How many sentences each build row of `ids` owns."""
        out = np.zeros(len(ids), dtype=np.int64)
        for s, where, local in self._rows.split(np.asarray(ids, dtype=np.int64)):
            index = self._indexes[s]
            if index is not None:
                out[where] = index.owned(local)
        return out

    def of_rows(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the sentence vectors of build rows `ids`, ascending, in order; how many each row owns)."""
        vectors: list[np.ndarray] = []
        counts: list[np.ndarray] = []
        for s, _, local in self._rows.split(np.asarray(ids, dtype=np.int64)):
            index = self._indexes[s]
            if index is None:
                raise KeyError("a segment without sentence vectors")
            found, owned = index.of_rows(local)
            vectors.append(found)
            counts.append(owned)
        if not vectors:
            return np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=np.int64)
        return np.concatenate(vectors), np.concatenate(counts)

    def best(self, ids: np.ndarray, query: np.ndarray, fallback: np.ndarray) -> np.ndarray:
        """max over each candidate's sentences of (sentence . query); `fallback` for one without."""
        out = np.asarray(fallback, dtype=np.float32).copy()
        for s, where, local in self._rows.split(np.asarray(ids, dtype=np.int64)):
            index = self._indexes[s]
            if index is not None:
                out[where] = index.best(local, query, out[where])
        return out
