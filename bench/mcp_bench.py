"""MCP `search` vs `POST /query` latency on the bundled notes, and one real stdio session.

    SEMSEARCH_MODEL=hashing python bench/mcp_bench.py [N]

Builds the bundled notes into a temporary index, serves `create_server_app` with uvicorn on
127.0.0.1, and times N (default 50) calls of each, same query and build: the MCP SDK's client over
streamable HTTP (`/mcp`) against httpx `POST /query`. Then starts `semsearch mcp` over stdio and
prints its tool list and one search result."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx
import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from semsearch.settings import Settings, bundled_notes_dir  # noqa: E402
from semsearch.wiring import build_notes  # noqa: E402
from services.server import create_server_app  # noqa: E402
from tests.api.test_api_server import serving  # noqa: E402

QUERY = "what is inverted dropout"


def say(text: str) -> None:
    sys.stdout.write(text + "\n")


def main(n: int) -> None:
    index_dir = Path(tempfile.mkdtemp()) / "index"
    settings = Settings(index_dir=index_dir, notes_dir=bundled_notes_dir())
    build_notes(settings)
    with serving(create_server_app(settings)) as url:
        with httpx.Client(base_url=url, timeout=30) as http:
            api = []
            for _ in range(n + 5):
                started = time.perf_counter()
                assert http.post("/query", json={"query": QUERY, "top_k": 5}).status_code == 200
                api.append(time.perf_counter() - started)

        async def mcp_times() -> list[float]:
            out = []
            async with httpx2.AsyncClient(timeout=30) as client_http, \
                    Client(streamable_http_client(f"{url}/mcp", http_client=client_http)) as client:
                for _ in range(n + 5):
                    started = time.perf_counter()
                    result = await client.call_tool("search", {"query": QUERY, "top_k": 5})
                    out.append(time.perf_counter() - started)
                    assert not result.is_error
            return out

        mcp = anyio.run(mcp_times)
    for name, times in (("POST /query", api[5:]), ("MCP search (HTTP)", mcp[5:])):
        say(f"{name:>18}: median {statistics.median(times) * 1000:.2f} ms over {len(times)} "
              f"(p90 {sorted(times)[int(len(times) * 0.9)] * 1000:.2f} ms)")

    async def stdio_session() -> None:
        env = {**os.environ, "SEMSEARCH_INDEX_DIR": str(index_dir), "PYTHONPATH": str(REPO)}
        params = StdioServerParameters(command=sys.executable, args=["-m", "services.main", "mcp"], env=env,
                                       cwd=str(REPO))
        async with Client(params) as client:
            tools = (await client.list_tools()).tools
            say("\n$ semsearch mcp   (stdio)\ntools:")
            for tool in tools:
                say(f"  {tool.name}({', '.join(tool.input_schema.get('properties', {}))}): "
                      f"{(tool.description or '').splitlines()[0]}")
            times = []
            for _ in range(n):
                started = time.perf_counter()
                result = await client.call_tool("search", {"query": QUERY, "top_k": 3})
                times.append(time.perf_counter() - started)
            say(f"\nsearch {{'query': {QUERY!r}, 'top_k': 3}} ->")
            say("\n".join(getattr(block, "text", "") for block in result.content))
            say(f"\n  MCP search (stdio): median {statistics.median(times) * 1000:.2f} ms over {n}")

    anyio.run(stdio_session)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
