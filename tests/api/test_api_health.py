"""Health, readiness, metrics, and the live switch to a newly published build."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from semsearch import LiveIndex
from semsearch.embedders.hashing import HashingEmbedder
from semsearch.index.format import CURRENT

from .conftest import NOTES_A, NOTES_B, MakeClient, assert_error, publish


def test_healthz_is_up_even_without_an_index(make_client: MakeClient) -> None:
    assert make_client().get("/healthz").json() == {"status": "ok"}


def test_readyz_turns_ready_once_an_index_is_published(make_client: MakeClient, notes_a: Path,
                                                       index_dir: Path) -> None:
    client = make_client()
    assert_error(client.get("/readyz"), 503, "index_unavailable")
    build = publish(notes_a, index_dir)
    body = client.get("/readyz").json()
    assert body["status"] == "ready" and body["index"]["build_id"] == build
    assert body["chunks"] == len(NOTES_A)


def test_the_next_response_names_a_newly_published_build(client: TestClient, build_a: str,
                                                         notes_b: Path, index_dir: Path) -> None:
    first = client.post("/query", json={"query": "dropout"}).json()
    assert first["index"]["build_id"] == build_a
    build_b = publish(notes_b, index_dir)
    second = client.post("/query", json={"query": "dropout"}).json()
    assert second["index"]["build_id"] == build_b
    assert {r["source"] for r in second["results"]} <= set(NOTES_B)


def test_builds_are_checked_at_most_once_per_interval(build_a: str, make_client: MakeClient,
                                                      notes_b: Path, index_dir: Path) -> None:
    client = make_client(reload_interval=3600)
    publish(notes_b, index_dir)
    assert client.post("/query", json={"query": "dropout"}).json()["index"]["build_id"] == build_a


def test_a_broken_new_build_leaves_the_old_one_serving(client: TestClient, build_a: str,
                                                       index_dir: Path) -> None:
    (index_dir / CURRENT).write_text("no-such-build\n")
    response = client.post("/query", json={"query": "dropout"})
    assert response.status_code == 200 and response.json()["index"]["build_id"] == build_a


def test_metrics(client: TestClient, build_a: str, notes_b: Path, index_dir: Path) -> None:
    client.post("/query", json={"query": "dropout"})
    client.post("/query", json={"query": ""})
    client.get("/nope")
    build_b = publish(notes_b, index_dir)
    client.get("/readyz")
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'semsearch_http_requests_total{method="POST",route="/query",status="200"} 1.0' in text
    assert 'semsearch_http_requests_total{method="POST",route="/query",status="422"} 1.0' in text
    assert 'semsearch_http_requests_total{method="GET",route="<unmatched>",status="404"} 1.0' in text
    assert 'semsearch_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/query",' \
           'status="200"} 1.0' in text
    assert f"semsearch_index_chunks {float(len(NOTES_B))}" in text
    assert f'build_id="{build_b}"' in text and f'build_id="{build_a}"' not in text
    assert "semsearch_index_reloads_total 1.0" in text


def test_each_app_has_its_own_registry(build_a: str, make_client: MakeClient) -> None:
    first, second = make_client(), make_client()
    first.post("/query", json={"query": "dropout"})
    assert 'route="/query"' in first.get("/metrics").text
    assert 'route="/query"' not in second.get("/metrics").text


def test_a_search_keeps_its_build_when_a_reload_lands_mid_call(
    build_a: str, notes_b: Path, index_dir: Path
) -> None:
    """A Searcher is one build: a new build published and switched to while a search is under way
    does not change that search (its hits and the build it names are both A's); the next one is B's."""
    published: list[str] = []

    class PublishingEmbedder(HashingEmbedder):
        def embed_queries(self, texts: Any) -> Any:
            if not published:  # the first search is under way on build A: publish B and switch
                published.append(publish(notes_b, index_dir))
                assert live.refresh(force=True)
            return super().embed_queries(texts)

    live = LiveIndex(index_dir, PublishingEmbedder(), reload_interval=3600)
    live.refresh(force=True)
    first = live.searcher().search("dropout", top_k=3)
    assert published and live.current is not None and live.current.index.build_id == published[0]
    assert first.build.build_id == build_a
    assert first.hits and {hit.chunk.source for hit in first.hits} <= set(NOTES_A)
    second = live.searcher().search("dropout", top_k=3)
    assert second.build.build_id == published[0] and live.reloads == 1
    assert second.hits and {hit.chunk.source for hit in second.hits} <= set(NOTES_B)
