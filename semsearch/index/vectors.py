"""Vector stores: vectors by integer id, searched by inner product (cosine over L2-normalized vectors).

`VectorStore` is the one interface ranking uses. `FaissStore` is the real one: exact search
(`Flat`) for small corpora, an HNSW graph for large ones, on the GPU when faiss-gpu sees one.
`NumpyStore` is brute force in NumPy: the test fake and the oracle that `FaissStore` is checked
against (tests/contracts/test_vector_stores.py runs one contract suite on both).

A FAISS store is described by a factory string plus search parameters after `|`, e.g. `Flat` or
`HNSW32,Flat|efSearch=128`. The description is recorded in the manifest and the parameters are
set again on load, so a build searches the way it was measured.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]
IdArray = npt.NDArray[np.int64]

FLAT = "Flat"
NUMPY = "numpy"
FLAT_LIMIT = 50_000  # exact search below this; see BENCHMARKS.md for Flat vs HNSW latency
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 64
HNSW_EF_SEARCH = 128  # recall@10 0.99 at 1M clustered vectors (0.956 at 64)
EXACT_ALLOWED_LIMIT = 20_000  # a filtered search over at most this many ids is exact
EXACT_GATHER_LIMIT = 2_000  # up to this many, by a product over copies of their vectors; above, in FAISS


@runtime_checkable
class VectorSearch(Protocol):
    """Vectors by id, searched; `search` returns the best inner products, padded with id -1 past
    the end. What ranking uses of a build's vectors (one store, or several segments' as one)."""

    dim: int

    def count(self) -> int:
        """How many vectors the store holds."""
        ...

    def search(self, queries: FloatArray, k: int, *, allowed: IdArray | None = None) -> tuple[FloatArray, IdArray]:
        """(scores, ids), each (queries x k), best first; only ids in `allowed` when it is given."""
        ...

    def vectors(self, ids: IdArray) -> FloatArray:
        """The stored vectors of `ids` (KeyError for an id not in the store)."""
        ...

    def describe(self) -> str:
        """What the manifest records, e.g. `Flat` or `HNSW32,Flat|efSearch=128`."""
        ...


@runtime_checkable
class VectorStore(VectorSearch, Protocol):
    """A vector store one writes: `VectorSearch`, filled with `add` and saved with `to_bytes`."""

    def add(self, ids: IdArray, vectors: FloatArray) -> None:
        """Add `vectors` (n x dim) under `ids` (n, distinct, not yet in the store)."""
        ...

    def to_bytes(self) -> bytes:
        """The store serialized (read back with `load_store`)."""
        ...


def _padded(scores: FloatArray, ids: IdArray, k: int) -> tuple[FloatArray, IdArray]:
    """Rows of length k: the given (1-D, best first) results, then -inf / -1."""
    out_scores = np.full(k, -np.inf, dtype=np.float32)
    out_ids = np.full(k, -1, dtype=np.int64)
    out_scores[: len(scores)], out_ids[: len(ids)] = scores[:k], ids[:k]
    return out_scores, out_ids


def best_k(scores: FloatArray, ids: IdArray, k: int) -> tuple[FloatArray, IdArray]:
    """The k best of (`scores`, `ids`), best first, ties to the lower id, padded with -inf / -1."""
    order = np.lexsort((ids, -scores))[:k]
    return _padded(scores[order], ids[order], k)


def exact_top_k(queries: FloatArray, vectors: FloatArray, ids: IdArray, k: int) -> tuple[FloatArray, IdArray]:
    """Brute-force inner-product top k of `queries` over (`ids`, `vectors`); ties go to the lower id."""
    queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
    all_scores = np.zeros((len(queries), k), dtype=np.float32)
    all_ids = np.zeros((len(queries), k), dtype=np.int64)
    for row, query in enumerate(queries):
        scores = vectors @ query if len(ids) else np.zeros(0, dtype=np.float32)
        all_scores[row], all_ids[row] = best_k(scores, ids, k)
    return all_scores, all_ids


class NumpyStore:
    """Brute force over a float32 matrix: exact, simple, and the oracle of the contract tests."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._ids = np.zeros(0, dtype=np.int64)
        self._vectors = np.zeros((0, dim), dtype=np.float32)
        self._row: dict[int, int] = {}

    def count(self) -> int:
        return len(self._ids)

    def add(self, ids: IdArray, vectors: FloatArray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        if len(set(ids.tolist())) != len(ids) or any(int(i) in self._row for i in ids):
            raise ValueError("ids must be distinct and new to the store")
        self._row.update((int(i), len(self._ids) + n) for n, i in enumerate(ids))
        self._ids = np.concatenate([self._ids, ids])
        self._vectors = np.vstack([self._vectors, vectors])

    def search(self, queries: FloatArray, k: int, *, allowed: IdArray | None = None) -> tuple[FloatArray, IdArray]:
        if allowed is None:
            return exact_top_k(queries, self._vectors, self._ids, k)
        rows = np.asarray([self._row[int(i)] for i in np.unique(allowed) if int(i) in self._row], dtype=np.int64)
        return exact_top_k(queries, self._vectors[rows], self._ids[rows], k)

    def vectors(self, ids: IdArray) -> FloatArray:
        return self._vectors[[self._row[int(i)] for i in ids]]

    def describe(self) -> str:
        return NUMPY

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, ids=self._ids, vectors=self._vectors)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> NumpyStore:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            ids, vectors = arrays["ids"], arrays["vectors"]
        store = cls(int(vectors.shape[1]))
        store.add(ids, vectors)
        return store


