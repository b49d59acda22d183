"""A fake Slack Web API on 127.0.0.1, signed requests, and a Bolt app over a live index of a tiny
hashing build."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from pydantic import SecretStr
from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient

from semsearch import LiveIndex, Searcher
from semsearch.embedders.hashing import HashingEmbedder
from semsearch.indexing.build import build_index
from semsearch.ranking.fusion import RetrievalConfig
from semsearch.settings import Settings
from services.slack import create_slack_app

SIGNING_SECRET = "test-signing-secret"
BOT_USER = "UBOT"


@dataclass
class Call:
    path: str
    body: dict[str, Any]


@dataclass
class FakeSlack:
    """Records every request; answers `{"ok": true}` (429 first, while `rate_limit` > 0)."""

    url: str = ""
    calls: list[Call] = field(default_factory=list)
    rate_limit: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def named(self, path: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.path == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 8.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.named(path)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"{count} call(s) to {path} expected, got {self.named(path)}")


def _handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            if "json" in (self.headers.get("Content-Type") or ""):
                body = json.loads(raw or "{}")
            else:
                body = dict(parse_qsl(raw))
            with fake.lock:
                fake.calls.append(Call(self.path, body))
                limited = fake.rate_limit > 0 and self.path.startswith("/api/chat.")
                if limited:
                    fake.rate_limit -= 1
            if limited:
                self._reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
            elif self.path == "/api/auth.test":
                self._reply(200, {"ok": True, "user_id": BOT_USER, "bot_id": "BBOT", "team_id": "T1",
                                  "url": "https://example.slack.com/"})
            elif self.path.startswith("/api/"):
                self._reply(200, {"ok": True, "ts": "1700000000.000200", "channel": "C1"})
            else:  # a response_url
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

        def _reply(self, status: int, data: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            payload = json.dumps(data).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def slack_notes(tmp_path: Path) -> Path:
    root = tmp_path / "slack-notes"
    root.mkdir()
    (root / "keys.md").write_text(
        "# Operations\n\n## Rotating API keys\n\nRotate API keys every 90 days with the vault CLI.\n")
    (root / "garden.txt").write_text("Tomatoes\n\nWater tomatoes early in the morning.\n")
    (root / "web.md").write_text(
        "# Web\n\n## Escaping HTML\n\nNever echo <script>alert(1)</script> & keep *bold* "
        "and _under_ and ~strike~ and `code` safe.\n")
    return root


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(slack_bot_token=SecretStr("xoxb-test"), slack_signing_secret=SecretStr(SIGNING_SECRET),
                    slack_feedback_path=tmp_path / "feedback" / "votes.jsonl", top_k=3,
                    notes_base_url="https://notes.example/blob/main/")


# the hashing embedder is not MiniLM: a matching note scores 0.5 or more, an unrelated one about
# 0.19 (the calibration's bias alone), so this threshold splits them
RETRIEVAL = RetrievalConfig(abstain_threshold=0.3)


@pytest.fixture
def slack_index(slack_notes: Path, tmp_path: Path) -> Path:
    index_dir = tmp_path / "slack-index"
    build_index(slack_notes, index_dir, HashingEmbedder())
    return index_dir


@pytest.fixture
def live(slack_index: Path) -> LiveIndex:
    """The live index the bot answers from; it looks for a new build on every question."""
    index = LiveIndex(slack_index, HashingEmbedder(), retrieval=RETRIEVAL, reload_interval=0.0)
    index.refresh(force=True)
    return index


@pytest.fixture
def searcher(live: LiveIndex) -> Searcher:
    return live.searcher()


@pytest.fixture
def app(live: LiveIndex, settings: Settings, fake_slack: FakeSlack) -> App:
    client = WebClient(token="xoxb-test", base_url=f"{fake_slack.url}/api/")
    return create_slack_app(live.searcher, settings, client=client)


def sign(body: str, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    """`X-Slack-Signature` as Slack computes it: v0=HMAC-SHA256(secret, "v0:ts:body")."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


Send = Callable[..., BoltResponse]


def signed_request(body: str, content_type: str, *, timestamp: int | None = None,
                   secret: str = SIGNING_SECRET, headers: dict[str, str] | None = None) -> BoltRequest:
    ts = int(time.time()) if timestamp is None else timestamp
    return BoltRequest(body=body, headers={
        "content-type": content_type, "x-slack-request-timestamp": str(ts),
        "x-slack-signature": sign(body, ts, secret), **(headers or {})})


def form(data: dict[str, str]) -> str:
    return urlencode(data)


def command_body(text: str, fake: FakeSlack) -> str:
    return form({"command": "/ask", "text": text, "team_id": "T1", "user_id": "U1", "user_name": "ann",
                 "channel_id": "C1", "response_url": f"{fake.url}/respond/cmd", "trigger_id": "1.2.3"})


def event_body(event: dict[str, Any], event_id: str = "Ev1") -> str:
    return json.dumps({"token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                       "event_id": event_id, "event_time": int(time.time()), "event": event,
                       "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}]})


def action_body(action_id: str, value: str, fake: FakeSlack, user: str = "U1") -> str:
    payload = {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": user},
               "api_app_id": "A1", "channel": {"id": "C1"}, "container": {"type": "message"},
               "response_url": f"{fake.url}/respond/action", "trigger_id": "1.2.3",
               "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value,
                            "action_ts": "1700000000.1"}]}
    return form({"payload": json.dumps(payload)})
