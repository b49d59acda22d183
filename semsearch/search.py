"""The one search core every edge calls: `Searcher.search(query, top_k=...)` -> `SearchResult`.

A `Searcher` is immutable: one loaded `Index`, the embedder that queries it, how to rank and the
query limits. A new build means a new `Searcher` (`live.LiveIndex` hands out the current one), so
a search always runs on one build from start to end, and its result names that build.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .embedders import Embedder
from .errors import QueryError
from .filters import GLOB_CHARS, Filter, allowed_rows, source_matches
from .index.format import Manifest
from .index.glossary import spell_out
from .index.loader import Index, check_model, load_current
from .ranking.calibration import Calibration, calibration_for
from .ranking.fusion import IdArray, RetrievalConfig, rank_query
from .ranking.memo import RankingMemo
from .records import Hit

logger = logging.getLogger(__name__)

__all__ = ["GLOB_CHARS", "Filter", "QueryLimits", "SearchResult", "Searcher", "StageTimings", "source_matches",
           "validate_query"]


@dataclass(frozen=True, slots=True)
class QueryLimits:
    """What a query may ask for (`SEMSEARCH_MAX_TOP_K`, `SEMSEARCH_MAX_QUERY_CHARS`)."""

    max_top_k: int = 50
    max_query_chars: int = 2000


def validate_query(query: object, top_k: object, limits: QueryLimits) -> str:
    """The query as searched (surrounding whitespace trimmed), or QueryError saying what is wrong."""
    if not isinstance(query, str):
        raise QueryError("The query must be text.")
    if "\x00" in query:
        raise QueryError("The query contains a NUL character; send plain text.")
    try:
        query.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (JSON "\ud800", or undecodable bytes on a command line)
        raise QueryError("The query is not valid text (it holds a lone surrogate or undecodable bytes).") from None
    text = query.strip()
    if not text:
        raise QueryError("The query is empty; ask a question, e.g. `what is inverted dropout`.")
    if len(text) > limits.max_query_chars:
        raise QueryError(f"The query is {len(text)} characters long; the limit is {limits.max_query_chars}.")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= limits.max_top_k:
        raise QueryError(f"top_k must be a whole number from 1 to {limits.max_top_k}, got {top_k!r}.")
    return text


@dataclass(frozen=True, slots=True)
class StageTimings:
    """Milliseconds spent on each stage of one query."""

    embed: float = 0.0
    dense: float = 0.0
    lexical: float = 0.0
    rank: float = 0.0

    @property
    def total(self) -> float:
        return self.embed + self.dense + self.lexical + self.rank

    def to_dict(self) -> dict[str, float]:
        return {"embed": round(self.embed, 3), "dense": round(self.dense, 3), "lexical": round(self.lexical, 3),
                "rank": round(self.rank, 3), "search": round(self.total, 3)}


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One answered query: the hits (best first), the query as searched and as embedded, the build
    that answered, per-stage timings, and whether the core abstained: nothing in the notes answers
    the query confidently (no hits, or the best one is under the abstention threshold). Every edge
    shows `abstained` as it is and never decides it again."""

    query: str
    searched_as: str
    hits: list[Hit]
    build: Manifest
    timings: StageTimings
    abstained: bool

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape `ask --json` (one line per query) and the other edges build on."""
        return {"query": self.query, "searched_as": self.searched_as, "abstained": self.abstained,
                "results": [hit.to_dict() for hit in self.hits],
                "index": {"build_id": self.build.build_id, "built_at": self.build.created_at,
                          "model": self.build.model_name},
                "timings_ms": self.timings.to_dict()}


@dataclass(frozen=True)
class Searcher:
    """An immutable searcher over one build. Thread-safe (nothing in it changes)."""

    index: Index
    embedder: Embedder
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    limits: QueryLimits = field(default_factory=QueryLimits)
    calibration: Calibration = field(init=False, repr=False)
    memo: RankingMemo = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "calibration", calibration_for(self.index.manifest.model_name))
        object.__setattr__(self, "memo", RankingMemo(self.index))

    @classmethod
    def open(cls, index_dir: Path, embedder: Embedder, *, retrieval: RetrievalConfig | None = None,
             limits: QueryLimits | None = None) -> Searcher:
        """The published build at `index_dir`, checked against `embedder`'s model."""
        retrieval = retrieval or RetrievalConfig()
        index = load_current(index_dir, sentences=retrieval.uses_sentences)
        check_model(index, embedder.model_name, embedder.dim)  # after the load: a model may still be loading
        return cls(index, embedder, retrieval, limits or QueryLimits())

    @property
    def manifest(self) -> Manifest:
        return self.index.manifest

    def searched_as(self, text: str, visible: frozenset[str] | None = None) -> str:
        """What a trimmed query is embedded as: each acronym the notes of the `visible` collections
        (None: every collection) define spelled out."""
        return spell_out(text, self.index.glossary_for(visible)) if self.retrieval.spell_out_acronyms else text

    def allowed_rows(self, filter: Filter | None, visible: frozenset[str] | None = None) -> IdArray | None:
        """The chunk rows `filter` allows within the `visible` collections (None: all); None: no filter."""
        return allowed_rows(self.index, filter, visible)

    def search(self, query: str, *, top_k: int = 5, filter: Filter | None = None, source: str | None = None,
               visible: frozenset[str] | None = None) -> SearchResult:
        """The `top_k` passages that best answer `query`, best first, only from passages `filter`
        allows (`source`: the same as `Filter(path=source)`, a glob such as `ml/*.md` or a path prefix)
        within the `visible` collections (a scoped caller's; None: every collection). Whenever
        `top_k` passages match, `top_k` come back: the filter is applied inside the searches."""
        return self.search_many([query], top_k=top_k, filter=filter, source=source, visible=visible)[0]

    def search_many(self, queries: Sequence[str], *, top_k: int = 5, filter: Filter | None = None,
                    source: str | None = None, visible: frozenset[str] | None = None) -> list[SearchResult]:
        """`search` for several queries, embedded in one batch."""
        texts = [validate_query(q, top_k, self.limits) for q in queries]
        if source is not None:
            if not isinstance(source, str) or not source:
                raise QueryError("The source filter must be a non-empty glob or path prefix.")
            filter = (filter or Filter()).combined(Filter(path=source))
        allowed = self.allowed_rows(filter, visible)
        embedded = [self.searched_as(text, visible) for text in texts]
        started = time.perf_counter()
        vectors = self.embedder.embed_queries(embedded)
        embed_ms = (time.perf_counter() - started) * 1000 / max(len(texts), 1)
        results: list[SearchResult] = []
        for text, searched_as, vector in zip(texts, embedded, vectors, strict=True):
            spent: dict[str, float] = {}
            hits = rank_query(self.memo, text, np.asarray(vector, dtype=np.float32), top_k, self.retrieval,
                              self.calibration, allowed=allowed, timings=spent)
            timings = StageTimings(embed_ms, *(spent.get(stage, 0.0) * 1000 for stage in ("dense", "lexical", "rank")))
            results.append(SearchResult(text, searched_as, hits, self.index.manifest, timings,
                                        abstained=not hits or not hits[0].confident))
        return results
