"""Hybrid ranking: dense (FAISS) and lexical (BM25) candidates fused, quoted phrases
first, near-duplicates collapsed, scores calibrated. Called by `Searcher` only.

Fusion modes: `blend` (the default: a weighted sum of scores normalized over the candidate pool,
z-scores by default, or min-max), `rrf` (reciprocal rank fusion, sum of 1 / (rrf_k + rank)), `dense` and `lexical` (one
retriever alone). In `blend`, a build with sentence vectors (`sentences.py`) adds a third score,
each candidate's best sentence cosine, and BM25's share adapts to the query (`lexical_share`).
Measured on the notes dev sets and SciFact training queries: docs/quality.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from ..index.loader import Index
from ..records import Hit
from .calibration import REFERENCE_RANK, Calibration, term_coverage
from .collapse import collapse, place
from .exact import exact_match_counts, exact_terms, has_technical_terms
from .memo import RankingMemo

logger = logging.getLogger(__name__)

FusionMode = Literal["rrf", "blend", "dense", "lexical"]
IdArray = npt.NDArray[np.int64]
Timings = MutableMapping[str, float]  # stage -> seconds, added to by `candidates` and `rank_query`
Normalization = Literal["zscore", "minmax"]
EXACT_SCAN_LIMIT = 20_000  # corpora up to this many chunks are scanned whole for exact matches
COLLAPSE_WINDOW_PER_HIT = 4  # candidates searched for copies: 4 per passage shown, plus 10
FREED_TO_CHUNK = 0.5  # of the BM25 weight a query does not keep, the share the chunk cosine gets


@dataclass(frozen=True, slots=True)
class RetrievalConfig:
    """How `Searcher` ranks; the defaults are the best configuration measured (docs/quality.md)."""

    fusion: FusionMode = "blend"
    rrf_k: int = 60
    normalization: Normalization = "zscore"  # how `blend` puts each retriever's scores on one scale
    dense_weight: float = 0.5  # `blend` without sentence vectors: weight of the dense score, 1 - it for BM25
    # `blend` with sentence vectors: weights of the chunk cosine and of the best sentence cosine;
    # BM25 gets 1 - both. sentence_weight 0 turns the sentence stage off (dense_weight applies).
    chunk_weight: float = 0.2
    sentence_weight: float = 0.4
    pool: int = 100  # candidates taken from each retriever (more when top_k asks for more)
    spell_out_acronyms: bool = True  # embed `VAE` as `VAE (variational autoencoder)` (acronyms.py)
    exact_boost: bool = True  # passages holding a quoted phrase of the query go first
    # ... and passages holding an identifier of the query (`ami-a96285c4`, `asp.net`) too; off: an
    # identifier keeps BM25's full weight (`lexical_share`) instead of ordering the list
    exact_identifiers: bool = False
    collapse: bool = True
    collapse_threshold: float = 0.6  # shingle containment above which two chunks are one passage
    abstain_threshold: float = 0.25  # calibrated score under which a hit is not `confident`
    # BM25's best score (over its ceiling) under which a query keeps only that share of BM25's
    # weight (`lexical_share`); 0: fixed weights
    lexical_trust: float = 0.2

    @property
    def uses_sentences(self) -> bool:
        """Whether this ranking reads a build's sentence vectors."""
        return self.fusion == "blend" and self.sentence_weight > 0

    def __post_init__(self) -> None:
        if min(self.chunk_weight, self.sentence_weight) < 0 or self.chunk_weight + self.sentence_weight > 1:
            raise ValueError("chunk_weight and sentence_weight must be >= 0 and sum to at most 1")


@dataclass(slots=True)
class Candidates:
    """One query's candidates: their scores, the fused score and the calibration's features."""

    ids: np.ndarray  # chunk ids, int64
    dense: np.ndarray  # cosine per candidate
    lexical: np.ndarray  # BM25 / ceiling per candidate, in [0, 1]
    fused: np.ndarray
    reference: float  # the query's 10th best cosine (calibration's `gap` is measured from it)
    agree: np.ndarray  # in the top 10 of both the dense and the BM25 ranking
    coverage: np.ndarray  # idf-weighted share of the query's terms in the candidate
    sentence: np.ndarray  # best sentence cosine per candidate (the chunk cosine without sentence vectors)
    sentence_reference: float  # the 10th best of `sentence` over the candidates

    def probability(self, calibration: Calibration) -> np.ndarray:
        """Calibrated score of every candidate."""
        return calibration.probability(self.dense - self.reference, self.agree, self.coverage,
                                       self.sentence - self.sentence_reference)


