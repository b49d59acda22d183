from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.errors import QueryError
from semsearch.indexing.build import build_index
from semsearch.ranking.fusion import RetrievalConfig
from semsearch.search import QueryLimits, Searcher, source_matches


def test_matches_a_brute_force_oracle(notes_dir: Path, tmp_path: Path, embedder: HashingEmbedder) -> None:
    build_index(notes_dir, tmp_path / "index", embedder)
    dense_only = RetrievalConfig(fusion="dense", exact_boost=False, collapse=False)
    searcher = Searcher.open(tmp_path / "index", embedder, retrieval=dense_only)
    chunks = searcher.index.chunks
    matrix = embedder.embed_documents([c.embed_text for c in chunks])
    for query in ["inverted dropout keras", "batch normalization recurrent", "audio datasets"]:
        hits = searcher.search(query, top_k=10).hits
        scores = matrix @ embedder.embed_queries([query])[0]
        expected = np.sort(scores)[::-1][:10]
        assert np.allclose([h.raw_score for h in hits], expected, atol=1e-5)
        assert [h.rank for h in hits] == list(range(1, 11))
        for hit in hits:
            assert abs(scores[chunks.index(hit.chunk)] - (hit.raw_score or 0.0)) < 1e-5


def test_finds_the_right_note(tiny_index: Path, embedder: HashingEmbedder) -> None:
    hits = Searcher.open(tiny_index, embedder).search("how often to rotate api keys", top_k=2).hits
    assert hits[0].chunk.source == "keys.md"
    assert hits[0].chunk.heading_path == ("Operations", "Rotating API keys")
    assert hits[0].chunk.start_line == 1


def test_top_k_larger_than_the_index(tiny_index: Path, embedder: HashingEmbedder) -> None:
    hits = Searcher.open(tiny_index, embedder).search("tomatoes", top_k=50).hits
    assert 1 <= len(hits) <= 3


@pytest.mark.parametrize(
    ("query", "top_k", "message"),
    [("", 5, "empty"), ("   \n\t", 5, "empty"), ("\x00", 5, "NUL"), ("what is \x00 dropout", 5, "NUL"),
     ("x" * 2001, 5, "limit is 2000"),
     ("ok", 0, "top_k"), ("ok", -1, "top_k"), ("ok", 51, "top_k"), ("ok", 1.5, "top_k"),
     ("ok", "10", "top_k"), ("ok", True, "top_k")],
)
def test_bad_queries_raise_query_error(tiny_index: Path, embedder: HashingEmbedder, query: str,
                                       top_k: object, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        Searcher.open(tiny_index, embedder).search(query, top_k=top_k)  # type: ignore[arg-type]


def test_the_result_names_its_build_timings_and_the_abstention(tiny_index: Path, embedder: HashingEmbedder) -> None:
    searcher = Searcher.open(tiny_index, embedder)
    result = searcher.search("  how often to rotate api keys ", top_k=2)
    assert result.query == result.searched_as == "how often to rotate api keys"
    assert result.build == searcher.manifest
    assert result.abstained == (not result.hits[0].confident)
    timings = result.timings
    assert min(timings.embed, timings.dense, timings.lexical, timings.rank) >= 0
    assert timings.total == pytest.approx(timings.embed + timings.dense + timings.lexical + timings.rank)
    data = result.to_dict()
    assert data["index"]["build_id"] == searcher.manifest.build_id and data["abstained"] == result.abstained
    assert [r["rank"] for r in data["results"]] == [1, 2]


def test_abstention_is_decided_by_the_top_hit(tiny_index: Path, embedder: HashingEmbedder) -> None:
    strict = Searcher.open(tiny_index, embedder, retrieval=RetrievalConfig(abstain_threshold=1.0))
    lenient = Searcher.open(tiny_index, embedder, retrieval=RetrievalConfig(abstain_threshold=0.0))
    assert strict.search("tomatoes", top_k=2).abstained
    assert not lenient.search("tomatoes", top_k=2).abstained


def test_the_limits_are_the_searchers(tiny_index: Path, embedder: HashingEmbedder) -> None:
    searcher = Searcher.open(tiny_index, embedder, limits=QueryLimits(max_top_k=2, max_query_chars=10))
    assert len(searcher.search("tomatoes", top_k=2).hits) == 2
    with pytest.raises(QueryError, match="from 1 to 2"):
        searcher.search("tomatoes", top_k=3)
    with pytest.raises(QueryError, match="limit is 10"):
        searcher.search("tomatoes in the morning", top_k=1)


@pytest.mark.parametrize(("pattern", "source", "matches"), [
    ("*.md", "ml/deep.md", True), ("*.md", "a.txt", False), ("ml/", "ml/deep.md", True),
    ("ml/", "mlx/deep.md", False), ("ml/*.md", "ml/sub/deep.md", True), ("deep", "deep-nets.md", True)])
def test_source_patterns_are_globs_or_prefixes(pattern: str, source: str, matches: bool) -> None:
    assert source_matches(source, pattern) is matches


def test_a_source_filter_searches_inside_the_matching_notes(notes_dir: Path, tmp_path: Path,
                                                            embedder: HashingEmbedder) -> None:
    build_index(notes_dir, tmp_path / "index", embedder)
    searcher = Searcher.open(tmp_path / "index", embedder)
    everywhere = searcher.search("dropout", top_k=10).hits
    only_txt = searcher.search("dropout", top_k=10, source="*.txt").hits
    assert len(only_txt) == 10 and all(h.chunk.source.endswith(".txt") for h in only_txt)
    assert [h.rank for h in only_txt] == list(range(1, 11))
    assert any(not h.chunk.source.endswith(".txt") for h in everywhere)
    # a filter matching one note still fills top_k from it, whatever ranks first elsewhere
    one = next(s for s, r in searcher.index.rows_by_source.items() if len(r) >= 3)
    hits = searcher.search("dropout", top_k=3, source=one).hits
    assert len(hits) == 3 and {h.chunk.source for h in hits} == {one}
    assert searcher.search("dropout", top_k=3, source="nothing-matches/").hits == []
    with pytest.raises(QueryError, match="source filter"):
        searcher.search("dropout", top_k=3, source="")


def test_search_many_is_search_for_each_query(tiny_index: Path, embedder: HashingEmbedder) -> None:
    searcher = Searcher.open(tiny_index, embedder)
    queries = ["rotate api keys", "tomatoes", "inverted dropout"]
    many = searcher.search_many(queries, top_k=2)
    assert [r.query for r in many] == queries
    assert [[h.chunk.id for h in r.hits] for r in many] == [
        [h.chunk.id for h in searcher.search(q, top_k=2).hits] for q in queries]


def test_a_searcher_is_immutable(tiny_index: Path, embedder: HashingEmbedder) -> None:
    searcher = Searcher.open(tiny_index, embedder)
    with pytest.raises(AttributeError):
        searcher.index = searcher.index  # type: ignore[misc]
