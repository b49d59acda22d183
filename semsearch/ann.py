"""Which FAISS index a build uses: exact search for small corpora, HNSW graphs for large ones.

An index type is a FAISS factory string plus search parameters after `|`, e.g. `Flat` or
`HNSW32,Flat|efSearch=128`. It is recorded in the manifest and the parameters are set again on
load (`apply_search_params`), so a build searches the way it was measured. All indexes use inner
product over L2-normalized vectors (cosine similarity).
"""

from __future__ import annotations

import logging
import time

import faiss
import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

FLAT = "Flat"
FLAT_LIMIT = 50_000  # exact search below this; see BENCHMARKS.md for Flat vs HNSW latency
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 64
HNSW_EF_SEARCH = 128  # recall@10 0.99 at 1M clustered vectors (0.956 at 64)


def choose_index_type(count: int, *, flat_limit: int | None = None) -> str:
    """`Flat` (exact) for fewer than `flat_limit` (FLAT_LIMIT) vectors, else HNSW tuned for recall."""
    if count < (FLAT_LIMIT if flat_limit is None else flat_limit):
        return FLAT
    return f"HNSW{HNSW_M},Flat|efSearch={HNSW_EF_SEARCH}"


def _split(index_type: str) -> tuple[str, dict[str, float]]:
    factory, _, params = index_type.partition("|")
    values: dict[str, float] = {}
    for item in filter(None, params.split(",")):
        name, _, value = item.partition("=")
        values[name.strip()] = float(value)
    return factory.strip(), values


def build_index(vectors: npt.NDArray[np.float32], index_type: str) -> faiss.Index:
    """A trained, filled inner-product index of `index_type` over `vectors` (n x dim)."""
    factory, params = _split(index_type)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = int(vectors.shape[1])
    started = time.perf_counter()
    if factory == FLAT:
        index: faiss.Index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
        if isinstance(index, faiss.IndexHNSW):
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    if not index.is_trained:
        index.train(vectors)
    if len(vectors):
        index.add(vectors)
    _set(index, params)
    logger.info("built %s over %d vectors in %.1fs", index_type, len(vectors), time.perf_counter() - started)
    return index


def apply_search_params(index: faiss.Index, index_type: str) -> None:
    """Set the search parameters recorded in `index_type` (efSearch, nprobe) on a loaded index."""
    _set(index, _split(index_type)[1])


def _set(index: faiss.Index, params: dict[str, float]) -> None:
    space = faiss.ParameterSpace()
    for name, value in params.items():
        space.set_index_parameter(index, name, value)


def recall_at_k(found: npt.NDArray[np.int64], exact: npt.NDArray[np.int64], k: int = 10) -> float:
    """Mean share of the exact top-k ids that `found` also returns in its top k."""
    hits = sum(len(set(f[:k]) & set(e[:k])) for f, e in zip(found, exact, strict=True))
    return hits / (k * len(exact)) if len(exact) else 1.0
