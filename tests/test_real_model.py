"""End-to-end with the real all-MiniLM-L6-v2 from its PyPI package (offline). Marked slow."""

from __future__ import annotations

import numpy as np
import pytest

from semsearch.embedders import load_embedder
from semsearch.evaluation.queries import hits_to_results, load_queries, normalize, score_run
from semsearch.indexing.build import build_index
from semsearch.search import Searcher

from .conftest import SHARED

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_searcher(tmp_path_factory: pytest.TempPathFactory) -> Searcher:
    from semsearch.settings import bundled_notes_dir

    embedder = load_embedder("all-MiniLM-L6-v2")
    index_dir = tmp_path_factory.mktemp("real") / "index"
    build_index(bundled_notes_dir(), index_dir, embedder)
    return Searcher.open(index_dir, embedder)


def test_model_loads_offline_and_normalizes(real_searcher: Searcher) -> None:
    embedder = real_searcher.embedder
    assert embedder.model_name == "sentence-transformers/all-MiniLM-L6-v2" and embedder.dim == 384
    vectors = embedder.embed_documents(["dropout", "a cat sat on the mat"])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_chunks_fit_the_models_window(real_searcher: Searcher) -> None:
    embedder = real_searcher.embedder
    assert max(embedder.count_tokens(c.embed_text) for c in real_searcher.index.chunks) <= embedder.max_tokens - 2


def test_inverted_dropout_is_explained_in_the_top_3(real_searcher: Searcher) -> None:
    hits = real_searcher.search("what is inverted dropout", top_k=3).hits
    assert any("inverted dropout is functionally equivalent" in normalize(h.chunk.text) for h in hits)


def test_an_acronym_finds_the_passage_that_only_spells_it_out(real_searcher: Searcher) -> None:

    assert real_searcher.index.glossary.definitions["vae"] == "variational autoencoder"  # from a URL slug
    hits = real_searcher.search("VAE", top_k=5).hits
    assert any("variational autoencoder - doesnt rely on distance" in normalize(h.chunk.text) for h in hits)


def test_quality_floor_on_the_dev_set(real_searcher: Searcher) -> None:
    path = SHARED / "eval" / "notes-dev.jsonl"
    if not path.is_file():
        pytest.skip("shared/eval is not beside this checkout")
    queries = load_queries(path)
    results = [r.hits for r in real_searcher.search_many([q.query for q in queries], top_k=10)]
    metrics = score_run(queries, {q.id: hits_to_results(h) for q, h in zip(queries, results, strict=False)})
    assert metrics["hit@5"] >= 0.85 and metrics["mrr@10"] >= 0.70


def test_wrong_model_is_refused(real_searcher: Searcher) -> None:
    from semsearch.embedders.hashing import HashingEmbedder
    from semsearch.errors import IndexMismatchError

    index_dir = real_searcher.index.path.parent.parent  # builds/<id> -> the index directory
    with pytest.raises(IndexMismatchError, match="all-MiniLM-L6-v2"):
        Searcher.open(index_dir, HashingEmbedder())
