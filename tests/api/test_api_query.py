"""POST /query: the response shape, defaults, filters, and the docs."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from semsearch import Searcher
from semsearch.embedders.hashing import HashingEmbedder
from semsearch.settings import Settings
from semsearch.wiring import retrieval_config
from services.api.routes import source_matches

from .conftest import MakeClient, publish


def test_query_returns_ranked_passages_and_the_build(client: TestClient, build_a: str) -> None:
    response = client.post("/query", json={"query": "  inverted dropout  ", "top_k": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"query", "searched_as", "results", "index", "timings_ms"}
    assert body["query"] == body["searched_as"] == "inverted dropout"
    assert body["index"]["build_id"] == build_a
    assert body["index"]["model"] == "hashing"
    assert body["index"]["built_at"].startswith("20")
    assert [r["rank"] for r in body["results"]] == [1, 2, 3]
    assert body["results"][0]["source"] == "alpha/dropout.md"
    first = body["results"][0]
    for key in ("score", "text", "heading_path", "start_line", "end_line", "chunk_id"):
        assert key in first
    timings = body["timings_ms"]
    assert set(timings) == {"embed", "search", "total"}
    assert 0 <= timings["embed"] <= timings["total"] and 0 <= timings["search"] <= timings["total"]


def test_results_are_the_cores_hits_with_every_key_kept(client: TestClient, index_dir: Path) -> None:
    searcher = Searcher.open(index_dir, HashingEmbedder(), retrieval=retrieval_config(Settings()))
    expected = searcher.search("rotate keys", top_k=4)
    results = client.post("/query", json={"query": "rotate keys", "top_k": 4}).json()["results"]
    # extra keys such as also_in survive; `url` is the API's own (null: no SEMSEARCH_NOTES_BASE_URL)
    assert results == [{**hit.to_dict(), "url": None} for hit in expected]


def test_top_k_defaults_to_the_setting(build_a: str, make_client: MakeClient) -> None:
    client = make_client(top_k=2)
    assert len(client.post("/query", json={"query": "dropout"}).json()["results"]) == 2


def test_glob_filter_keeps_matching_sources_and_ranks_them_again(client: TestClient) -> None:
    unfiltered = client.post("/query", json={"query": "dropout layer rate", "top_k": 4}).json()
    assert unfiltered["results"][0]["source"] != "guides/garden.md"
    body = client.post("/query", json={"query": "dropout layer rate", "top_k": 2,
                                       "filters": {"source": "guides/*.md"}}).json()
    assert [(r["rank"], r["source"]) for r in body["results"]] == [(1, "guides/garden.md")]


def test_prefix_filter(client: TestClient) -> None:
    body = client.post("/query", json={"query": "dropout", "top_k": 5,
                                       "filters": {"source": "alpha/"}}).json()
    assert {r["source"] for r in body["results"]} == {"alpha/dropout.md", "alpha/keys.md"}
    assert [r["rank"] for r in body["results"]] == [1, 2]


def test_filter_that_matches_nothing_returns_no_results(client: TestClient) -> None:
    body = client.post("/query", json={"query": "dropout", "filters": {"source": "nowhere/"}}).json()
    assert body["results"] == []


def test_filter_finds_passages_beyond_top_k(client: TestClient) -> None:
    top = client.post("/query", json={"query": "inverted dropout", "top_k": 1}).json()["results"]
    assert top[0]["source"] != "guides/garden.md"
    body = client.post("/query", json={"query": "inverted dropout", "top_k": 1,
                                       "filters": {"source": "guides/garden.md"}}).json()
    assert [r["source"] for r in body["results"]] == ["guides/garden.md"]


def test_source_matching_rules() -> None:
    assert source_matches("guides/keras.txt", "*.txt")
    assert source_matches("guides/keras.txt", "guides/*")
    assert source_matches("guides/keras.txt", "guides/k")
    assert not source_matches("guides/keras.txt", "keras")
    assert not source_matches("guides/keras.txt", "*.md")


def test_openapi_and_docs(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/query", "/healthz", "/readyz", "/metrics"} <= set(spec["paths"])
    query = spec["paths"]["/query"]["post"]
    assert {"401", "413", "415", "422", "503"} <= set(query["responses"])
    assert "QueryRequest" in spec["components"]["schemas"]
    assert "ErrorResponse" in spec["components"]["schemas"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    # The docs page works offline: its assets come from this server, never a CDN.
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', docs.text)
    assert assets and all(url.startswith("/") and not url.startswith("//") for url in assets), assets
    for url in assets:
        assert client.get(url).status_code == 200, url


def test_an_acronym_the_notes_define_is_searched_spelled_out(acronym_notes: Path, index_dir: Path,
                                                             make_client: MakeClient) -> None:
    publish(acronym_notes, index_dir)
    body = make_client().post("/query", json={"query": "VAE", "top_k": 2}).json()
    assert body["query"] == "VAE" and body["searched_as"] == "VAE (variational autoencoder)"
    assert {r["source"] for r in body["results"]} == {"models.md", "links.md"}
