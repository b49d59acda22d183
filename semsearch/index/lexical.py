"""BM25 over the chunks' `embed_text` (bm25s, Snowball stemming, English stop words).

bm25s scores the corpus when a build is written: its eager BM25 matrix (one sparse column of
precomputed scores per term) is stored in the build (`lexical.json`: vocabulary and parameters;
the CSC arrays as three plain `.npy` files, memory-mapped on load). A query then needs only numpy
and PyStemmer: tokenize it the way bm25s does and add up its terms' columns. That
keeps `import bm25s` (which pulls scipy and numba, about 1.5 s) off the `ask` path.
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..records import Chunk

logger = logging.getLogger(__name__)

LEXICAL_FILE = "lexical.json"
DATA_FILE, INDICES_FILE, INDPTR_FILE = "lexical_data.npy", "lexical_indices.npy", "lexical_indptr.npy"
MATRIX_FILES = (DATA_FILE, INDICES_FILE, INDPTR_FILE)
# BM25 (Lucene variant) with BEIR's Anserini setting, the best region on SciFact training queries
# (k1 0.6-0.9, b 0.3-0.4: nDCG@10 0.751-0.752, against 0.747 with bm25s's 1.5 / 0.75; docs/quality.md)
K1, B = 0.9, 0.4
STEMMER_LANGUAGE = "english"
_TOKEN = re.compile(r"(?u)\b\w\w+\b")

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
_local = threading.local()  # PyStemmer stemmers are not thread-safe: one per thread


def _stemmer() -> Any:
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _local.stemmer = Stemmer.Stemmer(STEMMER_LANGUAGE)
    return stemmer


def _bm25s() -> Any:
    """bm25s, imported on first use (build time only), without its DEBUG log lines: it sets its
    own logger to DEBUG on import."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lowercased, stop-word-free, stemmed tokens (bm25s's own pipeline), one list per text."""
    bm25s = _bm25s()
    if not texts:
        return []
    out = bm25s.tokenize(list(texts), stopwords="en", stemmer=_stemmer(), return_ids=False,
                         show_progress=False, token_pattern=_TOKEN.pattern)
    return [list(tokens) for tokens in out]


def english_stopwords() -> frozenset[str]:
    """The stop words bm25s drops for `stopwords="en"`."""
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


