"""BM25 over the chunks' `embed_text` (bm25s's tokenizer, Snowball stemming, English stop words).

Each segment of a build stores its chunks' raw term counts (`TermCounts`: a CSC matrix with one
sparse column of term frequencies per term, and each row's length in tokens), and a query scores
them with the statistics of the build's live rows: the document frequency of a term and the mean
length are those of the rows not deleted, over every segment. So a sync that adds a segment or
deletes rows changes no stored number, and the scores equal those of a full rebuild of the same
chunks: the Lucene BM25 bm25s computes, to the bit (tests/test_lexical.py checks it against
bm25s's own matrix). A query needs only numpy and PyStemmer, which keeps `import bm25s` (scipy and
numba, about 1.5 s) off the `ask` path; bm25s tokenizes at build time.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

LEXICAL_FILE = "lexical.json"  # the build's parameters: k1, b, stemmer, token pattern, stop words
TERMS_FILE = "terms.json"  # a segment's vocabulary: column i is the term `vocab[i]`
TF_FILE, ROWS_FILE, INDPTR_FILE, LENGTHS_FILE = "tf.npy", "tf_rows.npy", "tf_indptr.npy", "lengths.npy"
COUNT_FILES = (TF_FILE, ROWS_FILE, INDPTR_FILE, LENGTHS_FILE)
# BM25 (Lucene variant) with BEIR's Anserini setting, the best region on SciFact training queries
# (docs/quality.md)
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
    if not texts:
        return []
    out = _bm25s().tokenize(list(texts), stopwords="en", stemmer=_stemmer(), return_ids=False,
                            show_progress=False, token_pattern=_TOKEN.pattern)
    return [list(tokens) for tokens in out]


def tokenize_as(texts: Sequence[str], lexical: LexicalIndex) -> list[list[str]]:
    """`texts` tokenized the way `lexical` tokenizes a query (a sync's new passages, with the
    build's own stop words): the same tokens as `tokenize`, without importing bm25s."""
    return [lexical.query_stems(text) for text in texts]


def english_stopwords() -> frozenset[str]:
    """The stop words bm25s drops for `stopwords="en"`."""
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class TermCounts:
    """One segment's term frequencies: the column of term t is `tf[indptr[t]:indptr[t + 1]]` over
    the segment's rows `rows[...]`, and `lengths[r]` is row r's length in tokens."""

    vocab: dict[str, int]
    tf: FloatArray
    rows: npt.NDArray[np.int32]
    indptr: IntArray
    lengths: npt.NDArray[np.int32]

    @classmethod
    def from_tokens(cls, tokens: Sequence[Sequence[str]]) -> TermCounts:
        """The counts of a tokenized corpus, one row per text."""
        vocab: dict[str, int] = {}
        cols: list[int] = []
        rows: list[int] = []
        counts: list[int] = []
        for row, doc in enumerate(tokens):
            for term, count in Counter(doc).items():
                cols.append(vocab.setdefault(term, len(vocab)))
                rows.append(row)
                counts.append(count)
        return cls(vocab, *_by_column(len(vocab), np.asarray(cols, dtype=np.int64), np.asarray(rows, dtype=np.int64),
                                      np.asarray(counts, dtype=np.float32)),
                   np.asarray([len(doc) for doc in tokens], dtype=np.int32))

    @classmethod
    def gather(cls, parts: Sequence[tuple[TermCounts, np.ndarray]]) -> TermCounts:
        """One segment's counts from the rows `keep` (ascending) of each part, in that order (a merge)."""
        vocab: dict[str, int] = {}
        pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        lengths: list[np.ndarray] = []
        base = 0
        for counts, keep in parts:
            new_row = np.full(len(counts.lengths), -1, dtype=np.int64)
            new_row[keep] = base + np.arange(len(keep))
            ids = np.asarray([vocab.setdefault(t, len(vocab)) for t in counts.vocab], dtype=np.int64)
            col = np.repeat(ids[np.argsort(list(counts.vocab.values()))] if len(ids) else ids,
                            np.diff(counts.indptr))
            row = new_row[counts.rows]
            live = row >= 0
            pieces.append((col[live], row[live], counts.tf[live]))
            lengths.append(counts.lengths[keep])
            base += len(keep)
        col = np.concatenate([p[0] for p in pieces] or [np.zeros(0, np.int64)])
        row = np.concatenate([p[1] for p in pieces] or [np.zeros(0, np.int64)])
        tf = np.concatenate([p[2] for p in pieces] or [np.zeros(0, np.float32)])
        # a term no kept row holds keeps an empty column: harmless, and gone at the next full build
        return cls(vocab, *_by_column(len(vocab), col, row, tf),
                   np.concatenate(lengths or [np.zeros(0, np.int32)]).astype(np.int32))

    def column(self, term: str) -> tuple[npt.NDArray[np.int32], FloatArray]:
        """(rows holding `term`, its count in each); empty when the segment never saw it."""
        at = self.vocab.get(term)
        if at is None:
            return self.rows[:0], self.tf[:0]
        start, end = int(self.indptr[at]), int(self.indptr[at + 1])
        return self.rows[start:end], self.tf[start:end]

    def to_files(self) -> dict[str, bytes]:
        vocab = sorted(self.vocab, key=self.vocab.__getitem__)
        arrays: tuple[np.ndarray, ...] = (self.tf, self.rows, self.indptr, self.lengths)
        return {TERMS_FILE: json.dumps(vocab, ensure_ascii=False, separators=(",", ":")).encode(),
                **{name: _npy(array) for name, array in zip(COUNT_FILES, arrays, strict=True)}}

    @classmethod
    def read(cls, terms_raw: bytes, arrays: Sequence[np.ndarray], rows: int) -> TermCounts:
        """The counts stored as a segment's files (ValueError when they are not one, or do not fit
        its `rows`); the contents are covered by the build's checksums."""
        tf, found_rows, indptr, lengths = arrays
        terms = json.loads(terms_raw)
        if not isinstance(terms, list):
            raise ValueError("a vocabulary that is not a list")
        vocab = dict(zip(terms, range(len(terms)), strict=True))  # JSON strings: no str() per term
        if len(vocab) != len(terms):
            raise ValueError("a vocabulary that repeats a term")
        kinds = [str(a.dtype) for a in (tf, found_rows, indptr, lengths)]
        if kinds != ["float32", "int32", "int64", "int32"] or len(lengths) != rows:
            raise ValueError("term count arrays of the wrong kind")
        if len(indptr) != len(vocab) + 1 or len(tf) != len(found_rows) or int(indptr[0]) != 0 or \
                int(indptr[-1]) != len(tf):
            raise ValueError("term counts and vocabulary disagree")
        return cls(vocab, tf, found_rows, indptr, lengths)


def _by_column(terms: int, col: np.ndarray, row: np.ndarray, tf: np.ndarray
               ) -> tuple[FloatArray, npt.NDArray[np.int32], IntArray]:
    """(tf, rows, indptr) of the CSC matrix holding count `tf[i]` at (`row[i]`, `col[i]`): by term,
    each term's rows ascending."""
    order = np.lexsort((row, col))
    indptr = np.zeros(terms + 1, dtype=np.int64)
    np.cumsum(np.bincount(col, minlength=terms), out=indptr[1:])
    return tf[order].astype(np.float32), row[order].astype(np.int32), indptr


@dataclass(frozen=True, slots=True)
class LexicalPart:
    """One segment's counts in a build: `to_global[r]` is the build row of its row r, -1 when that
    row is deleted (None: every row is live, and rows follow on from `offset`)."""

    counts: TermCounts
    offset: int = 0
    to_global: IntArray | None = None

    def live_column(self, term: str) -> tuple[np.ndarray, FloatArray, np.ndarray]:
        """(build rows holding `term`, its counts, the rows' lengths), live rows only."""
        rows, tf = self.counts.column(term)
        lengths = self.counts.lengths[rows]
        if self.to_global is None:
            return rows.astype(np.int64) + self.offset, tf, lengths
        where = self.to_global[rows]
        live = where >= 0
        return where[live], tf[live], lengths[live]

    def live_length(self) -> tuple[int, int]:
        """(live rows, their tokens in all)."""
        if self.to_global is None:
            return len(self.counts.lengths), int(self.counts.lengths.sum(dtype=np.int64))
        live = self.to_global >= 0
        return int(live.sum()), int(self.counts.lengths[live].sum(dtype=np.int64))


@dataclass(slots=True)
class LexicalIndex:
    """BM25 over a build's live rows, from the term counts of its segments."""

    parts: list[LexicalPart]
    stopwords: frozenset[str]
    k1: float = K1
    b: float = B
    size: int = field(init=False)
    total_length: int = field(init=False)

    def __post_init__(self) -> None:
        sizes = [part.live_length() for part in self.parts]
        self.size = sum(n for n, _ in sizes)
        self.total_length = sum(length for _, length in sizes)

    @classmethod
    def from_tokens(cls, tokens: Sequence[Sequence[str]], *, k1: float = K1, b: float = B) -> LexicalIndex:
        """The index of one tokenized corpus (one segment, every row live)."""
        return cls([LexicalPart(TermCounts.from_tokens(tokens))], english_stopwords(), k1, b)

    def query_stems(self, query: str) -> list[str]:
        """The query's tokens, tokenized exactly as `tokenize` does (terms absent from the corpus
        included)."""
        words = [w for w in _TOKEN.findall(query.lower()) if w not in self.stopwords]
        stems: list[str] = _stemmer().stemWords(words) if words else []
        return stems

    def rows_with(self, stem: str) -> IntArray:
        """The live rows holding the term `stem` (its document frequency is their number)."""
        found = [part.live_column(stem)[0] for part in self.parts]
        return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)

    def idf(self, df: int) -> float:
        """Lucene idf of a term in `df` of the live rows."""
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))

    def scores(self, query: str) -> tuple[FloatArray, float]:
        """(BM25 score of every live row, the query's score ceiling). The ceiling is the most any
        passage could score, sum over query terms of idf * (k1 + 1): score / ceiling is in [0, 1]
        and means the same for short and long queries."""
        out = np.zeros(self.size, dtype=np.float32)
        stems = self.query_stems(query)
        columns = {stem: [part.live_column(stem) for part in self.parts] for stem in stems}
        terms = [stem for stem in stems if sum(len(c[0]) for c in columns[stem])]
        if not terms:
            return out, 0.0
        mean = self.total_length / self.size
        for stem in terms:  # a term repeated in the query counts again, as in bm25s
            found = columns[stem]
            idf = np.float32(self.idf(sum(len(c[0]) for c in found)))
            for rows, tf, lengths in found:
                # bm25s's own arithmetic: the length norm and tf part in float64, stored as float32
                tf64 = tf.astype(np.float64)
                part = tf64 / (self.k1 * ((1 - self.b) + self.b * lengths / mean) + tf64)
                out[rows] += (np.float64(idf) * part).astype(np.float32)
        df = np.asarray([sum(len(c[0]) for c in columns[stem]) for stem in terms], dtype=np.float32)
        ceiling = np.log(1 + (self.size - df + 0.5) / (df + 0.5)).sum() * (self.k1 + 1)
        return out, float(ceiling)

    def parameters_json(self) -> bytes:
        """The build's `lexical.json`."""
        meta = {"k1": self.k1, "b": self.b, "stemmer": STEMMER_LANGUAGE, "token_pattern": _TOKEN.pattern,
                "stopwords": sorted(self.stopwords)}
        return json.dumps(meta, ensure_ascii=False, separators=(",", ":")).encode()


def lexical_parameters() -> bytes:
    """The `lexical.json` of a new build."""
    return LexicalIndex([], english_stopwords()).parameters_json()


def read_lexical(meta_raw: bytes, parts: list[LexicalPart]) -> LexicalIndex:
    """The lexical index of a build: its `lexical.json` over its segments' counts (ValueError,
    KeyError or TypeError when the parameters are not ones this version reads)."""
    meta = json.loads(meta_raw)
    if meta["stemmer"] != STEMMER_LANGUAGE or meta["token_pattern"] != _TOKEN.pattern:
        raise ValueError("unexpected stemmer or token pattern")
    return LexicalIndex(parts, frozenset(map(str, meta["stopwords"])), float(meta["k1"]), float(meta["b"]))
