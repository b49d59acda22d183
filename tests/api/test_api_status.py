"""`GET /status`: the served build and each file's fate; a server follows `index --watch` live."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.indexing.build import build_index
from semsearch.indexing.watch import watch_notes
from semsearch.settings import Settings
from services.api import create_app
from tests.servers import serving

from .conftest import MakeClient, assert_error, publish

KEY = "k-status-7d41"


def test_status_describes_the_served_build(build_a: str, notes_a: Path, make_client: MakeClient) -> None:
    (notes_a / "broken.md").write_bytes(b"\x00\x01 not text")
    (notes_a / "guides" / "garden.md").unlink()
    (notes_a / "alpha" / "keys.md").write_text("# Keys\n\nRotate API keys every 30 days now.\n")
    client = make_client()
    assert client.get("/status").json()["index"]["build_id"] == build_a
    second = publish(notes_a, client.app.state.settings.index_dir)  # type: ignore[attr-defined]

    response = client.get("/status")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["index"]["build_id"] == second and body["index"]["model"] == "hashing"
    assert body["as_of"] == f"index as of {body['index']['built_at']}"
    assert (body["file_count"], body["chunk_count"], body["embedded"], body["reused"]) == (3, 3, 1, 2)
    files = {f["source"]: f for f in body["files"]}
    assert files["alpha/keys.md"] == {"source": "alpha/keys.md", "status": "indexed", "chunks": 1, "embedded": 1,
                                      "reason": None, "error": None, "renamed_from": None, "collection": "notes",
                                      "reader": "markdown"}
    assert files["alpha/dropout.md"]["status"] == "unchanged"
    assert files["broken.md"]["status"] == "skipped" and "binary" in files["broken.md"]["reason"]
    assert body["removed"] == ["guides/garden.md"]
    assert "sha256" not in response.text and str(notes_a) not in response.text  # no server paths
    query = client.post("/query", json={"query": "rotate keys"}).json()
    assert query["index"]["build_id"] == second


def test_status_needs_a_key_like_query(build_a: str, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEMSEARCH_API_KEYS", f'["{KEY}"]')
    client = make_client()
    assert_error(client.get("/status"), 401, "unauthorized")
    assert client.get("/status", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200


def test_status_without_an_index_is_503(make_client: MakeClient) -> None:
    assert_error(make_client().get("/status"), 503, "index_unavailable")


def test_a_running_server_follows_watch_mode_live(
    build_a: str, notes_a: Path, index_dir: Path, make_settings: Callable[..., Settings]
) -> None:
    stop = threading.Event()
    syncs: list[str] = []

    def sync() -> None:
        syncs.append(build_index(notes_a, index_dir, HashingEmbedder(), wait=True).manifest.build_id)

    watcher = threading.Thread(target=watch_notes, args=(notes_a, sync), daemon=True,
                               kwargs={"include": ["*.md", "*.txt"], "quiet_ms": 200, "stop_event": stop})
    with serving(create_app(make_settings(), reload_interval=0.2)) as url, httpx.Client(base_url=url) as http:
        assert http.get("/status").json()["index"]["build_id"] == build_a
        watcher.start()
        try:
            deadline = time.monotonic() + 60
            while not syncs:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            time.sleep(0.3)
            (notes_a / "guides" / "bees.md").write_text("# Bees\n\nBees pollinate the squash flowers.\n")
            while True:
                body = http.post("/query", json={"query": "bees pollinate squash", "top_k": 1}).json()
                if body["results"] and body["results"][0]["source"] == "guides/bees.md":
                    break
                assert time.monotonic() < deadline, body
                time.sleep(0.1)
            assert body["index"]["build_id"] == syncs[-1] != build_a
            status = http.get("/status").json()
            assert status["index"]["build_id"] == syncs[-1]
            assert {f["source"]: f["status"] for f in status["files"]}["guides/bees.md"] == "indexed"
        finally:
            stop.set()
            watcher.join(10)
