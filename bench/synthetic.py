"""Synthetic vectors for the vector-store benchmarks (`ann_bench.py`, `filtered_search.py`)."""

from __future__ import annotations

import numpy as np


def clustered(n: int, dim: int, *, seed: int, clusters: int = 1000) -> np.ndarray:
    """Unit vectors around shared random centres: a Gaussian mixture, embedding-like (uniform noise
    is not). The centres are the same for every seed, so data and queries share them."""
    centres = np.random.default_rng(1234).normal(size=(clusters, dim)).astype(np.float32)
    rng = np.random.default_rng(seed)
    x = centres[rng.integers(0, clusters, n)] + 0.6 * rng.normal(size=(n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x
