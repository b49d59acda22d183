"""Calibrated scores: P(passage answers the query) from the dense cosine and the query-normalized
BM25 score, by logistic regression fitted on the top hit of each BEIR SciFact *training* query
(never on the notes query set): the question abstention asks is "does the best passage answer?".
The same number means the same thing for every query, so one threshold decides when to say
"nothing in your notes answers this". Shown scores never rise down a result list.

Refit with `semsearch eval --beir DIR --split train --fit-calibration` (see docs/quality.md).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Calibration:
    """P(relevant) = sigmoid(bias + w_dense * cosine + w_lexical * bm25 / ceiling)."""

    bias: float
    w_dense: float
    w_lexical: float
    fitted_on: str = ""

    def probability(self, dense: float, lexical: float) -> float:
        z = self.bias + self.w_dense * dense + self.w_lexical * lexical
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


# Fitted per model (see module docstring); unknown models get the MiniLM fit, a rough guide.
CALIBRATIONS: dict[str, Calibration] = {
    "sentence-transformers/all-MiniLM-L6-v2": Calibration(
        bias=-3.7002, w_dense=3.6105, w_lexical=12.1335,
        fitted_on="scifact/train: top hit of 809 queries (blend fusion), 499 relevant"),
}
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def calibration_for(model_name: str) -> Calibration:
    known = CALIBRATIONS.get(model_name)
    if known is None:
        logger.info("no score calibration for %s; using the %s one", model_name, DEFAULT_MODEL)
        return CALIBRATIONS[DEFAULT_MODEL]
    return known


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
