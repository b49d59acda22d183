from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.errors import QueryError
from semsearch.ranking.fusion import RetrievalConfig
from semsearch.indexing.build import build_index
from semsearch.search import Searcher


def test_matches_a_brute_force_oracle(notes_dir: Path, tmp_path: Path, embedder: HashingEmbedder) -> None:
    build_index(notes_dir, tmp_path / "index", embedder)
    dense_only = RetrievalConfig(fusion="dense", exact_boost=False, collapse=False)
    searcher = Searcher.open(tmp_path / "index", embedder, retrieval=dense_only)
    chunks = searcher.build.chunks
    matrix = embedder.embed_documents([c.embed_text for c in chunks])
    for query in ["inverted dropout keras", "batch normalization recurrent", "audio datasets"]:
        hits = searcher.search(query, top_k=10)
        scores = matrix @ embedder.embed_queries([query])[0]
        expected = np.sort(scores)[::-1][:10]
        assert np.allclose([h.raw_score for h in hits], expected, atol=1e-5)
        assert [h.rank for h in hits] == list(range(1, 11))
        for hit in hits:
            assert abs(scores[chunks.index(hit.chunk)] - (hit.raw_score or 0.0)) < 1e-5


def test_finds_the_right_note(tiny_index: Path, embedder: HashingEmbedder) -> None:
    hits = Searcher.open(tiny_index, embedder).search("how often to rotate api keys", top_k=2)
    assert hits[0].chunk.source == "keys.md"
    assert hits[0].chunk.heading_path == ("Operations", "Rotating API keys")
    assert hits[0].chunk.start_line == 1


def test_top_k_larger_than_the_index(tiny_index: Path, embedder: HashingEmbedder) -> None:
    hits = Searcher.open(tiny_index, embedder).search("tomatoes", top_k=50)
    assert 1 <= len(hits) <= 3


@pytest.mark.parametrize(
    ("query", "top_k", "message"),
    [("", 5, "empty"), ("   \n\t", 5, "empty"), ("\x00", 5, "empty"), ("x" * 2001, 5, "limit is 2000"),
     ("ok", 0, "top_k"), ("ok", -1, "top_k"), ("ok", 51, "top_k"), ("ok", 1.5, "top_k"),
     ("ok", "10", "top_k"), ("ok", True, "top_k")],
)
def test_bad_queries_raise_query_error(tiny_index: Path, embedder: HashingEmbedder, query: str,
                                       top_k: object, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        Searcher.open(tiny_index, embedder).search(query, top_k=top_k)  # type: ignore[arg-type]


def test_reload_switches_to_a_new_build(tiny_notes: Path, tiny_index: Path, embedder: HashingEmbedder) -> None:
    searcher = Searcher.open(tiny_index, embedder)
    before = searcher.manifest.build_id
    assert not searcher.reload_if_changed()
    (tiny_notes / "new.md").write_text("# Sourdough\n\nFeed the starter flour and water daily.\n")
    build_index(tiny_notes, tiny_index, embedder)
    assert searcher.reload_if_changed()
    assert searcher.manifest.build_id != before
    assert searcher.search("sourdough starter", top_k=1)[0].chunk.source == "new.md"


def test_a_broken_new_build_keeps_the_old_one_serving(tiny_notes: Path, tiny_index: Path,
                                                      embedder: HashingEmbedder) -> None:
    searcher = Searcher.open(tiny_index, embedder)
    before = searcher.manifest.build_id
    report = build_index(tiny_notes, tiny_index, embedder)
    (tiny_index / "builds" / report.manifest.build_id / "chunks.jsonl").write_text("garbage")
    assert not searcher.reload_if_changed()
    assert searcher.manifest.build_id == before
    assert searcher.search("tomatoes", top_k=1)