def choose_store_type(count: int, *, flat_limit: int | None = None) -> str:
    """`Flat` (exact) for fewer than `flat_limit` (FLAT_LIMIT) vectors, else HNSW tuned for recall."""
    if count < (FLAT_LIMIT if flat_limit is None else flat_limit):
        return FLAT
    return f"HNSW{HNSW_M},Flat|efSearch={HNSW_EF_SEARCH}"


def _split(description: str) -> tuple[str, dict[str, float]]:
    factory, _, params = description.partition("|")
    values: dict[str, float] = {}
    for item in filter(None, params.split(",")):
        name, _, value = item.partition("=")
        values[name.strip()] = float(value)
    return factory.strip(), values


def gpu_count() -> int:
    """GPUs faiss can use (0 with faiss-cpu)."""
    import faiss

    return int(faiss.get_num_gpus()) if hasattr(faiss, "get_num_gpus") else 0


class FaissStore:
    """A FAISS index inside an `IndexIDMap2` (ids are the caller's; the file is a standard FAISS
    index). Searches run on the inner index and translate its positions to ids in NumPy: the ID map's
    own search translates them in an OpenMP loop, which costs milliseconds per query on a busy
    machine. On a machine where faiss-gpu sees a GPU, a `Flat` store also keeps a GPU copy for
    unfiltered searches (`use_gpu`)."""

    def __init__(self, dim: int, description: str = FLAT, *, use_gpu: bool | None = None) -> None:
        import faiss

        self.dim = dim
        self._description = description
        factory, params = _split(description)
        if factory == FLAT:
            inner: faiss.Index = faiss.IndexFlatIP(dim)
        else:
            inner = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
            if isinstance(inner, faiss.IndexHNSW):
                inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        self._index = faiss.IndexIDMap2(inner)
        self._params = params
        self._use_gpu = (gpu_count() > 0) if use_gpu is None else use_gpu
        self._gpu: Any = None
        self._refresh()

    @classmethod
    def from_faiss(cls, index: object, description: str, *, use_gpu: bool | None = None) -> FaissStore:
        import faiss

        if not isinstance(index, faiss.IndexIDMap2):
            raise ValueError("a FaissStore file holds an IndexIDMap2")
        store = cls(int(index.d), description, use_gpu=use_gpu)
        store._index = index
        store._refresh()
        return store

    def _refresh(self) -> None:
        """Re-derive the inner index, its search parameters and the position -> id map."""
        import faiss

        self._inner = faiss.downcast_index(self._index.index)
        space = faiss.ParameterSpace()
        for name, value in self._params.items():
            space.set_index_parameter(self._inner, name, value)
        self._ids: IdArray = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        self._identity = bool(np.array_equal(self._ids, np.arange(len(self._ids))))
        self._positions: dict[int, int] | None = None
        self._gpu = None
        self._stored: FloatArray | None = None

    def _positions_of(self, ids: IdArray) -> IdArray:
        """The inner index's positions of `ids` (KeyError for an id not in the store)."""
        if self._identity:
            if len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= len(self._ids)):
                raise KeyError("ids not in the store")
            return ids
        if self._positions is None:
            self._positions = {int(i): p for p, i in enumerate(self._ids)}
        return np.asarray([self._positions[int(i)] for i in ids], dtype=np.int64)

    def count(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: IdArray, vectors: FloatArray) -> None:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        if len(np.unique(ids)) != len(ids) or np.isin(ids, self._ids).any():
            raise ValueError("ids must be distinct and new to the store")
        started = time.perf_counter()
        if not self._index.is_trained:
            self._index.train(vectors)
        if len(ids):
            self._index.add_with_ids(vectors, ids)
        self._refresh()
        logger.info("added %d vectors to %s in %.2fs", len(ids), self._description, time.perf_counter() - started)

    def search(self, queries: FloatArray, k: int, *, allowed: IdArray | None = None) -> tuple[FloatArray, IdArray]:
        import faiss

        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if allowed is None:
            scores, positions = self._searcher().search(queries, k)
        elif len(allowed) <= EXACT_ALLOWED_LIMIT:  # exact: a graph search can miss rare allowed ids
            allowed = np.unique(np.asarray(allowed, dtype=np.int64))
            known = allowed[np.isin(allowed, self._ids)]
            flat = self._flat_storage()
            if flat is None or len(known) <= EXACT_GATHER_LIMIT:
                return exact_top_k(queries, self.vectors(known), known, k)
            # brute force over the stored vectors, skipping the others: no copy of the allowed ones
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(self._positions_of(known), dtype=np.int64))
            params = faiss.SearchParameters()
            params.sel = selector
            scores, positions = flat.search(queries, k, params=params)
        else:
            allowed = np.asarray(allowed, dtype=np.int64)
            inside = np.flatnonzero(np.isin(self._ids, allowed)) if not self._identity else allowed
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(inside, dtype=np.int64))  # kept alive here
            params = faiss.SearchParameters()
            params.sel = selector
            scores, positions = self._inner.search(queries, k, params=params)
        found = positions >= 0
        ids = np.where(found, self._ids[np.where(found, positions, 0)] if len(self._ids) else -1, -1)
        return np.where(found, scores, -np.inf).astype(np.float32), ids.astype(np.int64)

    def _searcher(self) -> Any:
        """The index unfiltered searches use: a GPU copy of a Flat store where one is available."""
        if not self._use_gpu or not self._description.startswith(FLAT):
            return self._inner
        if self._gpu is None:
            import faiss

            self._gpu = faiss.index_cpu_to_all_gpus(self._inner)
        return self._gpu

    def vectors(self, ids: IdArray) -> FloatArray:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if not len(ids):
            return np.zeros((0, self.dim), dtype=np.float32)
        positions = np.ascontiguousarray(self._positions_of(ids), dtype=np.int64)
        stored = self._stored_vectors()
        if stored is not None:  # a gather from the stored matrix: ~10x faster than reconstructing
            return stored[positions]
        out: FloatArray = self._inner.reconstruct_batch(positions).astype(np.float32)
        return out

    def _flat_storage(self) -> Any:
        """The flat index holding the vectors in position order (a Flat store's own, or HNSW's
        storage), or None for an index that stores them otherwise."""
        import faiss

        flat = self._inner if self._description.startswith(FLAT) else getattr(self._inner, "storage", None)
        flat = faiss.downcast_index(flat) if flat is not None else None
        return flat if isinstance(flat, faiss.IndexFlat) and flat.ntotal == self.count() else None

    def _stored_vectors(self) -> FloatArray | None:
        """The stored vectors as a read-only NumPy view without a copy (None: not stored flat)."""
        import faiss

        if self._stored is None and self.count():
            flat = self._flat_storage()
            if flat is not None:
                view = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * self.dim).reshape(flat.ntotal, self.dim)
                view.flags.writeable = False
                self._stored = view
        return self._stored

    def describe(self) -> str:
        return self._description

    def to_bytes(self) -> bytes:
        import faiss

        data: bytes = faiss.serialize_index(self._index).tobytes()
        return data


def new_store(dim: int, count: int, *, flat_limit: int | None = None) -> VectorStore:
    """An empty store fit for `count` vectors of `dim` dimensions (FAISS, Flat or HNSW by size)."""
    return FaissStore(dim, choose_store_type(count, flat_limit=flat_limit))


def open_store(path: Path, description: str, read: Callable[[], bytes]) -> VectorStore:
    """The store of a build file: a FAISS store memory-mapped (`IO_FLAG_MMAP_IFC`: the vectors stay
    in the page cache, shared by every process that maps the build; an HNSW graph is read), any
    other kind through `load_store` over `read()`'s bytes."""
    if description == NUMPY:
        return load_store(read(), description)
    import faiss

    index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
    return FaissStore.from_faiss(index, description)


def load_store(data: bytes, description: str) -> VectorStore:
    """The store `to_bytes` wrote, given the description the manifest recorded."""
    if description == NUMPY:
        return NumpyStore.from_bytes(data)
    import faiss

    index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
    return FaissStore.from_faiss(index, description)
