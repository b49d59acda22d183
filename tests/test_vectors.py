"""Vector store choice by corpus size, HNSW recall on clustered vectors, and the manifest round trip
(the VectorStore contract itself: tests/contracts/test_vector_stores.py)."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

import semsearch.index.vectors as ann
from semsearch.evaluation.recall import recall_at_k
from semsearch.index.loader import load_current
from semsearch.index.writer import write_build
from semsearch.records import Chunk


def clustered(n: int, dim: int = 64, clusters: int = 50, seed: int = 0) -> np.ndarray:
    """Unit vectors around random centres: shaped like embeddings, unlike uniform noise."""
    centres = np.random.default_rng(1234).normal(size=(clusters, dim))  # shared by data and queries
    rng = np.random.default_rng(seed)
    x = centres[rng.integers(0, clusters, n)] + 0.35 * rng.normal(size=(n, dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def test_small_corpora_are_exact_and_large_ones_use_hnsw() -> None:
    assert ann.choose_store_type(10) == "Flat"
    assert ann.choose_store_type(ann.FLAT_LIMIT - 1) == "Flat"
    assert ann.choose_store_type(ann.FLAT_LIMIT).startswith("HNSW32,Flat|efSearch=")
    assert ann.choose_store_type(500, flat_limit=100).startswith("HNSW")


def test_hnsw_recall_at_10_on_clustered_vectors() -> None:
    data = clustered(10_000)
    queries = clustered(200, seed=1)
    store = ann.FaissStore(data.shape[1], ann.choose_store_type(len(data), flat_limit=1000))
    store.add(np.arange(len(data)), data)
    exact = ann.NumpyStore(data.shape[1])
    exact.add(np.arange(len(data)), data)
    found = store.search(queries, 10)[1]
    truth = exact.search(queries, 10)[1]
    assert recall_at_k(found, truth, 10) >= 0.95


def test_flat_store_is_exact() -> None:
    data = clustered(300)
    store = ann.FaissStore(data.shape[1], "Flat")
    store.add(np.arange(len(data)), data)
    scores, ids = store.search(data[:3], 5)
    brute = data[:3] @ data.T
    assert np.allclose(scores, np.sort(brute, axis=1)[:, ::-1][:, :5], atol=1e-5)
    assert list(ids[:, 0]) == [0, 1, 2]


def _chunks(n: int) -> list[Chunk]:
    return [Chunk(f"c{i}", "a.md", ("A",), i + 1, i + 1, f"text {i}", f"text {i}") for i in range(n)]


@pytest.mark.parametrize(("limit", "kind"), [(10_000, "Flat"), (100, "HNSW")])
def test_manifest_records_the_type_and_load_restores_search_params(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int, kind: str
) -> None:
    monkeypatch.setattr(ann, "FLAT_LIMIT", limit)
    vectors = clustered(600)
    manifest = write_build(tmp_path, _chunks(600), vectors, model_name="m", chunking={}, file_count=1)
    assert manifest.vector_store.startswith(kind)
    build = load_current(tmp_path, model_name="m", dim=64)
    assert build.vectors.describe() == manifest.vector_store
    if kind == "HNSW":
        assert isinstance(build.vectors, ann.FaissStore)
        index = faiss.downcast_index(build.vectors._index.index)
        assert index.hnsw.efSearch == ann.HNSW_EF_SEARCH
    ids = build.vectors.search(vectors[:20], 1)[1][:, 0]
    assert list(ids) == list(range(20))


def test_recall_at_k_counts_overlap() -> None:
    found = np.array([[1, 2, 3], [4, 5, 6]])
    truth = np.array([[1, 2, 9], [4, 5, 6]])
    assert recall_at_k(found, truth, 3) == pytest.approx(5 / 6)
