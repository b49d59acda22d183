"""Segments: the immutable groups of rows a build is made of, the way Lucene's segments are.

A segment holds its rows' passages (`chunks.jsonl` and offsets), dense vectors (`vectors.faiss`,
ids 0..rows-1), raw term counts (`terms.json` and the `tf*.npy` arrays, `lexical.TermCounts`) and
sentence vectors (`sentences.npy`, `sentence_owner.npy`), under `segments/<name>/` of the build
directory. A sync writes one new segment for the passages it read and lists, at build level, the
rows of older segments it deleted; the older segments' files are hard links to the previous
build's (the same bytes, not copied, never changed), so each build directory stays complete on its
own and removing an old build removes only its links. `gather` merges the live rows of several
segments into one (compaction) without embedding or tokenizing anything again.
"""

from __future__ import annotations

import io
import logging
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .chunk_table import CHUNKS_FILE, OFFSETS_FILE, ChunkTable, table_files
from .lexical import COUNT_FILES, TERMS_FILE, TermCounts
from .sentences import SENTENCE_OWNER_FILE, SENTENCES_FILE, SentenceIndex, read_sentences, sentence_files
from .vectors import VectorStore, new_store, open_store

logger = logging.getLogger(__name__)

SEGMENTS = "segments"
VECTORS_FILE = "vectors.faiss"
SEGMENT_FILES = (CHUNKS_FILE, OFFSETS_FILE, VECTORS_FILE, TERMS_FILE, *COUNT_FILES)
SENTENCE_FILES = (SENTENCES_FILE, SENTENCE_OWNER_FILE)
FloatArray = npt.NDArray[np.float32]


def new_segment_name() -> str:
    """A fresh segment name; names sort by age."""
    return "s" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f") + "-" + secrets.token_hex(3)


def segment_path(name: str, file: str) -> str:
    """The name a build's manifest lists segment `name`'s `file` under."""
    return f"{SEGMENTS}/{name}/{file}"


@dataclass(slots=True)
class SegmentData:
    """What a new segment is written from: each row's JSON line, vector and term counts, and the
    sentence vectors with the row owning each (None: the build stores no sentences)."""

    lines: list[bytes]
    vectors: FloatArray
    counts: TermCounts
    sentences: tuple[FloatArray, np.ndarray] | None

    def files(self, dim: int, store: VectorStore | None = None
              ) -> tuple[str, Iterator[tuple[str, bytes | np.ndarray]]]:
        """(its vector store's description; the segment's files, names relative to its folder, made
        one at a time). `store`: an empty store to fill instead of the one chosen by size."""
        rows = len(self.lines)
        filled = store or new_store(dim, rows)
        filled.add(np.arange(rows, dtype=np.int64), np.reshape(self.vectors, (rows, dim)))

        def made() -> Iterator[tuple[str, bytes | np.ndarray]]:
            yield from table_files(self.lines).items()
            yield VECTORS_FILE, filled.to_bytes()
            yield from self.counts.to_files().items()
            if self.sentences is not None:
                yield from sentence_files(*self.sentences).items()

        return filled.describe(), made()


@dataclass(frozen=True, slots=True)
class Segment:
    """An opened segment: rows 0..rows-1 of each part."""

    name: str
    chunks: ChunkTable
    store: VectorStore
    counts: TermCounts
    sentences: SentenceIndex | None

    @property
    def rows(self) -> int:
        return len(self.chunks)


