"""Filters and scopes at each edge: the keys file's `collections=`, 403 for a collection outside the
key's scope (naming nothing), an unknown collection (API 404) or a malformed date (API 422) as one
line / a Slack warning / an MCP tool error, and the filter fields and syntax of `POST /query`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from pydantic import SecretStr

from semsearch import LiveIndex
from semsearch.embedders.hashing import HashingEmbedder
from semsearch.settings import Settings
from services.api.auth import load_api_keys
from services.api.errors import StartupError
from services.slack.bot import Answerer, channel_of, channel_scope
from tests.test_isolation import FULL_KEY, SCOPED_KEY, connect
from tests.test_isolation import index_dir as index_dir  # noqa: F401  (the two-collection build, a fixture)
from tests.test_isolation import server as server  # noqa: F401  (a server with a scoped and a full key)

pytestmark = pytest.mark.timeout(120)


def keys_file(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "keys"
    path.write_text(text, encoding="utf-8")
    return Settings(api_keys_file=path)


def test_the_keys_file_takes_collections_and_keeps_old_lines(tmp_path: Path) -> None:
    keys = load_api_keys(keys_file(tmp_path, "# comment\nplain\nboss admin\nteam collections=work,reading\n"
                                              "lead admin collections=work\n"))
    found = {k.secret.decode(): (k.role, k.collections) for k in keys}
    assert found == {"plain": ("read", None), "boss": ("admin", None),
                     "team": ("read", frozenset({"work", "reading"})), "lead": ("admin", frozenset({"work"}))}


@pytest.mark.parametrize("line", ["k root", "k collections=", "k collections=work,", "k collections=a b",
                                  "k collections=work admin", "k admin admin", "k collections=../x"])
def test_an_invalid_keys_line_is_a_startup_error_naming_its_number(tmp_path: Path, line: str) -> None:
    with pytest.raises(StartupError, match=r"^Line 2 of the API keys file .* is not `KEY`, `KEY admin` or "):
        load_api_keys(keys_file(tmp_path, f"ok\n{line}\n"))


def post(base: str, key: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{base}/query", json=body, headers={"X-API-Key": key}, timeout=30)


def test_api_filters_and_their_errors(server: str) -> None:  # noqa: F811
    forbidden = [post(server, SCOPED_KEY, {"query": "keys", "collections": name}) for name in (["home"], ["nope"])]
    assert {r.status_code for r in forbidden} == {403}
    assert len({r.text for r in forbidden}) == 1 and "home" not in forbidden[0].text  # names nothing
    typed = post(server, SCOPED_KEY, {"query": "in:home keys", "syntax": True})
    assert typed.status_code == 403 and typed.text == forbidden[0].text
    unknown = post(server, FULL_KEY, {"query": "keys", "collections": ["nope"]})  # well formed, not there: 404
    assert unknown.status_code == 404 and unknown.json()["error"] == {
        "code": "not_found", "message": "Unknown collection 'nope'; the collections are: home, work."}
    empty = post(server, FULL_KEY, {"query": "keys", "since": "2025-07", "until": "2025-06"})
    assert empty.status_code == 200 and empty.json()["results"] == []  # an empty range matches nothing
    for body in ({"since": "2025-13"}, {"until": "June"}, {"query": "until:2025-02-30 keys", "syntax": True}):
        bad = post(server, FULL_KEY, {"query": "keys", **body})
        assert bad.status_code == 422 and "must be a date as YYYY, YYYY-MM or YYYY-MM-DD" in bad.text
    hits = post(server, FULL_KEY, {"query": "rotate keys", "collections": ["home"], "tags_all": ["security"],
                                   "since": "2025-02", "until": "2025-02", "path": "keys*"}).json()["results"]
    assert hits and all((h["collection"], h["source"], h["date"]) == ("home", "keys.md", "2025-02-03")
                        and "security" in h["tags"] for h in hits)
    typed_ok = post(server, FULL_KEY, {"query": "in:work #kubernetes rotate", "syntax": True}).json()
    assert typed_ok["query"] == "rotate" and {h["source"] for h in typed_ok["results"]} == {"ops/rotate.md"}
    literal = post(server, FULL_KEY, {"query": "in:work rotate"}).json()  # without `syntax`, plain text
    assert literal["query"] == "in:work rotate"
    status = httpx.get(f"{server}/status", headers={"X-API-Key": FULL_KEY}).json()
    assert [c["name"] for c in status["collections"]] == ["home", "work"] and "folder" not in status["collections"][0]


def test_mcp_filter_errors_are_one_line_tool_errors(server: str) -> None:  # noqa: F811
    async def run() -> None:
        async with connect(server, FULL_KEY) as client:
            for arguments, says in [({"collections": ["nope"]}, "Unknown collection 'nope'"),
                                    ({"since": "2025-13"}, "since must be a date"),
                                    ({"tags_all": ["9lives"]}, "starts with a letter")]:
                result = await client.call_tool("search", {"query": "keys", **arguments})
                text = "".join(getattr(c, "text", "") for c in result.content)
                assert result.is_error and says in text and "\n" not in text
            found = await client.call_tool("search", {"query": "rotate", "collections": ["home"],
                                                      "tags_any": ["garden"]})
            assert {r["collection"] for r in (found.structured_content or {})["results"]} == {"home"}
        async with connect(server, SCOPED_KEY) as client:
            refused = await client.call_tool("search", {"query": "keys", "collections": ["home"]})
            text = "".join(getattr(c, "text", "") for c in refused.content)
            assert refused.is_error and text == "Searching one of the collections asked for is not allowed here."

    anyio.run(run)


@pytest.fixture
def answerer(index_dir: Path, tmp_path: Path) -> Iterator[Answerer]:  # noqa: F811
    live = LiveIndex(index_dir, HashingEmbedder(), reload_interval=0.0)
    live.refresh(force=True)
    settings = Settings(slack_bot_token=SecretStr("x"), slack_signing_secret=SecretStr("y"),
                        slack_channel_collections={"C1": ["work"], "*": ["home"]})
    yield Answerer(live.searcher, settings)
    live.close()


def test_slack_channels_map_to_collections_and_errors_are_one_warning(answerer: Answerer) -> None:
    settings = answerer.settings
    assert channel_scope(settings, "C1") == frozenset({"work"}) and channel_scope(settings, "C7") == {"home"}
    assert channel_scope(settings, "dm") == {"home"} and channel_scope(Settings(), "C1") is None
    assert channel_of("D123") == "dm" and channel_of("C1", "im") == "dm" and channel_of("C1") == "C1"
    text, _ = answerer("in:nope keys", shareable=False, channel="C7")
    assert text == ":warning: Searching one of the collections asked for is not allowed here."
    text, _ = answerer("since:2025-13 keys", shareable=False, channel="C1")
    assert text.startswith(":warning: since must be a date") and "\n" not in text
    text, blocks = answerer("in:work rotate keys", shareable=False, channel="C1")
    assert "keys.md" in str(blocks) and "home:" not in str(blocks)
