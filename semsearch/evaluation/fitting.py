"""Fitting the score calibration (`ranking.calibration`) on a BEIR split's training queries:
`semsearch eval --beir DIR --split train --fit-calibration`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..embedders import Embedder
from ..ranking.calibration import Calibration
from ..ranking.fusion import RetrievalConfig, candidates
from ..search import Searcher
from .beir import BeirDataset, DocChunking, build_beir_index, load_dataset


def fit_logistic(features: Sequence[Sequence[float]], labels: Sequence[int], *,
                 l2: float = 1e-3, iterations: int = 50) -> tuple[float, list[float]]:
    """(bias, weights) of an L2-regularized logistic regression, by Newton's method."""
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    x1 = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(x1.shape[1])
    reg = np.eye(x1.shape[1]) * l2
    reg[0, 0] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(x1 @ w, -50, 50)))
        grad = x1.T @ (p - y) + reg @ w
        hess = (x1 * (p * (1 - p))[:, None]).T @ x1 + reg + np.eye(len(w)) * 1e-9
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return float(w[0]), [float(v) for v in w[1:]]


def calibration_data(dataset: BeirDataset, searcher: Searcher) -> tuple[list[tuple[float, float, float]], list[int]]:
    """(gap, agree, coverage) of each query's top fused candidate, as asked (label 1: the corpus
    answers it) and with its relevant documents removed from the corpus (label 0): the training
    data of `fit_logistic`."""
    index = searcher.index
    every = np.arange(len(index.chunks), dtype=np.int64)
    rows = index.rows_by_source
    qids = list(dataset.queries)
    vectors = searcher.embedder.embed_queries([dataset.queries[q] for q in qids])
    features: list[tuple[float, float, float]] = []
    labels: list[int] = []
    for qid, vector in zip(qids, vectors, strict=True):
        answers = [int(row) for doc in dataset.qrels.get(qid, {}) for row in rows.get(doc, [])]
        for label, allowed in ((1, None), (0, np.setdiff1d(every, answers))):
            cand = candidates(index, dataset.queries[qid], np.asarray(vector, dtype=np.float32),
                              searcher.retrieval.pool, searcher.retrieval, allowed=allowed)
            j = int(np.argmax(cand.fused))
            features.append((float(cand.dense[j] - cand.reference), float(cand.agree[j]),
                             float(cand.coverage[j])))
            labels.append(label)
    return features, labels


def fit_calibration(folder: Path, embedder: Embedder, cache_dir: Path, *, split: str = "train",
                    chunking: DocChunking = "whole", retrieval: RetrievalConfig | None = None) -> Calibration:
    """A score calibration fitted on a BEIR split's queries (use training queries only)."""
    dataset = load_dataset(folder, split=split)
    index_dir = build_beir_index(dataset, embedder, cache_dir / "beir", chunking=chunking)
    searcher = Searcher.open(index_dir, embedder, retrieval=retrieval)
    features, labels = calibration_data(dataset, searcher)
    bias, (w_gap, w_agree, w_coverage) = fit_logistic(features, labels)
    return Calibration(bias, w_gap, w_agree, w_coverage, fitted_on=f"{folder.name}/{split}")
