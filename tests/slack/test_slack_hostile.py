"""Hostile requests to the Slack endpoint (issue 24, item 9): unsigned or malformed bodies are a
quiet 401, bodies are bounded before the signature is checked, the fallback text is escaped, and
a token Slack refuses is one sentence at start."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from slack_bolt import App
from starlette.testclient import TestClient

from semsearch.settings import Settings
from services.slack.bot import SlackConfigError, create_slack_app
from services.slack.formatting import answer_text
from services.slack.transport import MAX_BODY_BYTES, create_http_app

from .conftest import FakeSlack, command_body, sign

MALFORMED = [
    (b"garbage", "application/x-www-form-urlencoded"),
    (b"{not json", "application/json"),
    (b"payload=%7B%22type", "application/x-www-form-urlencoded"),
    (b"\xff\xfe\x00", "text/plain"),
    (b"", "application/json"),
]


@pytest.mark.parametrize(("body", "content_type"), MALFORMED)
def test_unsigned_malformed_bodies_are_a_quiet_401(app: App, body: bytes, content_type: str,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    client = TestClient(create_http_app(app), raise_server_exceptions=False)
    with caplog.at_level(logging.INFO):
        response = client.post("/slack/events", content=body, headers={"content-type": content_type})
    assert response.status_code == 401
    assert "Traceback" not in caplog.text and len(caplog.text) < 2000


def test_a_huge_body_is_refused_before_it_is_read(app: App) -> None:
    endpoint = create_http_app(app)
    delivered = {"bytes": 0}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:  # a chunked body of up to 64 MB, counted as the app reads it
        delivered["bytes"] += 65536
        return {"type": "http.request", "body": b"x" * 65536, "more_body": delivered["bytes"] < 64 << 20}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/slack/events", "raw_path": b"/slack/events",
             "query_string": b"", "headers": [(b"content-type", b"text/plain")], "http_version": "1.1",
             "scheme": "http", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1), "root_path": ""}
    asyncio.run(endpoint(scope, receive, send))
    assert sent[0]["status"] == 413
    assert delivered["bytes"] <= MAX_BODY_BYTES + 65536
    client = TestClient(endpoint, raise_server_exceptions=False)
    declared = client.post("/slack/events", content=b"x", headers={"content-length": str(10**9),
                                                                    "content-type": "text/plain"})
    assert declared.status_code == 413


def test_a_signed_request_still_works(app: App, fake_slack: FakeSlack) -> None:
    client = TestClient(create_http_app(app))
    body, now = command_body("tomatoes", fake_slack), int(time.time())
    headers = {"content-type": "application/x-www-form-urlencoded", "x-slack-request-timestamp": str(now),
               "x-slack-signature": sign(body, now)}
    assert client.post("/slack/events", content=body, headers=headers).status_code == 200


def test_the_fallback_text_escapes_mentions() -> None:
    text = answer_text("<!channel> <@U123> what & why", [], abstained=True)
    assert "<!channel>" not in answer_text("<!channel> dropout", [_hit()], abstained=False)
    assert "<!channel>" not in text and "<@U123>" not in text


def test_a_refused_token_is_one_sentence(settings: Settings) -> None:
    broken = settings.model_copy(update={"slack_api_url": "http://127.0.0.1:9/"})
    with pytest.raises(SlackConfigError, match="Slack did not accept SEMSEARCH_SLACK_BOT_TOKEN"):
        create_slack_app(lambda: None, broken)  # type: ignore[arg-type, return-value]


def _hit() -> Any:
    from semsearch.records import Chunk, Hit

    return Hit(Chunk("c1", "a.md", (), 1, 1, "text", "text"), 0.9, 1)