def open_segment(name: str, rows: int, dim: int, description: str, *, checked: Callable[[str], Path],
                 read: Callable[[str], bytes], sentences: bool) -> Segment:
    """Open segment `name` of a build. `checked(file)` gives the path of a file that is about to be
    mapped (checked against the manifest), `read(file)` the verified bytes of a small one; both
    take the manifest's names. ValueError (or OSError) when the files are not one segment of `rows`."""

    def path(file: str) -> str:
        return segment_path(name, file)

    def mapped(file: str) -> np.ndarray:
        array: np.ndarray = np.asarray(np.load(checked(path(file)), mmap_mode="r", allow_pickle=False))
        return array

    chunks = ChunkTable(checked(path(CHUNKS_FILE)), np.asarray(mapped(OFFSETS_FILE), dtype=np.int64))
    store = open_store(checked(path(VECTORS_FILE)), description, lambda: read(path(VECTORS_FILE)))
    counts = TermCounts.read(read(path(TERMS_FILE)), [mapped(f) for f in COUNT_FILES], rows)
    found = None
    if sentences:
        found = read_sentences(mapped(SENTENCES_FILE), np.asarray(mapped(SENTENCE_OWNER_FILE)), chunks=rows, dim=dim)
    if len(chunks) != rows or store.count() != rows or store.dim != dim:
        raise ValueError(f"segment {name} has {store.count()} vectors for {len(chunks)} of {rows} rows")
    return Segment(name, chunks, store, counts, found)


def gather(parts: Sequence[tuple[Segment, np.ndarray]], dim: int, *, sentences: bool) -> SegmentData:
    """One segment's data from the rows `keep` (ascending) of each segment, in that order: the
    passages as stored, their stored vectors, counts and sentence vectors (nothing embedded or
    tokenized again)."""
    lines = [segment.chunks.line(int(row)) for segment, keep in parts for row in keep]
    vectors = np.concatenate([segment.store.vectors(np.asarray(keep, dtype=np.int64)).reshape(len(keep), dim)
                              for segment, keep in parts] or [np.zeros((0, dim), np.float32)])
    counts = TermCounts.gather([(segment.counts, np.asarray(keep, dtype=np.int64)) for segment, keep in parts])
    found = None
    if sentences:
        pieces: list[np.ndarray] = []
        owners: list[np.ndarray] = []
        base = 0
        for segment, keep in parts:
            index = segment.sentences
            if index is None:
                raise ValueError(f"segment {segment.name} holds no sentence vectors")
            vectors_of, counts_of = index.of_rows(keep)
            pieces.append(vectors_of)
            owners.append(np.repeat(base + np.arange(len(keep)), counts_of).astype(np.int32))
            base += len(keep)
        found = (np.concatenate(pieces or [np.zeros((0, dim), np.float32)]),
                 np.concatenate(owners or [np.zeros(0, np.int32)]))
    return SegmentData(lines, vectors.astype(np.float32), counts, found)


def deletions_file(deleted: dict[str, np.ndarray]) -> bytes:
    """The build's `deleted.npz`: for each segment with deleted rows, those rows (ascending)."""
    buffer = io.BytesIO()
    np.savez(buffer, **{name: np.asarray(rows, dtype=np.int64) for name, rows in deleted.items()})  # type: ignore[arg-type]
    return buffer.getvalue()


def read_deletions(raw: bytes, rows: dict[str, int]) -> dict[str, np.ndarray]:
    """The deleted rows of each segment (ValueError when they name another segment or row)."""
    with np.load(io.BytesIO(raw), allow_pickle=False) as arrays:
        found = {name: np.asarray(arrays[name], dtype=np.int64) for name in arrays.files}
    for name, deleted in found.items():
        if name not in rows or (len(deleted) and (int(deleted.min()) < 0 or int(deleted.max()) >= rows[name]
                                                  or np.any(np.diff(deleted) <= 0))):
            raise ValueError(f"deleted rows that segment {name} does not have")
    return found


def file_in_build(manifest: Any, file: str) -> str:
    """The name `manifest` lists `file` under: a build file as it is, a segment file (`chunks.jsonl`)
    in the build's first segment."""
    if file not in (*SEGMENT_FILES, *SENTENCE_FILES) or not manifest.segments:
        return str(file)
    return segment_path(manifest.segments[0]["name"], file)
