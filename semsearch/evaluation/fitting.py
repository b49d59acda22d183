"""Fitting the score calibration (`ranking.calibration`) on several query sets at once: a BEIR
split's training queries and notes query sets with their answerable and unanswerable queries
(`semsearch eval --fit-calibration --beir DIR --split train --with-notes INDEX_DIR QUERIES ...`).

Each query gives the features of its top fused candidate as asked (label 1 when the corpus answers
it, 0 for an unanswerable query) and, when answerable, once more with its relevant passages removed
from the corpus (label 0: a plausible question this corpus cannot answer). Every set weighs the
same in the fit, and within a set both labels weigh the same, so no corpus (SciFact has 809
training queries, a notes set a few dozen) decides alone. The decay of the scores below the first
(`Calibration.decay`) is fitted on whether ranks 2-10 of each answerable query hold an answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..embedders import Embedder
from ..ranking.calibration import Calibration
from ..ranking.fusion import Candidates, RetrievalConfig, candidates
from ..search import Searcher
from .beir import BeirDataset, DocChunking, build_beir_index, load_dataset
from .queries import EvalQuery, normalize

Features = tuple[float, float, float, float]  # (gap, agree, coverage, sentence gap) of one candidate
DECAY_DEPTH = 10  # ranks 2..10 fit the decay
MAX_REFUSED = 0.1  # the threshold refuses at most this share of any set's answerable queries


@dataclass(slots=True)
class CalibrationSet:
    """One query set's training rows."""

    name: str
    features: list[Features] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    as_asked: list[bool] = field(default_factory=list)  # False: asked with its answers removed
    # per answerable query: the top candidate's features, then (fused - top's fused, relevant) of ranks 2..10
    below: list[tuple[Features, list[tuple[float, bool]]]] = field(default_factory=list)


def fit_logistic(features: Sequence[Sequence[float]], labels: Sequence[int], *, weights: Sequence[float] | None = None,
                 l2: float = 1e-3, iterations: int = 50) -> tuple[float, list[float]]:
    """(bias, weights) of an L2-regularized logistic regression (optionally sample-weighted), by
    Newton's method."""
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    s = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    x1 = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(x1.shape[1])
    reg = np.eye(x1.shape[1]) * l2
    reg[0, 0] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(x1 @ w, -50, 50)))
        grad = x1.T @ (s * (p - y)) + reg @ w
        hess = (x1 * (s * p * (1 - p))[:, None]).T @ x1 + reg + np.eye(len(w)) * 1e-9
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return float(w[0]), [float(v) for v in w[1:]]


def _features(cand: Candidates, j: int) -> Features:
    """The calibration's features of candidate `j`."""
    return (float(cand.dense[j] - cand.reference), float(cand.agree[j]), float(cand.coverage[j]),
            float(cand.sentence[j] - cand.sentence_reference))


def _add_query(target: CalibrationSet, searcher: Searcher, query: str, vector: np.ndarray,
               relevant: np.ndarray | None) -> None:
    """The rows of one query: `relevant` are the chunk rows that answer it (None: unanswerable)."""
    index = searcher.index
    config = searcher.retrieval
    cand = candidates(index, query, vector, config.pool, config)
    order = np.argsort(-cand.fused, kind="stable")
    top = int(order[0])
    first = _features(cand, top)
    target.features.append(first)
    target.labels.append(0 if relevant is None else 1)
    target.as_asked.append(True)
    if relevant is None:
        return
    answers = set(relevant.tolist())
    target.below.append((first, [(float(cand.fused[j] - cand.fused[top]), int(cand.ids[j]) in answers)
                                 for j in order[1:DECAY_DEPTH]]))
    rest = np.setdiff1d(np.arange(len(index.chunks), dtype=np.int64), relevant)
    if not len(rest):
        return
    removed = candidates(index, query, vector, config.pool, config, allowed=rest)
    j = int(np.argmax(removed.fused))
    target.features.append(_features(removed, j))
    target.labels.append(0)
    target.as_asked.append(False)


def beir_set(dataset: BeirDataset, searcher: Searcher, name: str = "beir") -> CalibrationSet:
    """The training rows of a BEIR split (every query is answerable: its qrels are its answers)."""
    rows = searcher.index.rows_by_source
    qids = list(dataset.queries)
    vectors = searcher.embedder.embed_queries([searcher.searched_as(dataset.queries[q]) for q in qids])
    out = CalibrationSet(name)
    for qid, vector in zip(qids, vectors, strict=True):
        answers = np.asarray([int(r) for doc in dataset.qrels.get(qid, {}) for r in rows.get(doc, [])], dtype=np.int64)
        _add_query(out, searcher, dataset.queries[qid], np.asarray(vector, dtype=np.float32), answers)
    return out


def notes_set(queries: Sequence[EvalQuery], searcher: Searcher, name: str) -> CalibrationSet:
    """The training rows of a notes query set: a passage answers a query when it holds one of the
    query's answer spans (the scorer's rule, `evaluation.queries`)."""
    texts = [normalize(chunk.text) for chunk in searcher.index.chunks]
    vectors = searcher.embedder.embed_queries([searcher.searched_as(q.query.strip()) for q in queries])
    out = CalibrationSet(name)
    for q, vector in zip(queries, vectors, strict=True):
        relevant = None
        if q.answerable:
            spans = [normalize(a) for a in q.answers]
            relevant = np.asarray([i for i, t in enumerate(texts) if any(s in t for s in spans)], dtype=np.int64)
        _add_query(out, searcher, q.query.strip(), np.asarray(vector, dtype=np.float32), relevant)
    return out


