"""Sentence-level matching: a candidate's best sentence cosine, a third ranking signal.

At build time each chunk's `embed_text` is split into sentences (by line, then after `.!?` before a
capital letter; pieces of 3+ words) which are embedded with the build's model and stored as
`sentences.npy` (float16, one row per sentence, grouped by chunk) and
`sentence_owner.npy` (int32, the chunk row of each sentence). At query time `SentenceIndex.best`
gives each candidate the largest cosine between the query and one of its sentences
(`fusion.candidates` blends it in); a candidate without sentences keeps its chunk cosine.
Vectors are reused across builds by sentence text hash, like chunk vectors (`indexing.reuse`).
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..records import Chunk

logger = logging.getLogger(__name__)

SENTENCES_FILE = "sentences.npy"
SENTENCE_OWNER_FILE = "sentence_owner.npy"
MIN_WORDS = 3
FULL_SCAN_RATIO = 3  # score every sentence when the candidates own over a third of them
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`: each line split after `.`, `!` or `?` before a capital letter,
    keeping pieces of at least MIN_WORDS words."""
    return [s for line in text.split("\n") for s in _SENTENCE.split(line) if len(s.split()) >= MIN_WORDS]


def sentence_units(chunks: Sequence[Chunk]) -> tuple[list[str], np.ndarray]:
    """(every sentence of every chunk in chunk order, the chunk row of each as int32)."""
    texts: list[str] = []
    owner: list[int] = []
    for row, chunk in enumerate(chunks):
        found = split_sentences(chunk.embed_text)
        texts += found
        owner += [row] * len(found)
    return texts, np.asarray(owner, dtype=np.int32)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


COPY_BYTES = 32 << 20  # sentence vectors up to this size as float32 are held as a float32 copy


def sentence_files(vectors: np.ndarray, owner: np.ndarray) -> dict[str, bytes | np.ndarray]:
    """The extra build files holding the sentence vectors (float16) and their owners (int32), as
    arrays to save."""
    return {SENTENCES_FILE: np.asarray(vectors, dtype=np.float16),
            SENTENCE_OWNER_FILE: np.asarray(owner, dtype=np.int32)}


@dataclass(frozen=True, slots=True)
class SentenceIndex:
    """A build's sentence vectors; chunk row r owns rows starts[r]:starts[r + 1]. `vectors` are the
    file's float16 rows, memory-mapped (shared by every process that maps the build; the rows a
    query reads are converted to float32), or a float32 copy when they are few (COPY_BYTES)."""

    vectors: np.ndarray  # (sentences, dim) float16, a memory map; or float32
    starts: np.ndarray  # (chunks + 1,) int64
    _nonempty: np.ndarray = field(init=False, repr=False)  # per chunk: owns a sentence
    _nonempty_rows: np.ndarray = field(init=False, repr=False)  # the chunk rows that do

    def __post_init__(self) -> None:
        nonempty = np.diff(self.starts) > 0
        object.__setattr__(self, "_nonempty", nonempty)
        object.__setattr__(self, "_nonempty_rows", np.flatnonzero(nonempty))

    @classmethod
    def from_arrays(cls, vectors: np.ndarray, owner: np.ndarray, chunks: int) -> SentenceIndex:
        if len(vectors) != len(owner) or (len(owner) and (owner.min() < 0 or owner.max() >= chunks
                                                          or np.any(np.diff(owner) < 0))):
            raise ValueError("the sentence files do not match the build's chunks")
        starts = np.searchsorted(owner, np.arange(chunks + 1), side="left").astype(np.int64)
        if vectors.dtype != np.float32 and vectors.size * 4 <= COPY_BYTES:
            vectors = vectors.astype(np.float32)  # small: a copy of its own costs less than converting per query
        return cls(vectors, starts)

    def count(self) -> int:
        """How many sentence vectors the index holds."""
        return len(self.vectors)

    def owned(self, ids: np.ndarray) -> np.ndarray:
        """How many sentences each chunk row of `ids` owns."""
        ids = np.asarray(ids, dtype=np.int64)
        counts: np.ndarray = self.starts[ids + 1] - self.starts[ids]
        return counts

    def of_rows(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the sentence vectors of chunk rows `ids`, in order; how many each row owns)."""
        ids = np.asarray(ids, dtype=np.int64)
        counts = self.owned(ids)
        rows, _ = _sentence_rows(self.starts[ids], counts)
        return np.asarray(self.vectors[rows], dtype=np.float32), counts

    def best(self, ids: np.ndarray, query: np.ndarray, fallback: np.ndarray) -> np.ndarray:
        """max over each candidate's sentences of (sentence . query); `fallback` (the chunk's own
        cosine) for a candidate without sentences."""
        lo, counts = self.starts[ids], self.owned(ids)
        out = np.asarray(fallback, dtype=np.float32).copy()
        has = counts > 0
        if not has.any():
            return out
        counts, lo = counts[has], lo[has]
        query = np.asarray(query, dtype=np.float32)
        needed = int(counts.sum())
        if needed * FULL_SCAN_RATIO >= len(self.vectors):
            # the candidates own much of the corpus: one pass over every sentence is cheaper than
            # gathering their rows (einsum, not BLAS: one thread, no waking a BLAS thread pool)
            every = np.einsum("ij,j->i", np.asarray(self.vectors, dtype=np.float32), query)
            out[has] = np.maximum.reduceat(every, self.starts[:-1][self._nonempty])[
                np.searchsorted(self._nonempty_rows, ids[has])]
            return out
        rows, offsets = _sentence_rows(lo, counts)
        cosines = np.einsum("ij,j->i", np.asarray(self.vectors[rows], dtype=np.float32), query)
        out[has] = np.maximum.reduceat(cosines, offsets)
        return out


def _sentence_rows(firsts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the rows of runs of `counts` sentences starting at `firsts`, one run after another; where
    each run starts among them)."""
    offsets = np.cumsum(counts) - counts
    return np.arange(int(counts.sum())) + np.repeat(firsts - offsets, counts), offsets


def read_sentences(vectors: np.ndarray, owner: np.ndarray, *, chunks: int, dim: int) -> SentenceIndex:
    """The sentence index over a build's (mapped) `sentences.npy` and its `sentence_owner.npy`
    (ValueError when they are not one, or do not fit the build)."""
    if vectors.ndim != 2 or (len(vectors) and vectors.shape[1] != dim) or owner.ndim != 1 or \
            vectors.dtype != np.float16:
        raise ValueError(f"sentence vectors of shape {vectors.shape}")
    return SentenceIndex.from_arrays(vectors, owner, chunks)
