"""A real uvicorn server on 127.0.0.1: concurrent queries across a publish, and `semsearch serve`."""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from click.testing import CliRunner
from fastapi import FastAPI

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.settings import Settings
from services.api import create_app
from services.main import main
from tests.servers import serve_process, serving

from .conftest import NOTES_A, NOTES_B, publish


def test_concurrent_queries_while_a_new_build_is_published(
    build_a: str, notes_b: Path, index_dir: Path, make_settings: Callable[..., Settings]
) -> None:
    app = create_app(make_settings(), reload_interval=0.0)
    halfway, published = threading.Event(), threading.Event()
    done = 0
    lock = threading.Lock()
    build_b: list[str] = []

    def publisher() -> None:
        halfway.wait(10)
        build_b.append(publish(notes_b, index_dir))
        published.set()

    with serving(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        def ask(i: int) -> tuple[int, dict[str, Any]]:
            nonlocal done
            if i >= 40:  # the last ones start only after the publish
                published.wait(10)
            response = http.post("/query", json={"query": f"dropout rate {i}", "top_k": 3})
            with lock:
                done += 1
                if done == 15:
                    halfway.set()
            return response.status_code, response.json()

        thread = threading.Thread(target=publisher)
        thread.start()
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(ask, range(50)))
        thread.join(10)

    assert [status for status, _ in answers] == [200] * 50
    seen = {build_a: 0, build_b[0]: 0}
    for _, body in answers:
        build = body["index"]["build_id"]
        assert build in seen  # exactly one of the two builds
        seen[build] += 1
        sources = set(NOTES_A if build == build_a else NOTES_B)
        assert {r["source"] for r in body["results"]} <= sources  # results come from that build
    assert seen[build_a] >= 15 and seen[build_b[0]] >= 1


class SlowEmbedder(HashingEmbedder):
    def embed_queries(self, texts: Any) -> Any:
        time.sleep(0.6)
        return super().embed_queries(texts)


def test_the_server_stays_responsive_while_queries_run(
    build_a: str, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("semsearch.wiring.load_embedder", lambda *args, **kwargs: SlowEmbedder())
    app = create_app(make_settings())
    with serving(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4) as pool:
            queries = [pool.submit(http.post, "/query", json={"query": "dropout"}) for _ in range(4)]
            time.sleep(0.15)
            before = time.perf_counter()
            assert http.get("/healthz").status_code == 200
            health_seconds = time.perf_counter() - before
            statuses = [q.result().status_code for q in queries]
        elapsed = time.perf_counter() - started
    assert statuses == [200] * 4
    assert health_seconds < 0.4  # not queued behind a search (each holds 0.6 s)
    assert elapsed < 1.8  # the four searches ran side by side in the threadpool, not one by one


def test_serve_refuses_an_open_api_on_a_reachable_address(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("uvicorn must not start")

    monkeypatch.setattr(uvicorn, "run", never)
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert "Refusing to serve on 0.0.0.0 without an API key" in result.output


def test_serve_passes_its_flags_to_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append((app, kwargs)))
    result = CliRunner().invoke(main, ["serve", "--port", "8123", "--host", "localhost"])
    assert result.exit_code == 0, result.output
    app, kwargs = calls[0]
    assert isinstance(app, FastAPI)
    assert (kwargs["host"], kwargs["port"], kwargs["access_log"]) == ("localhost", 8123, False)


def test_semsearch_serve_logs_each_request_and_stops_cleanly_on_sigterm(
    build_a: str, index_dir: Path
) -> None:
    env = {**os.environ, "SEMSEARCH_MODEL": "hashing", "SEMSEARCH_INDEX_DIR": str(index_dir)}
    command = [sys.executable, "-c", "from services.main import main; main()", "serve", "--port", "0"]
    with serve_process(command, env) as served:
        with httpx.Client(base_url=served.url, timeout=10) as http:
            assert http.get("/readyz").status_code == 200
            assert http.post("/query", json={"query": "zebra giraffe question"}).status_code == 200
        served.proc.send_signal(signal.SIGTERM)
        # uvicorn finishes its graceful shutdown, then re-raises the signal it caught
        assert served.proc.wait(timeout=15) in (0, -signal.SIGTERM)
    text = served.text
    assert re.search(r"POST /query 200 \d+\.\dms", text), text
    assert "GET /readyz 200" in text
    assert f"semsearch.live: serving build {build_a}" in text  # which build is served is in the log
    assert "zebra" not in text  # the question is never logged
    assert "semsearch API stopped" in text  # the lifespan ran its cleanup
    assert "Finished server process" in text