def _decay(sets: Sequence[CalibrationSet], bias: float, weights: Sequence[float]) -> float:
    """The decay that best predicts which of ranks 2-10 answer, every set weighing the same."""
    grid = np.linspace(0.0, 8.0, 161)
    loss = np.zeros(len(grid))
    for calibration_set in sets:
        offsets, gaps, relevant = [], [], []
        for first, rows in calibration_set.below:
            logit = bias + float(np.dot(weights, first))
            for gap, rel in rows:
                offsets.append(logit)
                gaps.append(gap)
                relevant.append(rel)
        if not offsets:
            continue
        z = np.asarray(offsets)[None, :] + grid[:, None] * np.asarray(gaps)[None, :]
        y = np.asarray(relevant, dtype=np.float64)
        p = np.clip(1.0 / (1.0 + np.exp(-np.clip(z, -50, 50))), 1e-12, 1 - 1e-12)
        loss += -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(axis=1)
    return float(grid[int(np.argmin(loss))])


def fit_sets(sets: Sequence[CalibrationSet], *, fitted_on: str) -> Calibration:
    """One calibration for all `sets`, each set (and within it each label) weighing the same."""
    features = [f for s in sets for f in s.features]
    labels = [y for s in sets for y in s.labels]
    weights: list[float] = []
    for s in sets:
        for label in s.labels:
            same = sum(y == label for y in s.labels)
            weights.append(len(features) / (2 * len(sets) * same))
    bias, (w_gap, w_agree, w_coverage, w_sentence_gap) = fit_logistic(features, labels, weights=weights)
    decay = _decay(sets, bias, (w_gap, w_agree, w_coverage, w_sentence_gap))
    return Calibration(round(bias, 4), round(w_gap, 4), round(w_agree, 4), round(w_coverage, 4),
                       round(w_sentence_gap, 4), decay=round(decay, 2), fitted_on=fitted_on)


def choose_threshold(sets: Sequence[CalibrationSet], calibration: Calibration) -> float:
    """The highest threshold (to 0.01) that refuses at most `MAX_REFUSED` of every set's answerable
    queries as asked."""
    limit = 1.0
    for s in sets:
        answered = sorted(_probability(calibration, f) for f, y, asked in zip(s.features, s.labels, s.as_asked,
                                                                              strict=True) if y == 1 and asked)
        if answered:
            limit = min(limit, answered[int(np.floor(MAX_REFUSED * len(answered)))])
    return float(np.floor(limit * 100) / 100)


def _probability(calibration: Calibration, features: Features) -> float:
    gap, agree, coverage, sentence_gap = (np.asarray([v]) for v in features)
    return float(calibration.probability(gap, agree, coverage, sentence_gap)[0])


def set_report(s: CalibrationSet, calibration: Calibration, threshold: float) -> str:
    """One line per set: separation of answerable from unanswerable top scores (as asked, else
    against the answers-removed rows), unanswerable abstained and answerable kept at `threshold`."""
    scores = [_probability(calibration, f) for f in s.features]
    answered = [p for p, y, asked in zip(scores, s.labels, s.as_asked, strict=True) if y == 1 and asked]
    natural = [p for p, y, asked in zip(scores, s.labels, s.as_asked, strict=True) if y == 0 and asked]
    negatives, kind = (natural, "unanswerable") if natural else (
        [p for p, asked in zip(scores, s.as_asked, strict=True) if not asked], "answers removed")
    wins = sum((a > u) + 0.5 * (a == u) for a in answered for u in negatives)
    separation = wins / (len(answered) * len(negatives)) if answered and negatives else float("nan")
    abstained = sum(p < threshold for p in negatives)
    kept = sum(p >= threshold for p in answered)
    return (f"{s.name}: separation {separation:.3f} (vs {kind}); at {threshold:.2f}: {abstained}/{len(negatives)} "
            f"{kind} abstained, {kept}/{len(answered)} answerable kept")


def fit_calibration(folder: Path, embedder: Embedder, cache_dir: Path, *, split: str = "train",
                    chunking: DocChunking = "whole", retrieval: RetrievalConfig | None = None,
                    notes: Sequence[tuple[Searcher, Sequence[EvalQuery], str]] = ()) -> tuple[Calibration, str]:
    """A calibration fitted on a BEIR split's queries (use training queries only) and any notes
    query sets (searcher, queries, name), with the chosen threshold and a per-set report."""
    dataset = load_dataset(folder, split=split)
    index_dir = build_beir_index(dataset, embedder, cache_dir / "beir", chunking=chunking)
    searcher = Searcher.open(index_dir, embedder, retrieval=retrieval)
    sets = [beir_set(dataset, searcher, f"{folder.name}/{split}")]
    sets += [notes_set(queries, notes_searcher, name) for notes_searcher, queries, name in notes]
    calibration = fit_sets(sets, fitted_on=" + ".join(s.name for s in sets))
    threshold = choose_threshold(sets, calibration)
    lines = [f"threshold refusing at most {MAX_REFUSED:.0%} of any set's answerable queries: {threshold:.2f}"]
    lines += [set_report(s, calibration, threshold) for s in sets]
    return calibration, "\n".join(lines)
