"""The real Bolt app, driven with signed requests; its Web API calls go to a local fake Slack."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from semsearch import LiveIndex
from semsearch.embedders.hashing import HashingEmbedder
from semsearch.indexing.build import build_index
from semsearch.settings import Settings
from services.slack import create_slack_app
from services.slack.formatting import ACTION_SHARE, ACTION_VOTE_UP, NOTHING_FOUND, USAGE

from .conftest import (
    RETRIEVAL,
    FakeSlack,
    action_body,
    command_body,
    event_body,
    form,
    signed_request,
)

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def blocks_text(body: dict[str, Any]) -> str:
    blocks = body.get("blocks")
    if isinstance(blocks, str):  # chat.postMessage sends blocks as a JSON string in form posts
        blocks = json.loads(blocks)
    return json.dumps(blocks, ensure_ascii=False)


def ask(app: App, fake: FakeSlack, text: str) -> dict[str, Any]:
    """The reply to one `/ask` (the newest response, after any earlier ones)."""
    before = len(fake.named("/respond/cmd"))
    response = app.dispatch(signed_request(command_body(text, fake), FORM))
    assert response.status == 200
    return fake.wait_for("/respond/cmd", count=before + 1)[-1].body


def test_bad_signature_is_rejected(app: App, fake_slack: FakeSlack) -> None:
    request = signed_request(command_body("rotate keys", fake_slack), FORM, secret="wrong")
    assert app.dispatch(request).status == 401
    assert fake_slack.named("/respond/cmd") == []


def test_stale_timestamp_is_rejected(app: App, fake_slack: FakeSlack) -> None:
    stale = int(time.time()) - 6 * 60
    assert app.dispatch(signed_request(command_body("rotate keys", fake_slack), FORM,
                                       timestamp=stale)).status == 401


def test_url_verification_returns_the_challenge(app: App) -> None:
    body = json.dumps({"token": "x", "challenge": "c-123", "type": "url_verification"})
    response = app.dispatch(signed_request(body, JSON))
    assert response.status == 200
    assert "c-123" in response.body


def test_ask_acks_then_responds_with_the_passage(app: App, fake_slack: FakeSlack) -> None:
    response = app.dispatch(signed_request(command_body("how do I rotate API keys", fake_slack), FORM))
    assert response.status == 200 and response.body == ""  # the ack, before any search
    reply = fake_slack.wait_for("/respond/cmd")[0].body
    assert reply["response_type"] == "ephemeral"
    text = blocks_text(reply)
    assert "keys.md" in text and "Rotating API keys" in text and "lines 1–5" in text
    assert "*Rotate* *API* *keys*" in text  # the query's words in bold
    assert "https://notes.example/blob/main/keys.md#L1-L5" in text
    assert ACTION_SHARE in text and ACTION_VOTE_UP in text


def test_empty_question_gets_the_usage_hint(app: App, fake_slack: FakeSlack) -> None:
    assert USAGE in blocks_text(ask(app, fake_slack, "   "))


def test_no_confident_hit_says_nothing_answers(app: App, fake_slack: FakeSlack) -> None:
    reply = ask(app, fake_slack, "zebra quantum xylophone")
    assert reply["text"] == NOTHING_FOUND
    assert NOTHING_FOUND in blocks_text(reply) and "garden.txt" not in blocks_text(reply)


def test_note_text_is_escaped(app: App, fake_slack: FakeSlack) -> None:
    text = blocks_text(ask(app, fake_slack, "escaping script html"))
    assert "web.md" in text
    assert "<script>" not in text and "&lt;*script*&gt;" in text
    assert "&amp;" in text
    assert "*bold*" not in text and "\u2217bold\u2217" in text
    assert "_under_" not in text and "~strike~" not in text and "`code`" not in text


def test_mention_replies_in_the_thread(app: App, fake_slack: FakeSlack) -> None:
    event = {"type": "app_mention", "user": "U1", "text": "<@UBOT> how do I rotate API keys",
             "ts": "1700000000.000100", "channel": "C1"}
    assert app.dispatch(signed_request(event_body(event), JSON)).status == 200
    post = fake_slack.wait_for("/api/chat.postMessage")[0].body
    assert post["thread_ts"] == "1700000000.000100" and post["channel"] == "C1"
    assert "keys.md" in blocks_text(post)


def test_dm_replies_directly_and_ignores_unmentioned_thread_replies(app: App, fake_slack: FakeSlack) -> None:
    in_thread = {"type": "message", "channel_type": "im", "user": "U1", "channel": "D1",
                 "text": "rotate API keys", "ts": "1700000000.000300", "thread_ts": "1700000000.000100"}
    app.dispatch(signed_request(event_body(in_thread, "EvThread"), JSON))
    dm = {"type": "message", "channel_type": "im", "user": "U1", "channel": "D1",
          "text": "how do I rotate API keys", "ts": "1700000000.000400"}
    app.dispatch(signed_request(event_body(dm, "EvDm"), JSON))
    posts = fake_slack.wait_for("/api/chat.postMessage")
    time.sleep(0.3)
    posts = fake_slack.named("/api/chat.postMessage")
    assert len(posts) == 1
    assert posts[0].body["channel"] == "D1" and "thread_ts" not in posts[0].body


def test_a_retried_event_is_answered_once(app: App, fake_slack: FakeSlack) -> None:
    event = {"type": "app_mention", "user": "U1", "text": "<@UBOT> rotate API keys",
             "ts": "1700000000.000500", "channel": "C1"}
    body = event_body(event, "EvRetry")
    assert app.dispatch(signed_request(body, JSON)).status == 200
    retry = app.dispatch(signed_request(body, JSON, headers={"x-slack-retry-num": "1",
                                                             "x-slack-retry-reason": "http_timeout"}))
    assert retry.status == 200
    fake_slack.wait_for("/api/chat.postMessage")
    time.sleep(0.3)
    assert len(fake_slack.named("/api/chat.postMessage")) == 1


def test_feedback_click_appends_a_hashed_line(app: App, fake_slack: FakeSlack, settings: Settings) -> None:
    value = json.dumps({"q": "rotate keys", "ids": ["abc", "def"]})
    for _ in range(2):
        app.dispatch(signed_request(action_body(ACTION_VOTE_UP, value, fake_slack, user="U42"), FORM))
    fake_slack.wait_for("/respond/action", count=2)
    lines = settings.slack_feedback_path.read_text().splitlines()
    assert len(lines) == 2
    entry = json.loads(lines[0])
    assert entry["question"] == "rotate keys" and entry["chunk_ids"] == ["abc", "def"]
    assert entry["vote"] == "up" and "time" in entry
    salt = settings.slack_feedback_salt.get_secret_value()
    assert entry["user"] == hashlib.sha256(f"{salt}:U42".encode()).hexdigest()
    assert "U42" not in lines[0]


def test_share_posts_the_answer_in_channel(app: App, fake_slack: FakeSlack) -> None:
    value = json.dumps({"q": "how do I rotate API keys", "ids": []})
    app.dispatch(signed_request(action_body(ACTION_SHARE, value, fake_slack), FORM))
    calls = fake_slack.wait_for("/respond/action", count=2)
    shared = calls[0].body
    assert shared["response_type"] == "in_channel" and "keys.md" in blocks_text(shared)
    assert ACTION_SHARE not in blocks_text(shared)
    assert calls[1].body.get("delete_original") is True


def test_rate_limited_post_is_retried_after_retry_after(app: App, fake_slack: FakeSlack) -> None:
    fake_slack.rate_limit = 1
    event = {"type": "app_mention", "user": "U1", "text": "<@UBOT> rotate API keys",
             "ts": "1700000000.000600", "channel": "C1"}
    started = time.monotonic()
    app.dispatch(signed_request(event_body(event, "Ev429"), JSON))
    posts = fake_slack.wait_for("/api/chat.postMessage", count=2)
    assert time.monotonic() - started >= 1.0  # waited out Retry-After: 1
    assert posts[0].body == posts[1].body
    time.sleep(0.2)
    assert len(fake_slack.named("/api/chat.postMessage")) == 2


def test_form_helper_round_trips() -> None:
    assert form({"a": "b c"}) == "a=b+c"


def test_http_transport_serves_slack_events(app: App) -> None:
    from fastapi.testclient import TestClient

    from services.slack.transport import create_http_app

    body = json.dumps({"token": "x", "challenge": "c-456", "type": "url_verification"})
    request = signed_request(body, JSON)
    headers = {k: v[0] for k, v in request.headers.items()}
    with TestClient(create_http_app(app)) as client:
        assert client.post("/slack/events", content=body, headers=headers).json() == {"challenge": "c-456"}
        headers["x-slack-signature"] = "v0=bad"
        assert client.post("/slack/events", content=body, headers=headers).status_code == 401


BACKUPS = "# Databases\n\n## Restoring backups\n\nRestore postgres backups nightly with pg_restore.\n"


def test_the_bot_follows_a_newly_published_build(
        app: App, live: LiveIndex, slack_notes: Path, slack_index: Path, fake_slack: FakeSlack) -> None:
    question = "how do I restore postgres backups with pg_restore"
    first = live.searcher().index.build_id
    assert "backups.md" not in blocks_text(ask(app, fake_slack, question))
    (slack_notes / "backups.md").write_text(BACKUPS)
    second = build_index(slack_notes, slack_index, HashingEmbedder()).manifest.build_id
    assert second != first
    reply = ask(app, fake_slack, question)  # the next answer comes from the new build
    text = blocks_text(reply)
    assert "backups.md" in text and "Restoring backups" in text and "*postgres* *backups*" in text
    assert live.searcher().index.build_id == second and live.reloads == 1
    assert "keys.md" in blocks_text(ask(app, fake_slack, "how do I rotate API keys"))  # the rest is still there


def test_before_the_first_build_the_bot_says_search_is_unavailable_then_answers(
        slack_notes: Path, tmp_path: Path, settings: Settings, fake_slack: FakeSlack) -> None:
    index_dir = tmp_path / "not-built-yet"
    live = LiveIndex(index_dir, HashingEmbedder(), retrieval=RETRIEVAL, reload_interval=0.0)
    app = create_slack_app(live.searcher, settings,
                           client=WebClient(token="xoxb-test", base_url=f"{fake_slack.url}/api/"))
    reply = ask(app, fake_slack, "how do I rotate API keys")
    assert reply["text"] == (":warning: Search is unavailable right now: no index has been built yet; "
                             "run `semsearch index`.")
    assert str(tmp_path) not in json.dumps(reply)  # a server path is for the log, not for Slack
    build_index(slack_notes, index_dir, HashingEmbedder())
    assert "keys.md" in blocks_text(ask(app, fake_slack, "how do I rotate API keys"))
