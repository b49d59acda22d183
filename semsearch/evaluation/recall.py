"""Recall of an approximate vector store against exact search (bench/ann_bench.py, tests)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def recall_at_k(found: npt.NDArray[np.int64], exact: npt.NDArray[np.int64], k: int = 10) -> float:
    """Mean share of the exact top-k ids that `found` also returns in its top k."""
    hits = sum(len(set(f[:k]) & set(e[:k])) for f, e in zip(found, exact, strict=True))
    return hits / (k * len(exact)) if len(exact) else 1.0
