"""Item 12: Slack requests altered after signing, replayed late, or delivered more than once."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltRequest

from tests.slack.conftest import FakeSlack, command_body, event_body, sign, signed_request
from tests.slack.test_slack_bot import FORM, JSON

MENTION = {"type": "app_mention", "user": "U1", "text": "<@UBOT> rotate API keys", "ts": "1700000000.000700",
           "channel": "C1"}


def test_a_body_altered_after_signing_is_rejected(app: App, fake_slack: FakeSlack) -> None:
    body = command_body("rotate keys", fake_slack)
    now = int(time.time())
    headers = {"content-type": FORM, "x-slack-request-timestamp": str(now), "x-slack-signature": sign(body, now)}
    assert app.dispatch(BoltRequest(body=body, headers=headers)).status == 200
    altered = body.replace("rotate+keys", "rotate+keys+and+more")
    assert altered != body
    assert app.dispatch(BoltRequest(body=altered, headers=headers)).status == 401
    fake_slack.wait_for("/respond/cmd")
    time.sleep(0.3)
    assert len(fake_slack.named("/respond/cmd")) == 1  # only the untouched request was answered


def test_a_correctly_signed_request_older_than_5_minutes_is_rejected(app: App, fake_slack: FakeSlack) -> None:
    body = event_body(MENTION, "EvOld")
    assert app.dispatch(signed_request(body, JSON, timestamp=int(time.time()) - 5 * 60 - 5)).status == 401
    assert app.dispatch(signed_request(body, JSON, timestamp=int(time.time()) + 5 * 60 + 5)).status == 401
    time.sleep(0.3)
    assert fake_slack.named("/api/chat.postMessage") == []
    assert app.dispatch(signed_request(body, JSON, timestamp=int(time.time()) - 4 * 60)).status == 200
    fake_slack.wait_for("/api/chat.postMessage")


def test_duplicate_event_ids_are_answered_once_even_concurrently(app: App, fake_slack: FakeSlack,
                                                                 figures: dict[str, Any]) -> None:
    body = event_body(MENTION, "EvDup")
    deliveries = 8
    with ThreadPoolExecutor(max_workers=deliveries) as pool:  # replays of one signed request, at once
        statuses = list(pool.map(lambda _: app.dispatch(signed_request(body, JSON)).status, range(deliveries)))
    assert statuses == [200] * deliveries  # acknowledged, so Slack stops retrying
    other = event_body({**MENTION, "ts": "1700000000.000800"}, "EvOther")
    assert app.dispatch(signed_request(other, JSON)).status == 200
    fake_slack.wait_for("/api/chat.postMessage", 2)
    time.sleep(0.5)
    assert len(fake_slack.named("/api/chat.postMessage")) == 2  # one per distinct event id
    figures.update(deliveries=deliveries, answered=1)
