"""The Slack bot over real HTTP (uvicorn on 127.0.0.1): standalone and inside the API server."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from slack_bolt import App
from slack_sdk import WebClient

from semsearch import LiveIndex, Searcher, SearchResult
from semsearch.embedders.hashing import HashingEmbedder
from semsearch.indexing.build import build_index
from semsearch.settings import Settings
from services.server.app import create_server_app
from services.slack import create_slack_app
from services.slack.dedup import SeenEvents
from services.slack.transport import EVENTS_PATH, create_http_app
from tests.servers import serving

from .conftest import RETRIEVAL, SIGNING_SECRET, FakeSlack, command_body, event_body, sign

FORM = "application/x-www-form-urlencoded"
SLOW_SEARCH_S = 5.0


def post_signed(url: str, body: str, content_type: str, secret: str = SIGNING_SECRET) -> httpx.Response:
    ts = int(time.time())
    headers = {"content-type": content_type, "x-slack-request-timestamp": str(ts),
               "x-slack-signature": sign(body, ts, secret)}
    return httpx.post(url, content=body.encode(), headers=headers, timeout=30)


class SlowSearcher(Searcher):
    """A searcher whose every search takes SLOW_SEARCH_S longer."""

    def search(self, query: str, *, top_k: int = 5, **filters: Any) -> SearchResult:
        time.sleep(SLOW_SEARCH_S)
        return super().search(query, top_k=top_k, **filters)


def test_slash_command_is_acknowledged_within_3s_while_the_search_takes_5s(
        searcher: Searcher, settings: Settings, fake_slack: FakeSlack) -> None:
    slow = SlowSearcher(searcher.index, searcher.embedder, searcher.retrieval, searcher.limits)
    client = WebClient(token="xoxb-test", base_url=f"{fake_slack.url}/api/")
    app = create_slack_app(lambda: slow, settings, client=client)
    with serving(create_http_app(app)) as base:
        started = time.monotonic()
        response = post_signed(base + EVENTS_PATH, command_body("how do I rotate API keys", fake_slack), FORM)
        acked_after = time.monotonic() - started
        assert response.status_code == 200
        assert acked_after < 3.0, f"ack took {acked_after:.2f}s"
        reply = fake_slack.wait_for("/respond/cmd", timeout=SLOW_SEARCH_S + 15)[0].body
        assert time.monotonic() - started >= SLOW_SEARCH_S  # the answer came after the slow search
        assert "keys.md" in str(reply["blocks"])


def test_the_api_server_serves_the_slack_bot_on_its_live_index(
        slack_notes: Path, tmp_path: Path, fake_slack: FakeSlack) -> None:
    """`create_server_app` (what `semsearch serve` runs) mounts the bot on the API's live index, so
    the bot follows a new build as `/query` does."""
    index_dir = tmp_path / "api-index"
    build_index(slack_notes, index_dir, HashingEmbedder())
    settings = Settings(index_dir=index_dir, model="hashing", abstain_threshold=0.1, top_k=3,
                        api_keys=[SecretStr("k-123")], slack_bot_token=SecretStr("xoxb-test"),
                        slack_signing_secret=SecretStr(SIGNING_SECRET), slack_api_url=f"{fake_slack.url}/api/",
                        slack_feedback_path=tmp_path / "votes.jsonl", slack_events_path=tmp_path / "events.db")
    with serving(create_server_app(settings, reload_interval=0.0)) as base:
        url = base + EVENTS_PATH
        # Slack signs its requests instead of sending an API key; a bad signature is refused
        assert post_signed(url, command_body("rotate keys", fake_slack), FORM, secret="wrong").status_code == 401
        assert post_signed(url, command_body("how do I rotate API keys", fake_slack), FORM).status_code == 200
        reply = fake_slack.wait_for("/respond/cmd")[0].body
        assert "keys.md" in str(reply["blocks"]) and "Rotating API keys" in str(reply["blocks"])
        # the API itself still wants its key
        assert httpx.post(base + "/query", json={"query": "keys"}).status_code == 401
        # a new build: the bot's next answer comes from it
        (slack_notes / "backups.md").write_text("# Databases\n\nRestore postgres backups with pg_restore.\n")
        second = build_index(slack_notes, index_dir, HashingEmbedder()).manifest.build_id
        assert post_signed(url, command_body("restore postgres backups", fake_slack), FORM).status_code == 200
        reply = fake_slack.wait_for("/respond/cmd", count=2)[1].body
        assert "backups.md" in str(reply["blocks"])
        status = httpx.get(base + "/status", headers={"Authorization": "Bearer k-123"}).json()
        assert second in json.dumps(status)


def test_the_api_edge_alone_has_no_slack_route(slack_notes: Path, tmp_path: Path) -> None:
    """Slack is mounted by the composition layer (`services.server`), not by the API edge."""
    from fastapi.testclient import TestClient

    from services.api import create_app

    index_dir = tmp_path / "api-only-index"
    build_index(slack_notes, index_dir, HashingEmbedder())
    settings = Settings(index_dir=index_dir, model="hashing", slack_bot_token=SecretStr("xoxb-test"),
                        slack_signing_secret=SecretStr(SIGNING_SECRET))
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        assert client.post(EVENTS_PATH, content="{}").status_code == 404


def test_a_retry_reaching_another_process_is_still_dropped(
        slack_index: Path, settings: Settings, fake_slack: FakeSlack, tmp_path: Path) -> None:
    """Two server processes (each with its own live index) share the event store: three deliveries
    of one event, one reply."""
    shared = settings.model_copy(update={"slack_events_path": tmp_path / "shared" / "events.db"})
    client = WebClient(token="xoxb-test", base_url=f"{fake_slack.url}/api/")
    workers: list[App] = [
        create_slack_app(LiveIndex(slack_index, HashingEmbedder(), retrieval=RETRIEVAL).searcher, shared, client=client)
        for _ in range(2)]
    event = {"type": "app_mention", "user": "U1", "text": "<@UBOT> how do I rotate API keys",
             "ts": "1700000000.000100", "channel": "C1"}
    body = event_body(event, event_id="EvShared")
    with serving(create_http_app(workers[0])) as first, serving(create_http_app(workers[1])) as second:
        for attempt, base in enumerate([first, second, second]):
            ts = int(time.time())
            headers = {"content-type": "application/json", "x-slack-request-timestamp": str(ts),
                       "x-slack-signature": sign(body, ts), "x-slack-retry-num": str(attempt),
                       "x-slack-retry-reason": "http_timeout"}
            assert httpx.post(base + EVENTS_PATH, content=body, headers=headers, timeout=30).status_code == 200
        fake_slack.wait_for("/api/chat.postMessage")
        time.sleep(0.5)
    assert len(fake_slack.named("/api/chat.postMessage")) == 1


def test_seen_events_are_shared_through_the_file(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    first, second = SeenEvents(path), SeenEvents(path)
    assert first.add("Ev1")
    assert not second.add("Ev1")
    assert second.add("Ev2") and not first.add("Ev2")
    first.close()
    assert not SeenEvents(path).add("Ev1")  # survives a restart
