"""The chunk table: passages read only when shown, and the per-row metadata every search needs.

`chunks.jsonl` (one `Chunk` as JSON per line; row i = vector id i) is memory-mapped and read through
`chunk_offsets.npy` (int64, the byte offset of every line and the end), so `ChunkTable[i]` parses one
line: a search parses the passages it shows and collapses, not the corpus. What filters need for
every row is stored apart, columnar, in `chunk_columns.npz` (each row's collection, source and date
as an index into a list of the distinct values, and its tags as CSR), so filtering parses no passage.
"""

from __future__ import annotations

import io
import json
import mmap
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import numpy as np
import numpy.typing as npt

from ..errors import IndexCorruptError
from ..records import Chunk
from .format import REBUILD

CHUNKS_FILE = "chunks.jsonl"
OFFSETS_FILE = "chunk_offsets.npy"
COLUMNS_FILE = "chunk_columns.npz"
CACHE_SIZE = 4096  # parsed chunks kept per table (a search shows and collapses a few dozen)
IntArray = npt.NDArray[np.int64]


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _indexed(values: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct values, sorted; each value's index into them as int32)."""
    names = sorted(set(values))
    where = {name: i for i, name in enumerate(names)}
    return np.asarray(names, dtype=str), np.asarray([where[v] for v in values], dtype=np.int32)


def chunk_line(chunk: Chunk) -> bytes:
    """One chunk as its line of `chunks.jsonl`."""
    return (json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n").encode()


def table_files(lines: Sequence[bytes]) -> dict[str, bytes]:
    """A segment's chunk table: the JSON lines and their offsets."""
    offsets = np.zeros(len(lines) + 1, dtype=np.int64)
    np.cumsum([len(line) for line in lines], out=offsets[1:])
    return {CHUNKS_FILE: b"".join(lines), OFFSETS_FILE: _npy(offsets)}


@dataclass(slots=True)
class ColumnValues:
    """The metadata of rows as plain values, to write as `chunk_columns.npz`."""

    collection: list[str]
    source: list[str]
    date: list[str]
    tags: list[tuple[str, ...]]

    @classmethod
    def of(cls, chunks: Sequence[Chunk]) -> ColumnValues:
        return cls([c.collection for c in chunks], [c.source for c in chunks], [c.date or "" for c in chunks],
                   [c.tags for c in chunks])

    def __add__(self, other: ColumnValues) -> ColumnValues:
        return ColumnValues(self.collection + other.collection, self.source + other.source,
                            self.date + other.date, self.tags + other.tags)

    def to_bytes(self) -> bytes:
        columns: dict[str, np.ndarray] = {}
        for name, values in (("collection", self.collection), ("source", self.source), ("date", self.date),
                             ("tag", [t for tags in self.tags for t in tags])):
            columns[f"{name}_names"], columns[name] = _indexed(values)
        columns["tag_starts"] = np.zeros(len(self.tags) + 1, dtype=np.int64)
        np.cumsum([len(tags) for tags in self.tags], out=columns["tag_starts"][1:])
        buffer = io.BytesIO()
        np.savez(buffer, **columns)  # type: ignore[arg-type]  # numpy's stub types `allow_pickle` as a keyword
        return buffer.getvalue()


class Names(Sequence[str]):
    """A column's distinct values (sorted, as stored), each made a `str` only when it is read: a
    build's source paths number as many as its files."""

    def __init__(self, values: npt.NDArray[np.str_]) -> None:
        self.array = values

    def __len__(self) -> int:
        return len(self.array)

    @overload
    def __getitem__(self, at: int) -> str: ...

    @overload
    def __getitem__(self, at: slice) -> list[str]: ...

    def __getitem__(self, at: int | slice) -> str | list[str]:
        if isinstance(at, slice):
            return [str(v) for v in self.array[at]]
        return str(self.array[at])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # compared by contents


@dataclass(frozen=True, slots=True)
class ChunkColumns:
    """Per-row metadata of every chunk, each an index into the distinct values."""

    collection: npt.NDArray[np.int32]
    collection_names: Names
    source: npt.NDArray[np.int32]
    source_names: Names
    date: npt.NDArray[np.int32]
    date_names: Names
    tag: npt.NDArray[np.int32]  # the tags of row r are tag[tag_starts[r]:tag_starts[r + 1]]
    tag_names: Names
    tag_starts: IntArray

    @classmethod
    def from_bytes(cls, raw: bytes, count: int) -> ChunkColumns:
        """The columns of a build's `chunk_columns.npz` (ValueError when they do not fit `count` rows)."""
        with np.load(io.BytesIO(raw), allow_pickle=False) as arrays:
            found = {name: arrays[name] for name in arrays.files}
        names = {n: Names(found[f"{n}_names"]) for n in ("collection", "source", "date", "tag")}
        if any(names[n].array.dtype.kind != "U" for n in names):
            raise ValueError("chunk column names that are not text")
        columns = cls(found["collection"], names["collection"], found["source"], names["source"], found["date"],
                      names["date"], found["tag"], names["tag"], found["tag_starts"])
        for name in ("collection", "source", "date", "tag"):
            ids: np.ndarray = getattr(columns, name)
            if len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= len(names[name])):
                raise ValueError(f"chunk {name} ids outside the names")
        starts = columns.tag_starts
        if (len(columns.collection), len(columns.source), len(columns.date), len(starts)) != (
                count, count, count, count + 1) or starts[0] != 0 or starts[-1] != len(columns.tag) or np.any(
                np.diff(starts) < 0):
            raise ValueError("chunk columns do not fit the build's chunks")
        return columns

    def values(self, rows: np.ndarray) -> ColumnValues:
        """The metadata of `rows`, as plain values."""
        rows = np.asarray(rows, dtype=np.int64)
        names = (self.collection_names, self.source_names, self.date_names)
        collection, source, date = ([table[i] for i in ids[rows].tolist()] for table, ids in
                                    zip(names, (self.collection, self.source, self.date), strict=True))
        starts, tag = self.tag_starts.tolist(), self.tag.tolist()
        tags = [tuple(self.tag_names[t] for t in tag[starts[r]:starts[r + 1]]) for r in rows.tolist()]
        return ColumnValues(collection, source, date, tags)


class ChunkRows(Sequence[Chunk]):
    """Chunks read on access by row: an int or a slice, equal to any sequence of the same chunks."""

    def __len__(self) -> int:
        raise NotImplementedError

    def _chunk(self, row: int) -> Chunk:
        """The chunk of row `row` (0 <= row < len)."""
        raise NotImplementedError

    def line(self, row: int) -> bytes:
        """Row `row`'s line of `chunks.jsonl`, as stored (a merge copies it unparsed)."""
        raise NotImplementedError

    @overload
    def __getitem__(self, row: int) -> Chunk: ...

    @overload
    def __getitem__(self, row: slice) -> list[Chunk]: ...

    def __getitem__(self, row: int | slice) -> Chunk | list[Chunk]:
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        row = int(row)
        if row < 0:
            row += len(self)
        if not 0 <= row < len(self):
            raise IndexError("chunk row out of range")
        return self._chunk(row)

    def __eq__(self, other: object) -> bool:
        """Equal to any sequence of the same chunks in order (a list of them included)."""
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # compared by contents


class ChunkTable(ChunkRows):
    """The chunks of a build, parsed on access from the mapped `chunks.jsonl` (a small LRU keeps
    the recently shown). Thread-safe; a line that does not parse is an IndexCorruptError."""

    def __init__(self, path: Path, offsets: IntArray) -> None:
        self._path = path
        self._offsets = offsets
        size = int(offsets[-1])
        with open(path, "rb") as handle:
            self._data: mmap.mmap | bytes = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        if len(self._data) != size or len(offsets) < 1 or offsets[0] != 0 or np.any(np.diff(offsets) <= 0):
            raise ValueError("chunk offsets do not fit chunks.jsonl")
        self._cache: OrderedDict[int, Chunk] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def _chunk(self, row: int) -> Chunk:
        with self._lock:
            found = self._cache.get(row)
            if found is not None:
                self._cache.move_to_end(row)
                return found
        found = self._parse(row)
        with self._lock:
            self._cache[row] = found
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return found

    def __iter__(self) -> Iterator[Chunk]:
        for row in range(len(self)):  # not through the cache: a full pass would only evict it
            yield self._parse(row)

    def parsed(self, rows: Iterable[int]) -> Iterator[Chunk]:
        """The chunks of `rows`, parsed in turn (not through the cache)."""
        for row in rows:
            yield self._parse(int(row))

    def line(self, row: int) -> bytes:
        return self._data[int(self._offsets[row]):int(self._offsets[row + 1])]

    def _parse(self, row: int) -> Chunk:
        raw = self.line(row)
        try:
            return Chunk.from_dict(json.loads(raw))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise IndexCorruptError(
                f"The index file {self._path} is unreadable (row {row}: {exc}). {REBUILD}") from None
