"""BM25 over the chunks' `embed_text` (bm25s, Snowball stemming, English stop words), and exact
phrase / identifier matching for queries that quote a phrase or name an identifier.

The build stores the stemmed tokens of every chunk (`lexical.json`); the BM25 matrix is rebuilt
from them when a build is loaded (about 0.1 s per 5,000 abstracts), so the stored form does not
depend on bm25s's own file layout.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import IndexCorruptError
from .records import Chunk
from .store import LoadedBuild

logger = logging.getLogger(__name__)

LEXICAL_FILE = "lexical.json"
LEXICAL_FORMAT = 1
K1, B = 1.5, 0.75  # BM25 (Lucene variant), the bm25s and Anserini defaults
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_QUOTED = re.compile(r"[\"“”]([^\"“”]{2,200})[\"“”]")
# identifiers: dotted or pathy names (keras.layers.Dropout, a/b, x::y, snake_case) and hyphenated
# codes with a part mixing letters and digits (ami-a96285c4, sha-3f9a1c; not IL-10 or COVID-19,
# which on SciFact training queries cost nDCG when matched verbatim)
_DOTTED = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?:(?:\.|::|/)\w+)+(?![\w])")
_SNAKE = re.compile(r"(?<![\w])[A-Za-z]\w*_\w+")
_CODE = re.compile(r"(?<![\w-])\w+(?:-\w+)+(?![\w-])")
_MIXED = re.compile(r"(?=\w*[A-Za-z])(?=\w*\d)\w+")
_DROP = re.compile(r"[*_`#>\[\]()\\]")
_SPACE = re.compile(r"\s+")

FloatArray = npt.NDArray[np.float32]


def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lowercased, stop-word-free, stemmed tokens (the bm25s pipeline), one list per text."""
    import bm25s

    if not texts:
        return []
    out = bm25s.tokenize(list(texts), stopwords="en", stemmer=_stemmer(), return_ids=False,
                         show_progress=False, token_pattern=_TOKEN.pattern)
    return [list(tokens) for tokens in out]


def lexical_files(chunks: Sequence[Chunk]) -> dict[str, bytes]:
    """The extra build files holding the lexical index of `chunks` (for `write_build`)."""
    started = time.perf_counter()
    tokens = tokenize([c.embed_text for c in chunks])
    data = {"format": LEXICAL_FORMAT, "k1": K1, "b": B, "tokens": tokens}
    blob = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    logger.info("tokenized %d chunks for BM25 in %.2fs", len(chunks), time.perf_counter() - started)
    return {LEXICAL_FILE: blob}


@dataclass(slots=True)
class LexicalIndex:
    """BM25 scores for every chunk of one build."""

    bm25: Any  # bm25s.BM25
    vocab: dict[str, int]
    idf: FloatArray  # per vocabulary id
    size: int

    @classmethod
    def from_tokens(cls, tokens: list[list[str]], *, k1: float = K1, b: float = B) -> LexicalIndex:
        import bm25s

        bm25 = bm25s.BM25(k1=k1, b=b)
        if tokens and any(tokens):
            bm25.index(tokens, show_progress=False)
            vocab = dict(bm25.vocab_dict)
        else:
            vocab = {}
        n = len(tokens)
        df = np.zeros(len(vocab), dtype=np.float32)
        for doc in tokens:
            for tok in set(doc):
                df[vocab[tok]] += 1
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)  # Lucene idf
        return cls(bm25, vocab, idf, n)

    def scores(self, query: str) -> tuple[FloatArray, float]:
        """(BM25 score of every chunk, the query's score ceiling). The ceiling is the most any
        passage could score, sum over query terms of idf * (k1 + 1): score / ceiling is in [0, 1]
        and means the same for short and long queries."""
        ids = [self.vocab[t] for t in tokenize([query])[0] if t in self.vocab]
        if not ids or self.size == 0:
            return np.zeros(self.size, dtype=np.float32), 0.0
        scores = np.asarray(self.bm25.get_scores_from_ids(ids), dtype=np.float32)
        return scores, float(self.idf[ids].sum() * (K1 + 1))


def read_lexical(build: LoadedBuild) -> LexicalIndex | None:
    """The build's lexical index, or None for builds made before lexical search existed."""
    if LEXICAL_FILE not in build.manifest.files:
        logger.warning("build %s has no lexical index; dense search only (re-run `semsearch index`)",
                       build.manifest.build_id)
        return None
    started = time.perf_counter()
    try:
        data = json.loads(build.read_extra(LEXICAL_FILE))
        tokens = data["tokens"]
        if data.get("format") != LEXICAL_FORMAT or len(tokens) != len(build.chunks):
            raise ValueError("unexpected format or chunk count")
    except (ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(
            f"The lexical index of {build.path} is unreadable ({exc}). Run `semsearch index`."
        ) from None
    index = LexicalIndex.from_tokens(tokens, k1=data.get("k1", K1), b=data.get("b", B))
    logger.info("loaded BM25 over %d chunks in %.2fs", index.size, time.perf_counter() - started)
    return index


_CACHE: OrderedDict[str, LexicalIndex | None] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def lexical_for(build: LoadedBuild) -> LexicalIndex | None:
    """`read_lexical`, once per build (the last 4 builds are kept; keyed by build directory)."""
    key = str(build.path)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    index = read_lexical(build)
    with _CACHE_LOCK:
        _CACHE[key] = index
        while len(_CACHE) > 4:
            _CACHE.popitem(last=False)
    return index


def normalize_text(text: str) -> str:
    """Lowercase, markdown symbols deleted, whitespace collapsed (for exact matching)."""
    return _SPACE.sub(" ", _DROP.sub("", text.lower())).strip()


def exact_terms(query: str) -> list[str]:
    """Quoted phrases and identifiers in `query`, normalized; a passage containing them verbatim
    is an exact match."""
    found = [m.group(1) for m in _QUOTED.finditer(query)]
    rest = _QUOTED.sub(" ", query)
    for pattern in (_DOTTED, _SNAKE):
        found += [m.group(0) for m in pattern.finditer(rest)]
    found += [m.group(0) for m in _CODE.finditer(rest)
              if any(_MIXED.fullmatch(part) for part in m.group(0).split("-"))]
    terms: list[str] = []
    for term in found:
        norm = normalize_text(term.strip(" .,;:!?"))
        if len(norm) >= 2 and norm not in terms:
            terms.append(norm)
    return terms


def exact_match_counts(texts: Sequence[str], terms: Sequence[str]) -> list[int]:
    """How many of `terms` each text contains verbatim (after normalization)."""
    if not terms:
        return [0] * len(texts)
    counts = []
    for text in texts:
        norm = normalize_text(text)
        counts.append(sum(term in norm for term in terms))
    return counts
