"""One contract for every `VectorStore`, checked against `NumpyStore`, the brute-force oracle.

Add a store to `STORES` (docs/architecture.md, "Where to add"). Exact stores must give the oracle's
ids and scores; approximate ones (HNSW) must reach recall@10 >= 0.95 against it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pytest

import semsearch.index.vectors as vectors_module
from semsearch.evaluation.recall import recall_at_k
from semsearch.index.vectors import FLAT, FaissStore, NumpyStore, VectorStore, choose_store_type, gpu_count, load_store

DIM = 32
N = 2000
K = 10
QUERIES = 64
MIN_RECALL = 0.95
SCORE_TOLERANCE = 1e-5

FloatArray = npt.NDArray[np.float32]
IdArray = npt.NDArray[np.int64]

HNSW = choose_store_type(N, flat_limit=0)  # HNSW32,Flat|efSearch=128


@dataclass(frozen=True)
class StoreCase:
    """How to make an empty store of `dim` dimensions, and whether its search is exact."""

    name: str
    make: Callable[[int], VectorStore]
    exact: bool


def _has_gpu() -> bool:
    try:
        return gpu_count() > 0
    except ImportError:
        return False


STORES = [
    pytest.param(StoreCase("numpy", NumpyStore, exact=True), id="numpy"),
    pytest.param(StoreCase("faiss-flat", lambda dim: FaissStore(dim, FLAT, use_gpu=False), exact=True),
                 id="faiss-flat"),
    pytest.param(StoreCase("faiss-hnsw", lambda dim: FaissStore(dim, HNSW, use_gpu=False), exact=False),
                 id="faiss-hnsw"),
    pytest.param(StoreCase("faiss-flat-gpu", lambda dim: FaissStore(dim, FLAT, use_gpu=True), exact=True),
                 id="faiss-flat-gpu",
                 marks=pytest.mark.skipif(not _has_gpu(), reason="faiss sees no GPU (faiss-cpu or no device)")),
]


def normalized(rows: int, seed: int) -> FloatArray:
    vectors = np.random.default_rng(seed).normal(size=(rows, DIM)).astype(np.float32)
    out: FloatArray = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return out


CORPUS = normalized(N, seed=1)
IDS: IdArray = np.arange(N, dtype=np.int64)
QUERY_VECTORS = normalized(QUERIES, seed=2)


def filled(case: StoreCase, ids: IdArray = IDS, vectors: FloatArray = CORPUS) -> VectorStore:
    store = case.make(DIM)
    store.add(ids, vectors)
    return store


@pytest.fixture(scope="module")
def oracle() -> NumpyStore:
    store = NumpyStore(DIM)
    store.add(IDS, CORPUS)
    return store


@pytest.fixture(scope="module", params=STORES)
def case(request: pytest.FixtureRequest) -> StoreCase:
    found: StoreCase = request.param
    return found


@pytest.fixture(scope="module")
def store(case: StoreCase) -> VectorStore:
    """The corpus in the store under test (read-only: tests that add build their own)."""
    return filled(case)


def assert_like_oracle(case: StoreCase, found: tuple[FloatArray, IdArray], exact: tuple[FloatArray, IdArray],
                       *, exact_search: bool = False) -> None:
    """Exact stores (and exact searches of any store): the oracle's ids and scores. Approximate ones:
    recall@K against it (where the oracle finds K ids: `recall_at_k` counts a -1 pad as an id)."""
    scores, ids = found
    if case.exact or exact_search:
        np.testing.assert_array_equal(ids, exact[1])
        np.testing.assert_allclose(scores, exact[0], atol=SCORE_TOLERANCE, rtol=0)
    else:
        recall = recall_at_k(ids, exact[1], K)
        assert recall >= MIN_RECALL, f"recall@{K} {recall:.3f} < {MIN_RECALL}"


def assert_well_formed(scores: FloatArray, ids: IdArray, queries: int, k: int) -> None:
    """(queries x k) float32 scores and int64 ids, best first, -1 ids only after the real ones."""
    assert scores.shape == ids.shape == (queries, k)
    assert scores.dtype == np.float32 and ids.dtype == np.int64
    for row_scores, row_ids in zip(scores, ids, strict=True):
        real = row_ids >= 0
        assert np.all(row_ids[~real] == -1), row_ids
        count = int(real.sum())
        assert real[:count].all(), f"a -1 id before a real one: {row_ids}"
        assert len(set(row_ids[:count].tolist())) == count, f"an id twice: {row_ids}"
        assert np.all(np.diff(row_scores[:count]) <= 1e-6), f"not best first: {row_scores}"


def test_is_a_vector_store(store: VectorStore) -> None:
    assert isinstance(store, VectorStore)
    assert store.dim == DIM


def test_count_after_add(case: StoreCase) -> None:
    store = case.make(DIM)
    assert store.count() == 0
    store.add(IDS[:100], CORPUS[:100])
    assert store.count() == 100
    store.add(IDS[100:150], CORPUS[100:150])
    assert store.count() == 150


def test_search_returns_scores_and_ids_best_first(store: VectorStore) -> None:
    scores, ids = store.search(QUERY_VECTORS, K)
    assert_well_formed(scores, ids, QUERIES, K)
    assert (ids >= 0).all()


def test_a_stored_vector_finds_itself_first(store: VectorStore) -> None:
    rows = np.arange(0, N, 97)
    scores, ids = store.search(CORPUS[rows], K)
    np.testing.assert_array_equal(ids[:, 0], IDS[rows])
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=SCORE_TOLERANCE)


def test_results_past_the_end_are_padded_with_minus_one(case: StoreCase) -> None:
    store = filled(case, IDS[:5], CORPUS[:5])
    scores, ids = store.search(QUERY_VECTORS[:3], 8)
    assert_well_formed(scores, ids, 3, 8)
    assert (ids[:, 5:] == -1).all()
    assert {frozenset(row[:5].tolist()) for row in ids} == {frozenset(range(5))}


def test_an_empty_store_returns_only_minus_one(case: StoreCase) -> None:
    scores, ids = case.make(DIM).search(QUERY_VECTORS[:2], K)
    assert_well_formed(scores, ids, 2, K)
    assert (ids == -1).all()


def test_search_matches_the_oracle(case: StoreCase, store: VectorStore, oracle: NumpyStore) -> None:
    assert_like_oracle(case, store.search(QUERY_VECTORS, K), oracle.search(QUERY_VECTORS, K))


def _allowed(size: int, seed: int) -> IdArray:
    return np.sort(np.random.default_rng(seed).choice(N, size=size, replace=False)).astype(np.int64)


@pytest.mark.parametrize(("size", "limit"), [
    (3, None),  # tiny: 3 ids out of 2000
    (K, None),  # exactly k
    (500, None),  # at most EXACT_ALLOWED_LIMIT: the exact filtered path
    (1000, 100),  # above the (lowered) limit: the store's own filtered search, half the ids
    (150, 100),  # above the limit and sparse: 7.5% of the ids
], ids=["tiny-3", "exactly-k", "below-limit-500", "above-limit-half", "above-limit-sparse"])
def test_allowed_ids_only_and_k_of_them_when_there_are_k(
        case: StoreCase, store: VectorStore, oracle: NumpyStore, monkeypatch: pytest.MonkeyPatch,
        size: int, limit: int | None) -> None:
    if limit is not None:
        monkeypatch.setattr(vectors_module, "EXACT_ALLOWED_LIMIT", limit)
        assert size > vectors_module.EXACT_ALLOWED_LIMIT
    allowed = _allowed(size, seed=size)
    scores, ids = store.search(QUERY_VECTORS, K, allowed=allowed)
    assert_well_formed(scores, ids, QUERIES, K)
    real = ids[ids >= 0]
    assert np.isin(real, allowed).all(), f"ids outside `allowed`: {sorted(set(real[~np.isin(real, allowed)]))}"
    returned = (ids >= 0).sum(axis=1)
    assert (returned == min(K, size)).all(), f"results per query: {sorted(set(returned.tolist()))}, want {min(K, size)}"
    exact_path = size <= vectors_module.EXACT_ALLOWED_LIMIT  # "a filtered search over at most this many ids is exact"
    assert_like_oracle(case, (scores, ids), oracle.search(QUERY_VECTORS, K, allowed=allowed), exact_search=exact_path)


def test_allowed_ids_the_store_lacks_are_ignored(store: VectorStore) -> None:
    allowed = np.array([3, 5, 7, N + 10, 10**9], dtype=np.int64)
    scores, ids = store.search(QUERY_VECTORS[:4], K, allowed=allowed)
    assert_well_formed(scores, ids, 4, K)
    assert {frozenset(row[:3].tolist()) for row in ids} == {frozenset({3, 5, 7})}
    assert (ids[:, 3:] == -1).all()


def test_an_empty_allowed_set_returns_only_minus_one(store: VectorStore) -> None:
    scores, ids = store.search(QUERY_VECTORS[:4], K, allowed=np.zeros(0, dtype=np.int64))
    assert_well_formed(scores, ids, 4, K)
    assert (ids == -1).all()


def test_vectors_returns_the_stored_vectors(case: StoreCase, store: VectorStore) -> None:
    wanted = np.array([7, 0, N - 1, 500, 7], dtype=np.int64)  # any order, repeats allowed
    got = store.vectors(wanted)
    assert got.shape == (len(wanted), DIM) and got.dtype == np.float32
    if case.exact:
        np.testing.assert_array_equal(got, CORPUS[wanted])
    else:
        np.testing.assert_allclose(got, CORPUS[wanted], atol=1e-6)
    assert store.vectors(np.zeros(0, dtype=np.int64)).shape == (0, DIM)


def test_vectors_of_an_unknown_id_is_a_key_error(store: VectorStore) -> None:
    with pytest.raises(KeyError):
        store.vectors(np.array([N + 5], dtype=np.int64))
    with pytest.raises(KeyError):
        store.vectors(np.array([1, N + 5], dtype=np.int64))


def test_non_sequential_ids(case: StoreCase) -> None:
    first = np.array([10, 500, 7], dtype=np.int64)
    later = np.array([3, 100_000], dtype=np.int64)
    store = filled(case, first, CORPUS[:3])
    store.add(later, CORPUS[3:5])
    assert store.count() == 5
    everything = np.concatenate([first, later])
    scores, ids = store.search(CORPUS[:5], K)
    assert_well_formed(scores, ids, 5, K)
    np.testing.assert_array_equal(ids[:, 0], everything)  # each vector finds its own id first
    assert {frozenset(row[:5].tolist()) for row in ids} == {frozenset(everything.tolist())}
    assert (ids[:, 5:] == -1).all()
    np.testing.assert_array_equal(store.vectors(np.array([500, 100_000, 7], dtype=np.int64)), CORPUS[[1, 4, 2]])
    _, found = store.search(CORPUS[:5], 2, allowed=np.array([7, 100_000], dtype=np.int64))
    assert {frozenset(row.tolist()) for row in found} == {frozenset({7, 100_000})}


def test_to_bytes_and_load_store_round_trip(case: StoreCase, store: VectorStore) -> None:
    description = store.describe()
    assert isinstance(description, str) and description
    loaded = load_store(store.to_bytes(), description)
    assert isinstance(loaded, VectorStore)
    assert loaded.describe() == description
    assert loaded.dim == DIM and loaded.count() == store.count()
    for allowed in (None, _allowed(500, seed=5)):
        before = store.search(QUERY_VECTORS, K, allowed=allowed)
        after = loaded.search(QUERY_VECTORS, K, allowed=allowed)
        np.testing.assert_array_equal(after[1], before[1])  # the same search parameters (efSearch) after loading
        np.testing.assert_allclose(after[0], before[0], atol=SCORE_TOLERANCE, rtol=0)
    np.testing.assert_array_equal(loaded.vectors(IDS[:20]), store.vectors(IDS[:20]))


def test_a_loaded_store_takes_more_vectors(case: StoreCase) -> None:
    store = filled(case, IDS[:100], CORPUS[:100])
    loaded = load_store(store.to_bytes(), store.describe())
    loaded.add(IDS[100:120], CORPUS[100:120])
    assert loaded.count() == 120
    _, ids = loaded.search(CORPUS[110:111], 1)
    assert ids[0, 0] == 110


def test_an_id_already_in_the_store_is_refused(case: StoreCase) -> None:
    store = filled(case)
    with pytest.raises(ValueError, match="distinct and new"):
        store.add(IDS[:2], CORPUS[:2])
    with pytest.raises(ValueError, match="distinct and new"):
        store.add(np.asarray([10**6, 10**6], dtype=np.int64), CORPUS[:2])
    assert store.count() == len(IDS)
