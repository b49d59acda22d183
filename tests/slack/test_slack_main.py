"""`python -m services.slack`: settings -> a live index (built on first use) -> the bot, and Socket
Mode without the web stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from slack_bolt import App

from semsearch.settings import Settings, get_settings
from services.slack import __main__ as slack_main

from .conftest import SIGNING_SECRET, FakeSlack, command_body, signed_request
from .test_slack_bot import FORM, blocks_text

REPO = Path(__file__).resolve().parents[2]


def test_main_builds_the_missing_index_then_serves_the_bot_on_it(
        slack_notes: Path, tmp_path: Path, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    index_dir = tmp_path / "first-run-index"
    for name, value in {"INDEX_DIR": str(index_dir), "NOTES_DIR": str(slack_notes), "MODEL": "hashing",
                        "ABSTAIN_THRESHOLD": "0.1", "SLACK_BOT_TOKEN": "xoxb-test",
                        "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": f"{fake_slack.url}/api/",
                        "SLACK_FEEDBACK_PATH": str(tmp_path / "votes.jsonl"),
                        "SLACK_EVENTS_PATH": str(tmp_path / "events.db")}.items():
        monkeypatch.setenv(f"SEMSEARCH_{name}", value)
    get_settings.cache_clear()
    served: list[tuple[App, Settings]] = []
    monkeypatch.setattr(slack_main, "run_http", lambda app, settings: served.append((app, settings)))
    assert slack_main.main([]) == 0
    assert (index_dir / "CURRENT").is_file()  # built from the notes on first use
    (app, settings), = served
    assert settings.slack_mode == "http"
    assert app.dispatch(signed_request(command_body("how do I rotate API keys", fake_slack), FORM)).status == 200
    assert "keys.md" in blocks_text(fake_slack.wait_for("/respond/cmd")[0].body)


def test_main_names_a_missing_token(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SEMSEARCH_SLACK_BOT_TOKEN", "xoxb-test")
    get_settings.cache_clear()
    assert slack_main.main(["--mode", "socket"]) == 1
    assert "SEMSEARCH_SLACK_APP_TOKEN" in capsys.readouterr().err


def test_socket_mode_needs_no_web_stack(tmp_path: Path) -> None:
    """With the `slack` extra alone (no Starlette, uvicorn or FastAPI) the bot imports, and HTTP
    mode says what to install instead of failing with a traceback."""
    script = (
        "import sys\n"
        "for name in ('starlette', 'uvicorn', 'fastapi'):\n"
        "    sys.modules[name] = None  # as if not installed\n"
        "import services.slack\n"
        "from services.slack.__main__ import main\n"
        "from services.slack.transport import missing_http_stack\n"
        "assert missing_http_stack() == ['starlette', 'uvicorn'], missing_http_stack()\n"
        "sys.exit(main(['--mode', 'http']))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SEMSEARCH_SLACK_BOT_TOKEN": "xoxb-test",
           "SEMSEARCH_SLACK_SIGNING_SECRET": SIGNING_SECRET, "SEMSEARCH_INDEX_DIR": str(tmp_path / "index")}
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1, result.stderr
    assert "Slack http mode needs starlette and uvicorn: pip install 'semsearch[slack,api]'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "index").exists()  # refused before building anything
