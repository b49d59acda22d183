"""MCP over streamable HTTP at `/mcp` of a real `semsearch serve` app (uvicorn on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from semsearch.settings import Settings
from services.server import create_server_app
from tests.servers import serving

from .checks import check_bad_input, check_get_matches_the_file, check_status, check_tools
from .conftest import hits, publish

pytestmark = pytest.mark.timeout(120)
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "test", "version": "0"}}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


@pytest.fixture
def url(build_a: str, index_dir: Path) -> Iterator[str]:
    app = create_server_app(Settings(index_dir=index_dir), reload_interval=0.0)
    with serving(app) as base:
        yield base


@pytest.fixture
def keyed_url(build_a: str, index_dir: Path) -> Iterator[str]:
    settings = Settings(index_dir=index_dir, api_keys=["read-key"], admin_api_keys=["admin-key"])
    with serving(create_server_app(settings, reload_interval=0.0)) as base:
        yield base


@asynccontextmanager
async def connect(base: str, key: str | None = None) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        transport = streamable_http_client(f"{base}/mcp", http_client=http)
        async with Client(transport, read_timeout_seconds=30) as client:
            yield client


def same_answer(mcp: dict[str, Any], api: dict[str, Any]) -> None:
    for field in ("query", "searched_as", "abstained", "index"):
        assert mcp[field] == api[field], field
    assert mcp["results"] == api["results"]


def test_tools_over_http_match_post_query(url: str, build_a: str, notes_a: Path, notes_b: Path,
                                          index_dir: Path) -> None:
    async def session() -> None:
        async with connect(url) as client:
            await check_tools(client)
            for arguments in ({"query": "dropout rate", "top_k": 3}, {"query": "API keys", "source": "alpha/"}):
                result = await client.call_tool("search", arguments)
                assert result.structured_content is not None and hits(result)
                body = {"query": arguments["query"], "top_k": arguments.get("top_k")}
                if "source" in arguments:
                    body["filters"] = {"source": arguments["source"]}
                api = httpx.post(f"{url}/query", json=body, timeout=10).json()
                same_answer(result.structured_content, api)
            await check_get_matches_the_file(client, notes_a)
            await check_status(client, build_a)
            await check_bad_input(client, notes_a)
            build_b = publish(notes_b, index_dir)  # published while this client is connected
            after = await client.call_tool("search", {"query": "dropout"})
            assert after.structured_content is not None
            assert after.structured_content["index"]["build_id"] == build_b

    anyio.run(session)


def test_auth_as_post_query(keyed_url: str) -> None:
    def both(headers: dict[str, str]) -> tuple[httpx.Response, httpx.Response]:
        mcp = httpx.post(f"{keyed_url}/mcp", json=INIT, headers={**MCP_HEADERS, **headers}, timeout=10)
        api = httpx.post(f"{keyed_url}/query", json={"query": "dropout"}, headers=headers, timeout=10)
        return mcp, api

    for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "wrong"}, {"Authorization": "Basic x"}):
        mcp, api = both(headers)
        assert api.status_code == 401 and mcp.status_code == 401, headers
        assert mcp.json() == api.json() and mcp.headers["www-authenticate"] == "Bearer"
    assert httpx.post(f"{keyed_url}/mcp?api_key=read-key", json=INIT, headers=MCP_HEADERS).status_code == 401

    async def session(key: str) -> None:
        async with connect(keyed_url, key) as client:  # a read-only key may search, as on /query
            assert hits(await client.call_tool("search", {"query": "dropout"}))
            assert not (await client.call_tool("status", {})).is_error

    for key in ("read-key", "admin-key"):
        assert both({"Authorization": f"Bearer {key}"})[1].status_code == 200
        anyio.run(session, key)


def test_rate_limit_and_body_limit_apply(build_a: str, index_dir: Path) -> None:
    settings = Settings(index_dir=index_dir, api_keys=["k"], rate_limit=0.01, rate_burst=2, max_body_bytes=4096)
    with serving(create_server_app(settings, reload_interval=0.0)) as base:
        headers = {**MCP_HEADERS, "Authorization": "Bearer k"}
        big = {**INIT, "params": {**INIT["params"], "padding": "x" * 10_000}}  # type: ignore[dict-item]
        assert httpx.post(f"{base}/mcp", json=big, headers=headers).status_code == 413
        statuses = [httpx.post(f"{base}/mcp", json=INIT, headers=headers).status_code for _ in range(3)]
        assert statuses[-1] == 429 and 200 in statuses[:2]
