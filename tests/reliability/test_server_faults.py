"""Items 4 and 6: queries across repeated publishes, and SIGTERM with requests in flight."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from semsearch.settings import Settings
from services.api import create_app
from tests.api.conftest import NOTES_A, NOTES_B, publish
from tests.conftest import REPO
from tests.servers import serve_process, serving

CLIENTS = 50
SWAPS = 6


def test_50_clients_across_repeated_publishes_never_fail_and_each_answer_names_one_build(
    build_a: str, notes_a: Path, notes_b: Path, index_dir: Path, make_settings: Callable[..., Settings],
    figures: dict[str, Any],
) -> None:
    app = create_app(make_settings(), reload_interval=0.0)
    sources: dict[str, set[str]] = {build_a: set(NOTES_A)}
    publishing = threading.Event()
    stop = threading.Event()
    answers: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()

    def publisher() -> None:
        publishing.wait(10)
        for swap in range(SWAPS):
            notes = notes_b if swap % 2 == 0 else notes_a
            sources[publish(notes, index_dir)] = set(NOTES_B if swap % 2 == 0 else NOTES_A)
            time.sleep(0.05)
        stop.set()

    with serving(app) as url, httpx.Client(base_url=url, timeout=30,
                                           limits=httpx.Limits(max_connections=CLIENTS)) as http:
        def client(i: int) -> None:
            n = 0
            while not stop.is_set() or n < 3:  # every client asks at least 3 times, until the swaps end
                response = http.post("/query", json={"query": f"dropout keys {i} {n}", "top_k": 3})
                with lock:
                    answers.append((response.status_code, response.json()))
                    if len(answers) == CLIENTS:
                        publishing.set()
                n += 1

        thread = threading.Thread(target=publisher)
        thread.start()
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            list(pool.map(client, range(CLIENTS)))
        thread.join(30)

    failed = [(status, body) for status, body in answers if status != 200]
    assert failed == []
    served: dict[str, int] = {}
    for _, body in answers:
        build = body["index"]["build_id"]
        assert build in sources  # exactly one published build, named
        assert {r["source"] for r in body["results"]} <= sources[build]  # and its results are from it
        served[build] = served.get(build, 0) + 1
    assert len(served) >= 3  # answers came from several builds as they were swapped in
    figures.update(requests=len(answers), failed=len(failed), swaps=SWAPS, builds_answering=len(served))


def test_sigterm_under_load_finishes_in_flight_requests_then_exits(
    build_a: str, index_dir: Path, figures: dict[str, Any]
) -> None:
    env = {**os.environ, "SEMSEARCH_MODEL": "hashing", "SEMSEARCH_INDEX_DIR": str(index_dir),
           "SLOW_QUERY_SECONDS": "1.5", "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "tests.reliability.slow_serve", "serve", "--port", "0"]
    in_flight = 16
    with serve_process(command, env, cwd=REPO, start_timeout=30) as served:
        with httpx.Client(base_url=served.url, timeout=30, limits=httpx.Limits(max_connections=in_flight)) as http:
            assert http.get("/readyz").status_code == 200
            with ThreadPoolExecutor(max_workers=in_flight) as pool:
                pending = [pool.submit(http.post, "/query", json={"query": f"dropout {i}"}) for i in range(in_flight)]
                time.sleep(0.5)  # all of them are inside the 1.5 s embedding now
                signalled = time.monotonic()
                served.proc.send_signal(signal.SIGTERM)
                statuses = [p.result().status_code for p in pending]
        code = served.proc.wait(timeout=30)
        exit_seconds = time.monotonic() - signalled
        refused = False
        try:
            httpx.get(f"{served.url}/healthz", timeout=2)
        except httpx.ConnectError:
            refused = True
    assert statuses == [200] * in_flight
    assert code in (0, -signal.SIGTERM)
    assert refused  # nothing listens any more
    text = served.text
    assert "semsearch API stopped" in text and "Traceback" not in text
    figures.update(in_flight_at_sigterm=in_flight, completed=statuses.count(200), exit_code=code,
                   exit_s=round(exit_seconds, 2))
