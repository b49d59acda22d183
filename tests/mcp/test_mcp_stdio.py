"""`semsearch mcp` as a subprocess, driven by the MCP SDK's own client over stdio."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from .checks import check_bad_input, check_get_matches_the_file, check_status, check_tools
from .conftest import hits, publish, tool_error

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(120)


def server(index_dir: Path) -> StdioServerParameters:
    env = {**os.environ, "SEMSEARCH_MODEL": "hashing", "SEMSEARCH_INDEX_DIR": str(index_dir),
           "PYTHONPATH": str(REPO)}
    return StdioServerParameters(command=sys.executable, args=["-m", "services.main", "mcp"], env=env, cwd=REPO)


def test_tools_over_stdio(build_a: str, notes_a: Path, notes_b: Path, index_dir: Path) -> None:
    async def session() -> None:
        async with Client(server(index_dir), read_timeout_seconds=60) as client:
            await check_tools(client)
            first = await client.call_tool("search", {"query": "dropout rate", "top_k": 3})
            assert first.structured_content is not None
            assert first.structured_content["index"]["build_id"] == build_a
            assert {h["source"] for h in hits(first)} <= {"alpha/dropout.md", "alpha/keys.md", "guides/garden.md",
                                                         "guides/keras.txt"}
            filtered = await client.call_tool("search", {"query": "dropout", "source": "guides/"})
            assert hits(filtered) and all(h["source"].startswith("guides/") for h in hits(filtered))
            await check_get_matches_the_file(client, notes_a)
            await check_status(client, build_a)
            await check_bad_input(client, notes_a)
            # a build published while connected answers the next call (after the live index's 1 s look)
            build_b = publish(notes_b, index_dir)
            time.sleep(1.1)
            second = await client.call_tool("search", {"query": "dropout", "top_k": 3})
            assert second.structured_content is not None
            assert second.structured_content["index"]["build_id"] == build_b
            assert {h["source"] for h in hits(second)} <= {"beta/dropout.md", "beta/batchnorm.md"}
            resources = {str(r.uri) for r in (await client.list_resources()).resources}
            assert resources == {"note://beta/dropout.md", "note://beta/batchnorm.md"}

    anyio.run(session)


def test_no_index_is_a_tool_error(tmp_path: Path) -> None:
    async def session() -> None:
        async with Client(server(tmp_path / "empty-index"), read_timeout_seconds=60) as client:
            message = tool_error(await client.call_tool("search", {"query": "dropout"}))
            assert message == "No index is loaded; run `semsearch index`."
            assert tool_error(await client.call_tool("status", {})) == message

    anyio.run(session)
