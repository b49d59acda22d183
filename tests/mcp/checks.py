"""The checks both transports must pass, given a connected SDK client."""

from __future__ import annotations

from pathlib import Path

from mcp import Client

from .conftest import hits, text_of, tool_error

TOOLS = {"search", "get", "status"}


async def check_tools(client: Client) -> None:
    listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(listed) == TOOLS
    search = listed["search"].input_schema
    assert search["required"] == ["query"]
    assert search["properties"]["query"]["type"] == "string"
    assert search["properties"]["query"]["maxLength"] == 2000
    assert search["properties"]["top_k"] == {**search["properties"]["top_k"], "type": "integer", "minimum": 1,
                                             "maximum": 50}
    assert search["properties"]["source"]["type"] == "string"
    assert set(listed["get"].input_schema["required"]) == {"source", "start_line", "end_line"}
    for tool in listed.values():
        assert tool.description and tool.output_schema is not None
        assert tool.annotations is not None and tool.annotations.read_only_hint
    assert {"results", "index", "searched_as", "abstained"} <= set(listed["search"].output_schema["properties"])


async def check_get_matches_the_file(client: Client, notes: Path) -> None:
    result = await client.call_tool("search", {"query": "rotate api keys", "top_k": 3})
    hit = hits(result)[0]
    assert f"{hit['source']}:{hit['start_line']}-{hit['end_line']}" in text_of(result)  # the citation
    got = await client.call_tool("get", {"source": hit["source"], "start_line": hit["start_line"],
                                         "end_line": hit["end_line"]})
    assert not got.is_error and got.structured_content is not None
    lines = (notes / hit["source"]).read_text(encoding="utf-8").split("\n")
    assert got.structured_content["text"] == "\n".join(lines[hit["start_line"] - 1 : hit["end_line"]])
    assert got.structured_content["changed_since_build"] is False


async def check_status(client: Client, build_id: str) -> None:
    status = await client.call_tool("status", {})
    assert not status.is_error and status.structured_content is not None
    body = status.structured_content
    assert body["index"]["build_id"] == build_id and body["index"]["model"] == "hashing"
    assert body["file_count"] == 4 and body["chunk_count"] >= 4 and body["age_seconds"] >= 0
    assert {p["source"]: p["status"] for p in body["not_indexed"]} == {"escape.md": "skipped"}
    assert "outside" in body["not_indexed"][0]["reason"]


async def check_bad_input(client: Client, notes: Path) -> None:
    bad_searches = [
        ({"query": ""}, "The query is empty"),
        ({"query": "   "}, "The query is empty"),
        ({"query": "x" * 5000}, "the limit is 2000"),
        ({"query": "dropout", "top_k": 0}, "top_k must be a whole number from 1 to 50, got 0."),
        ({"query": "dropout", "top_k": 10**6}, "got 1000000"),
        ({"query": "dropout", "source": ""}, "source must be"),
    ]
    for arguments, message in bad_searches:
        assert message in tool_error(await client.call_tool("search", arguments))
    bad_gets = [
        ({"source": "../outside.md", "start_line": 1, "end_line": 1}, "leaves the notes folder"),
        ({"source": "alpha/../../outside.md", "start_line": 1, "end_line": 1}, "leaves the notes folder"),
        ({"source": str(notes / "alpha" / "keys.md"), "start_line": 1, "end_line": 1}, "absolute path"),
        ({"source": "/etc/passwd", "start_line": 1, "end_line": 1}, "absolute path"),
        ({"source": "escape.md", "start_line": 1, "end_line": 1}, "points outside the notes folder"),
        ({"source": "alpha/keys.md", "start_line": 1, "end_line": 99}, "past the end of 'alpha/keys.md'"),
        ({"source": "alpha/keys.md", "start_line": 1, "end_line": 10**6}, "at most 500"),
        ({"source": "alpha/keys.md", "start_line": 0, "end_line": 1}, "start_line must be"),
        ({"source": "nope.md", "start_line": 1, "end_line": 1}, "not in the notes folder"),
    ]
    for arguments, message in bad_gets:
        error = tool_error(await client.call_tool("get", arguments))
        assert message in error, error
        assert arguments["source"].startswith("/") or str(notes.parent) not in error  # no server path
    assert hits(await client.call_tool("search", {"query": "dropout"}))  # still answering
