"""POST /query: the response shape, defaults, filters, and the docs."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from semsearch import Searcher
from semsearch.embedders.hashing import HashingEmbedder
from semsearch.search import source_matches
from semsearch.settings import Settings
from semsearch.wiring import retrieval_config

from .conftest import NOTES_A, MakeClient, assert_error, publish


def test_query_returns_ranked_passages_and_the_build(client: TestClient, build_a: str) -> None:
    response = client.post("/query", json={"query": "  inverted dropout  ", "top_k": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"query", "searched_as", "abstained", "results", "index", "timings_ms"}
    assert body["query"] == body["searched_as"] == "inverted dropout"
    assert body["abstained"] is False
    assert body["index"]["build_id"] == build_a
    assert body["index"]["model"] == "hashing"
    assert body["index"]["built_at"].startswith("20")
    assert [r["rank"] for r in body["results"]] == [1, 2, 3]
    assert body["results"][0]["source"] == "alpha/dropout.md"
    first = body["results"][0]
    for key in ("score", "text", "heading_path", "start_line", "end_line", "chunk_id"):
        assert key in first
    timings = body["timings_ms"]
    assert set(timings) == {"embed", "dense", "lexical", "rank", "search", "total"}
    stages = [timings[stage] for stage in ("embed", "dense", "lexical", "rank")]
    assert all(ms >= 0 for ms in stages)
    assert abs(sum(stages) - timings["search"]) < 0.01  # `search` is the four stages together
    assert timings["search"] <= timings["total"]


def test_results_are_the_cores_hits_with_every_key_kept(client: TestClient, index_dir: Path) -> None:
    searcher = Searcher.open(index_dir, HashingEmbedder(), retrieval=retrieval_config(Settings()))
    expected = searcher.search("rotate keys", top_k=4)
    body = client.post("/query", json={"query": "rotate keys", "top_k": 4}).json()
    # extra keys such as also_in survive; `url` is the API's own (null: no SEMSEARCH_NOTES_BASE_URL)
    assert body["results"] == [{**hit.to_dict(), "url": None} for hit in expected.hits]
    assert body["abstained"] is expected.abstained


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


def test_a_filtered_query_returns_top_k_passages_when_that_many_match(build_a: str, make_client: MakeClient) -> None:
    # The filter is applied inside the core, so matching passages that rank below the server's
    # largest top_k (here 2) are still found: none of the unfiltered top 2 is under guides/.
    client = make_client(max_top_k=2, top_k=2)
    query = "inverted dropout rotate keys"
    top = client.post("/query", json={"query": query, "top_k": 2}).json()["results"]
    assert {r["source"] for r in top} == {"alpha/dropout.md", "alpha/keys.md"}
    body = client.post("/query", json={"query": query, "top_k": 2, "filters": {"source": "guides/"}}).json()
    assert {r["source"] for r in body["results"]} == {"guides/garden.md", "guides/keras.txt"}
    assert [r["rank"] for r in body["results"]] == [1, 2]
    one = client.post("/query", json={"query": query, "top_k": 1, "filters": {"source": "*.txt"}}).json()
    assert [r["source"] for r in one["results"]] == ["guides/keras.txt"]


def test_abstained_is_the_cores_decision(client: TestClient) -> None:
    answered = client.post("/query", json={"query": "inverted dropout"}).json()
    assert answered["abstained"] is False and answered["results"][0]["confident"] is True
    # nothing in the notes is about this: the passages still come back, all under the threshold
    body = client.post("/query", json={"query": "quantum chromodynamics lattice"}).json()
    assert body["abstained"] is True
    assert len(body["results"]) == len(NOTES_A) and not any(r["confident"] for r in body["results"])
    nothing = client.post("/query", json={"query": "dropout", "filters": {"source": "nowhere/"}}).json()
    assert nothing["abstained"] is True and nothing["results"] == []


def test_abstained_follows_the_threshold_setting(build_a: str, make_client: MakeClient) -> None:
    body = make_client(abstain_threshold=0.0).post("/query", json={"query": "quantum chromodynamics lattice"}).json()
    assert body["abstained"] is False and all(r["confident"] for r in body["results"])
    body = make_client(abstain_threshold=1.0).post("/query", json={"query": "inverted dropout"}).json()
    assert body["abstained"] is True and body["results"]


def test_the_schema_states_the_servers_query_limits(build_a: str, make_client: MakeClient) -> None:
    client = make_client(max_top_k=3, max_query_chars=100, top_k=3)
    request = client.get("/openapi.json").json()["components"]["schemas"]["QueryRequest"]["properties"]
    assert request["query"]["maxLength"] == 100
    assert [option.get("maximum") for option in request["top_k"]["anyOf"] if option.get("type") == "integer"] == [3]
    # and the server holds its requests to them, as the core's QueryError (422)
    assert client.post("/query", json={"query": "dropout", "top_k": 3}).status_code == 200
    assert "top_k" in assert_error(client.post("/query", json={"query": "dropout", "top_k": 4}),
                                   422, "invalid_request")
    assert client.post("/query", json={"query": "d" * 100, "top_k": 1}).status_code == 200
    message = assert_error(client.post("/query", json={"query": "d" * 101, "top_k": 1}), 422, "invalid_request")
    assert "101" in message and "100" in message
    # the defaults, for a server with no limits set
    default = make_client().get("/openapi.json").json()["components"]["schemas"]["QueryRequest"]["properties"]
    assert default["query"]["maxLength"] == 2000
    assert [o.get("maximum") for o in default["top_k"]["anyOf"] if o.get("type") == "integer"] == [50]


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
