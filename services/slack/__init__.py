"""Answer questions from your notes in Slack (`/ask`, mentions, DMs). Needs slack-bolt."""

from __future__ import annotations

try:
    import slack_bolt  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError("The Slack bot needs slack-bolt: pip install 'semsearch[slack]'") from exc

from .bot import SlackConfigError, check_settings, create_slack_app
from .transport import EVENTS_PATH, events_endpoint, run_http, run_socket

__all__ = ["EVENTS_PATH", "SlackConfigError", "check_settings", "create_slack_app", "events_endpoint",
           "run_http", "run_socket"]
