"""Item 13: memory stays flat over 20,000 queries through the ASGI app (in-process, over httpx's ASGI
transport, 8 at a time, the hashing model)."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from semsearch.settings import Settings
from services.api import create_app
from tests.reliability.conftest import rss_mib

QUERIES = 20_000
WARMUP = 1_000
CONCURRENCY = 8
WORDS = ["dropout", "keras", "rotate", "keys", "garden", "tomatoes", "layer", "rate", "vault", "morning"]


@pytest.mark.slow
def test_memory_stays_flat_over_20000_queries(build_a: str, make_settings: Callable[..., Settings],
                                              figures: dict[str, Any]) -> None:
    app = create_app(make_settings(rate_limit=0), reload_interval=0.0)
    statuses: dict[int, int] = {}

    async def ask(http: httpx.AsyncClient, i: int) -> None:
        # distinct queries (no cache can hide a leak), every top_k, some filtered
        body: dict[str, Any] = {"query": f"{WORDS[i % 10]} {WORDS[i // 10 % 10]} {i}", "top_k": i % 5 + 1}
        if i % 7 == 0:
            body["filters"] = {"source": "alpha/*"}
        status = (await http.post("/query", json=body)).status_code
        statuses[status] = statuses.get(status, 0) + 1

    async def run(first: int, last: int) -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            for batch in range(first, last, CONCURRENCY):
                await asyncio.gather(*(ask(http, i) for i in range(batch, min(batch + CONCURRENCY, last))))

    with TestClient(app):  # runs the lifespan: the embedder and the index load once
        asyncio.run(run(0, WARMUP))
        gc.collect()
        start_rss = rss_mib()
        started = time.perf_counter()
        asyncio.run(run(WARMUP, QUERIES))
        seconds = time.perf_counter() - started
        gc.collect()
        end_rss = rss_mib()
    assert statuses == {200: QUERIES}
    assert end_rss - start_rss < 20, (start_rss, end_rss)
    figures.update(queries=QUERIES, rss_start_mib=round(start_rss, 1), rss_end_mib=round(end_rss, 1),
                   growth_mib=round(end_rss - start_rss, 1), queries_per_s=round((QUERIES - WARMUP) / seconds))