def _ranks(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """1-based rank of each value among the present ones (descending); 0 where absent."""
    order = np.argsort(-values, kind="stable")
    ranks = np.zeros(len(values), dtype=np.int64)
    position = 0
    for i in order:
        if present[i]:
            position += 1
            ranks[i] = position
    return ranks


def _minmax(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def _zscore(values: np.ndarray) -> np.ndarray:
    """(value - mean) / standard deviation over the pool: unlike min-max, one outlier (a BM25 score
    far above the rest) does not squash every other candidate's share of the blend."""
    spread = float(values.std())
    return (values - float(values.mean())) / spread if spread > 0 else np.zeros_like(values)


def _dense_scores(index: Index, vector: np.ndarray, ids: np.ndarray, known: dict[int, float],
                  floor: float) -> np.ndarray:
    """Cosine for each id: from the dense search's results, else from the stored vector, else `floor`."""
    missing = [int(i) for i in ids if int(i) not in known]
    if missing:
        try:
            stored = index.vectors.vectors(np.asarray(missing, dtype=np.int64))
            known.update(zip(missing, (stored @ vector).tolist(), strict=True))
        except KeyError:  # a store that cannot give vectors back
            pass
    return np.asarray([known.get(int(i), floor) for i in ids], dtype=np.float32)


def lexical_share(query: str, best_lexical: float, trust: float) -> float:
    """The share of BM25's weight a query keeps: all of it when its best BM25 match reaches `trust`
    of the score ceiling or when it names something technical (an identifier, a code such as
    `APOE4`, a quoted phrase), else `best_lexical / trust`. A question in the user's own words
    shares only common words with any note, and then BM25's best match is a note that happens to
    use them: such a query leans on the dense scores."""
    if trust <= 0 or best_lexical >= trust or has_technical_terms(query):
        return 1.0
    return max(best_lexical, 0.0) / trust


def _add(timings: Timings | None, stage: str, started: float) -> None:
    if timings is not None:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - started


def candidates(index: Index, query: str, vector: np.ndarray, pool: int, config: RetrievalConfig, *,
               extra: Sequence[int] = (), allowed: IdArray | None = None,
               timings: Timings | None = None) -> Candidates:
    """Union of the dense and BM25 top `pool` (and `extra` ids), with both scores, the fused score
    and the calibration's features. `allowed`: the only chunk rows that may be candidates (a
    filter, searched inside the vector store and the BM25 scores; None: every row)."""
    n = index.vectors.count()
    k = min(pool, n if allowed is None else len(allowed))
    started = time.perf_counter()
    scores, ids = index.vectors.search(np.ascontiguousarray(vector[None, :], dtype=np.float32), k,
                                       allowed=allowed)
    dense_hits = {int(i): float(s) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0}
    _add(timings, "dense", started)
    started = time.perf_counter()
    mode = config.fusion
    bm25, ceiling = index.lexical.scores(query)
    if allowed is not None:
        outside = np.ones(n, dtype=bool)
        outside[allowed] = False
        bm25[outside] = 0.0
    positive = np.flatnonzero(bm25 > 0)
    if len(positive) > k > 0:  # the k best (ties to the lower row), without sorting every match
        positive = positive[bm25[positive] >= np.partition(bm25[positive], -k)[-k]]
    top = positive[np.argsort(-bm25[positive], kind="stable")[:k]]
    lexical_ids = [int(i) for i in top]
    _add(timings, "lexical", started)
    if mode == "dense":
        chosen = list(dense_hits)
    elif mode == "lexical":
        chosen = lexical_ids or list(dense_hits)
    else:
        chosen = list(dict.fromkeys([*dense_hits, *lexical_ids]))
    chosen = list(dict.fromkeys([*chosen, *extra]))
    cand = np.asarray(chosen, dtype=np.int64)
    floor = min(dense_hits.values()) if dense_hits else 0.0
    dense = _dense_scores(index, vector, cand, dict(dense_hits), floor)
    lex = bm25[cand] / ceiling if ceiling > 0 else np.zeros(len(cand), dtype=np.float32)
    best = dense
    if mode == "dense":
        fused = dense.copy()
    elif mode == "lexical":
        fused = lex.copy() if lexical_ids else dense.copy()
    elif mode == "rrf":
        in_dense = np.asarray([int(i) in dense_hits for i in cand])
        lexical_set = set(lexical_ids)
        in_lex = np.asarray([int(i) in lexical_set for i in cand])
        rd, rl = _ranks(dense, in_dense), _ranks(lex, in_lex)
        fused = np.where(rd > 0, 1.0 / (config.rrf_k + rd), 0.0) + np.where(
            rl > 0, 1.0 / (config.rrf_k + rl), 0.0)
    else:
        norm = _zscore if config.normalization == "zscore" else _minmax
        share = lexical_share(query, float(lex.max()) if lexical_ids else 0.0, config.lexical_trust)
        lex_part = share * norm(lex) if lexical_ids else 0.0
        sentences = index.sentences if config.sentence_weight > 0 else None
        if sentences is None:
            w = config.dense_weight
            fused = w * norm(dense) + (1 - w) * lex_part
        else:
            best = sentences.best(cand, vector, dense)
            ws = config.sentence_weight
            lexical_weight = 1 - config.chunk_weight - ws
            wc = config.chunk_weight + FREED_TO_CHUNK * lexical_weight * (1 - share)
            fused = wc * norm(dense) + ws * norm(best) + lexical_weight * lex_part
    top_dense = list(dense_hits)[:REFERENCE_RANK]
    reference = dense_hits[top_dense[-1]] if top_dense else 0.0
    both = set(top_dense) & set(lexical_ids[:REFERENCE_RANK])
    agree = np.fromiter((int(i) in both for i in cand), dtype=bool, count=len(cand))
    sentence_reference = float(np.sort(best)[::-1][min(REFERENCE_RANK, len(best)) - 1]) if len(best) else 0.0
    return Candidates(cand, dense, lex.astype(np.float32), np.asarray(fused, dtype=np.float64),
                       reference, agree.astype(np.float64), term_coverage(index.lexical, query, cand),
                       np.asarray(best, dtype=np.float64), sentence_reference)


def rank_query(memo: RankingMemo, query: str, vector: np.ndarray, top_k: int, config: RetrievalConfig,
               calibration: Calibration, *, allowed: IdArray | None = None,
               timings: Timings | None = None) -> list[Hit]:
    """The top_k distinct passages of `memo.index` for one query, as calibrated Hits (only rows in
    `allowed` when it is given). `timings` gets the seconds of the dense, lexical and rank stages
    added to it."""
    started = time.perf_counter()
    spent = {"dense": 0.0, "lexical": 0.0}
    hits = _rank(memo, query, vector, top_k, config, calibration, allowed, spent)
    if timings is not None:
        for stage, seconds in spent.items():
            timings[stage] = timings.get(stage, 0.0) + seconds
        rank = time.perf_counter() - started - spent["dense"] - spent["lexical"]
        timings["rank"] = timings.get("rank", 0.0) + max(rank, 0.0)
    return hits


def _rank(memo: RankingMemo, query: str, vector: np.ndarray, top_k: int, config: RetrievalConfig,
          calibration: Calibration, allowed: IdArray | None, timings: Timings) -> list[Hit]:
    index = memo.index
    if index.vectors.count() == 0 or (allowed is not None and not len(allowed)):
        return []
    pool = max(config.pool, 3 * top_k)
    terms = exact_terms(query, identifiers=config.exact_identifiers) if config.exact_boost else []
    extra: list[int] = []
    if terms and len(index.chunks) <= EXACT_SCAN_LIMIT:  # exact matches the retrievers missed
        rows = range(len(index.chunks)) if allowed is None else [int(i) for i in allowed]
        norms = memo.normalized_texts
        counts = exact_match_counts([norms[i] for i in rows], terms, normalized=True)
        extra = [i for i, count in zip(rows, counts, strict=True) if count]
    cand = candidates(index, query, vector, pool, config, extra=extra, allowed=allowed, timings=timings)
    # equal scores go by collection and file, then by position in the file: an order that does not
    # depend on where a sync put the rows
    columns = index.columns
    ids = np.asarray(cand.ids, dtype=np.int64)
    where = columns.collection[ids].astype(np.int64) * len(columns.source_names) + columns.source[ids]
    order = np.lexsort((ids, where, -cand.fused))
    matches = np.zeros(len(cand.ids), dtype=np.int64)
    if terms:
        norms = memo.normalized_texts
        matches = np.asarray(exact_match_counts([norms[int(i)] for i in cand.ids], terms, normalized=True))
        order = np.lexsort((ids, where, -cand.fused, -matches))  # most terms matched first, then fused score
    window = COLLAPSE_WINDOW_PER_HIT * top_k + 10 if config.collapse else top_k
    rows = [int(cand.ids[i]) for i in order[:window]]
    if config.collapse:
        # Copies of a passage rank near it, so look for them among the first candidates only (the
        # distinct passages found are the same; only far-down copies go unlisted), unless that
        # window holds fewer than top_k distinct passages.
        groups = collapse([index.chunks[r] for r in rows], threshold=config.collapse_threshold, limit=top_k,
                          shingles_of=lambda i: memo.shingles(rows[i]))
        if len(groups) < top_k and len(order) > window:
            rows = [int(cand.ids[i]) for i in order]
            groups = collapse([index.chunks[r] for r in rows], threshold=config.collapse_threshold,
                              limit=top_k, shingles_of=lambda i: memo.shingles(rows[i]))
    else:
        groups = [(i, []) for i in range(len(rows))]
    shown = [int(order[head]) for head, _ in groups]
    scores = _shown_scores(cand, shown, calibration, config,
                           exact=[bool(terms) and int(matches[j]) == len(terms) for j in shown],
                           has_terms=bool(index.lexical.query_stems(query)))
    hits: list[Hit] = []
    for rank, ((head, copies), score) in enumerate(zip(groups, scores, strict=True), 1):
        j = int(order[head])
        hits.append(Hit(index.chunks[rows[head]], score, rank, tuple(place(index.chunks[rows[c]]) for c in copies),
                        raw_score=float(cand.fused[j]), confident=score >= config.abstain_threshold))
    return hits


def _shown_scores(cand: Candidates, shown: list[int], calibration: Calibration, config: RetrievalConfig,
                  *, exact: list[bool], has_terms: bool = True) -> list[float]:
    """The calibrated score of each shown candidate (indexes into `cand`, best first). The first is
    P(answered) from its features; in `blend`, each later one is that probability lowered by how far
    its fused score falls below the first's (`Calibration.decay`), so scores follow the ranking
    without ties of their own; other modes take each candidate's own probability. A passage holding
    every exact term asked for (`exact_terms`) is lifted into [threshold, 1] (order kept); a query
    with no terms at all (`the`, `x`) says nothing a passage could answer, and its scores are scaled
    into [0, threshold). Shown scores never rise down the list."""
    if not shown:
        return []
    probability = cand.probability(calibration)
    top = shown[0]
    if config.fusion == "blend":
        p = float(np.clip(probability[top], 1e-9, 1 - 1e-9))
        z = np.log(p / (1 - p)) + calibration.decay * (cand.fused[shown] - cand.fused[top])
        values = 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))
    else:
        values = probability[shown]
    out: list[float] = []
    t = config.abstain_threshold
    for value, holds_all in zip(values.tolist(), exact, strict=True):
        score = t + (1 - t) * value if holds_all else value
        if not has_terms:
            score *= t * (1 - 1e-6)
        out.append(min(score, out[-1]) if out else score)
    return out