@dataclass(slots=True)
class LexicalIndex:
    """BM25 scores for every chunk of one build: bm25s's eager matrix in CSC form (the column of
    term t is `data[indptr[t]:indptr[t + 1]]` over the chunks `indices[...]`)."""

    vocab: dict[str, int]
    stopwords: frozenset[str]
    data: FloatArray
    indices: IntArray
    indptr: IntArray
    size: int
    k1: float = K1  # what the stored scores were computed with
    b: float = B

    @classmethod
    def from_tokens(cls, tokens: list[list[str]], *, k1: float = K1, b: float = B) -> LexicalIndex:
        """Score a tokenized corpus with bm25s."""
        bm25s = _bm25s()
        if not tokens or not any(tokens):
            empty = np.zeros(0, dtype=np.int64)
            return cls({}, english_stopwords(), np.zeros(0, np.float32), empty, np.zeros(1, np.int64), len(tokens))
        bm25 = bm25s.BM25(k1=k1, b=b)
        bm25.index(tokens, show_progress=False)
        m = bm25.scores
        columns = len(m["indptr"]) - 1  # bm25s's vocabulary also holds "", which has no column
        vocab = {token: i for token, i in bm25.vocab_dict.items() if i < columns}
        return cls(vocab, english_stopwords(), np.asarray(m["data"], dtype=np.float32),
                   np.asarray(m["indices"], dtype=np.int64), np.asarray(m["indptr"], dtype=np.int64), len(tokens),
                   k1, b)

    @property
    def idf(self) -> FloatArray:
        """Lucene idf per vocabulary id; a term's document frequency is its column's length."""
        df = np.diff(self.indptr).astype(np.float32)
        idf: FloatArray = np.log(1 + (self.size - df + 0.5) / (df + 0.5)).astype(np.float32)
        return idf

    def query_stems(self, query: str) -> list[str]:
        """The query's tokens, tokenized exactly as `tokenize` does (terms absent from the corpus
        included)."""
        words = [w for w in _TOKEN.findall(query.lower()) if w not in self.stopwords]
        stems: list[str] = _stemmer().stemWords(words) if words else []
        return stems

    def query_terms(self, query: str) -> list[int]:
        """Vocabulary ids of the query's tokens, tokenized exactly as `tokenize` does."""
        return [self.vocab[s] for s in self.query_stems(query) if s in self.vocab]

    def scores(self, query: str) -> tuple[FloatArray, float]:
        """(BM25 score of every chunk, the query's score ceiling). The ceiling is the most any
        passage could score, sum over query terms of idf * (k1 + 1): score / ceiling is in [0, 1]
        and means the same for short and long queries."""
        ids = self.query_terms(query)
        out = np.zeros(self.size, dtype=np.float32)
        if not ids:
            return out, 0.0
        for term in ids:  # a term repeated in the query counts again, as in bm25s
            start, end = self.indptr[term], self.indptr[term + 1]
            out[self.indices[start:end]] += self.data[start:end]
        df = (self.indptr[np.asarray(ids) + 1] - self.indptr[np.asarray(ids)]).astype(np.float32)
        ceiling = np.log(1 + (self.size - df + 0.5) / (df + 0.5)).sum() * (self.k1 + 1)
        return out, float(ceiling)

    def to_files(self) -> dict[str, bytes]:
        """The build files holding this index."""
        vocab = sorted(self.vocab, key=self.vocab.__getitem__)
        meta = {"k1": self.k1, "b": self.b, "stemmer": STEMMER_LANGUAGE,
                "token_pattern": _TOKEN.pattern, "stopwords": sorted(self.stopwords), "vocab": vocab,
                "size": self.size}
        files = {LEXICAL_FILE: json.dumps(meta, ensure_ascii=False, separators=(",", ":")).encode()}
        arrays: tuple[np.ndarray, ...] = (self.data, self.indices, self.indptr)
        for name, array in zip(MATRIX_FILES, arrays, strict=True):
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=False)
            files[name] = buffer.getvalue()
        return files


def lexical_files(chunks: Sequence[Chunk]) -> dict[str, bytes]:
    """The extra build files holding the lexical index of `chunks` (for `write_build`)."""
    started = time.perf_counter()
    files = LexicalIndex.from_tokens(tokenize([c.embed_text for c in chunks])).to_files()
    logger.info("scored %d chunks for BM25 in %.2fs", len(chunks), time.perf_counter() - started)
    return files


def read_lexical(meta_raw: bytes, data: FloatArray, indices: IntArray, indptr: IntArray,
                 chunk_count: int) -> LexicalIndex:
    """The lexical index stored in a build's `lexical.json` over its (mapped) CSC arrays (ValueError,
    KeyError or TypeError when they are not one, or do not fit the build's chunks). The arrays'
    shapes are checked here; their contents by the build's checksums (`index.verify`)."""
    meta = json.loads(meta_raw)
    if meta["size"] != chunk_count or meta["stemmer"] != STEMMER_LANGUAGE:
        raise ValueError("unexpected chunk count or stemmer")
    vocab = {str(token): i for i, token in enumerate(meta["vocab"])}
    if (data.ndim, indices.ndim, indptr.ndim) != (1, 1, 1) or data.dtype != np.float32 or \
            indices.dtype != np.int64 or indptr.dtype != np.int64:
        raise ValueError("matrix arrays of the wrong kind")
    if len(indptr) != len(vocab) + 1 or len(data) != len(indices) or int(indptr[0]) != 0 or \
            int(indptr[-1]) != len(data):
        raise ValueError("matrix and vocabulary disagree")
    return LexicalIndex(vocab, frozenset(map(str, meta["stopwords"])), data, indices, indptr, int(meta["size"]),
                        float(meta["k1"]), float(meta["b"]))
