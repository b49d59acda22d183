"""Recall of an approximate vector store against exact search (bench/ann_bench.py, tests)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def recall_at_k(found: npt.NDArray[np.int64], exact: npt.NDArray[np.int64], k: int = 10) -> float:
    """Mean share of the exact top-k ids that `found` also returns in its top k (padding ids -1,
    past the end of a small store, are not ids)."""
    shares = []
    for f, e in zip(found, exact, strict=True):
        truth = {int(i) for i in e[:k] if i >= 0}
        if truth:
            shares.append(len(truth & {int(i) for i in f[:k]}) / len(truth))
    return sum(shares) / len(shares) if shares else 1.0
