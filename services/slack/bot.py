"""The Slack Bolt app: `/ask`, mentions, DMs, Share in channel and 👍/👎 feedback.

It calls only the public search core (`Searcher.search`). Transports live in `transport.py`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.context.respond import Respond
from slack_bolt.context.say import Say
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from semsearch import Searcher
from semsearch.errors import (
    CALLER_FAILURES,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    SemsearchError,
    failure_of,
)
from semsearch.query_syntax import parse_query
from semsearch.settings import Settings

from .dedup import SeenEvents
from .feedback import FeedbackRecorder
from .formatting import (
    ACTION_SHARE,
    ACTION_VOTE_DOWN,
    ACTION_VOTE_UP,
    USAGE,
    Block,
    answer_blocks,
    answer_text,
    parse_button_value,
    text_blocks,
)

logger = logging.getLogger(__name__)

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_VOTE = re.compile(f"^({ACTION_VOTE_UP}|{ACTION_VOTE_DOWN})$")


class SlackConfigError(ValueError):
    """A setting the chosen Slack transport needs is missing."""


def check_settings(settings: Settings) -> None:
    """Raise SlackConfigError naming the environment variable to set."""
    missing = ["SEMSEARCH_SLACK_BOT_TOKEN"] if settings.slack_bot_token is None else []
    if settings.slack_mode == "http" and settings.slack_signing_secret is None:
        missing.append("SEMSEARCH_SLACK_SIGNING_SECRET")
    if settings.slack_mode == "socket" and settings.slack_app_token is None:
        missing.append("SEMSEARCH_SLACK_APP_TOKEN")
    if missing:
        raise SlackConfigError(f"Slack {settings.slack_mode} mode needs {' and '.join(missing)}; "
                               "see docs/slack.md.")


def strip_mentions(text: str) -> str:
    """The question in a message: `<@U123> what is dropout` -> `what is dropout`."""
    return " ".join(_MENTION.sub(" ", text).split())


def _reason(exc: Exception) -> str:
    """A short reason for a failed token check, without the token."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "refused"))
    reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or type(exc).__name__
    return str(reason)


def _secret(value: Any) -> str | None:
    return None if value is None else str(value.get_secret_value())


SearcherSource = Callable[[], Searcher]

# What Slack users are told when there is nothing to search: the core's messages name server paths,
# so they go to the log and the channel gets a sentence of its own.
UNAVAILABLE = ":warning: Search is unavailable right now: "
_UNAVAILABLE_REASONS: tuple[tuple[type[SemsearchError], str], ...] = (
    (IndexNotFoundError, "no index has been built yet; run `semsearch index`."),
    (IndexMismatchError, "the index was built with another embedding model or format; rebuild it with "
                         "`semsearch index`."),
    (IndexCorruptError, "the index failed its checks; rebuild it with `semsearch index`."),
)


def unavailable_message(exc: SemsearchError) -> str:
    """The warning line for a search that could not run, naming no server path."""
    reason = next((text for kind, text in _UNAVAILABLE_REASONS if isinstance(exc, kind)),
                  "the bot's log has the details.")
    return UNAVAILABLE + reason


NO_COLLECTIONS = (":warning: This channel may not search any collection; ask the admin to map it in "
                  "SEMSEARCH_SLACK_CHANNEL_COLLECTIONS.")


def channel_scope(settings: Settings, channel: str | None) -> frozenset[str] | None:
    """The collections a channel (`dm` for direct messages) may search: its entry in
    `slack_channel_collections`, else the `*` entry, else none; every collection when nothing is mapped."""
    mapping = settings.slack_channel_collections
    if not mapping:
        return None
    names = mapping.get(channel or "", mapping.get("*"))
    return frozenset(names or ())


def channel_of(channel_id: object, channel_type: object = None) -> str:
    """`dm` for a direct message (channel type `im`, or an id starting with D), else the channel id."""
    text = channel_id if isinstance(channel_id, str) else ""
    return "dm" if channel_type == "im" or text.startswith("D") else text


class Answerer:
    """Turns a question into a Slack message (fallback text, blocks) using the search core. The
    question may carry filters (`in:work #k8s since:2025-01 ...`, `semsearch.query_syntax`).

    `searcher` returns the searcher to use now: `LiveIndex.searcher` (it raises IndexNotFoundError
    while there is no index yet)."""

    def __init__(self, searcher: SearcherSource, settings: Settings) -> None:
        self.searcher = searcher
        self.top_k = settings.top_k
        self.base_url = settings.notes_base_url
        self.settings = settings

    def __call__(self, question: str, *, shareable: bool, shared_by: str | None = None,
                 channel: str | None = None) -> tuple[str, list[Block]]:
        question = question.strip()
        if not question:
            return USAGE, text_blocks(USAGE)
        visible = channel_scope(self.settings, channel)
        if visible is not None and not visible:
            return NO_COLLECTIONS, text_blocks(NO_COLLECTIONS)
        try:
            parsed = parse_query(question)
            result = self.searcher().search(parsed.text, top_k=self.top_k, filter=parsed.filter, visible=visible)
        except SemsearchError as exc:
            if failure_of(exc) in CALLER_FAILURES:
                message = f":warning: {exc}"
            else:
                logger.error("search failed: %s", exc)
                message = unavailable_message(exc)
            return message, text_blocks(message)
        logger.info("answered with %d passage(s)%s", len(result.hits), " (abstained)" if result.abstained else "")
        return answer_text(question, result.hits, abstained=result.abstained), answer_blocks(
            question, result.hits, abstained=result.abstained, base_url=self.base_url, shareable=shareable,
            shared_by=shared_by, searched_as=result.searched_as)


def create_slack_app(searcher: SearcherSource, settings: Settings, *, client: WebClient | None = None,
                     recorder: FeedbackRecorder | None = None,
                     seen: SeenEvents | None = None) -> App:
    """The Bolt app. `client` replaces the Web API client (tests point it at a fake Slack);
    every client gets a retry handler that waits out HTTP 429 `Retry-After`."""
    check_settings(settings)
    if client is None:
        client = WebClient(token=_secret(settings.slack_bot_token), base_url=settings.slack_api_url)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    http = settings.slack_mode == "http"
    try:  # Bolt checks the token with Slack (auth.test) here
        app = App(client=client, signing_secret=_secret(settings.slack_signing_secret) or "",
                  request_verification_enabled=http, logger=logging.getLogger("slack_bolt"))
    except (SlackApiError, BoltError, OSError) as exc:
        raise SlackConfigError(
            f"Slack did not accept SEMSEARCH_SLACK_BOT_TOKEN ({_reason(exc)}); check the token and that "
            f"{settings.slack_api_url} is reachable, or unset SEMSEARCH_SLACK_BOT_TOKEN to serve without Slack."
        ) from None
    answer = Answerer(searcher, settings)
    recorder = recorder or FeedbackRecorder(
        settings.slack_feedback_path, salt=settings.slack_feedback_salt.get_secret_value())
    seen = seen or SeenEvents(settings.slack_events_path)

    @app.middleware
    def drop_duplicate_events(body: dict[str, Any], next: Any) -> BoltResponse | None:
        """One answer per event: a retried delivery (same event_id) is acknowledged and dropped."""
        event_id = body.get("event_id")
        if isinstance(event_id, str) and not seen.add(event_id):
            logger.info("dropping duplicate delivery of event %s", event_id)
            return BoltResponse(status=200, body="", headers={"x-slack-no-retry": "1"})
        next()
        return None

    @app.command("/ask")
    def ask(ack: Any, command: dict[str, Any], respond: Respond) -> None:
        ack()
        text, blocks = answer(command.get("text") or "", shareable=True, channel=channel_of(command.get("channel_id")))
        respond(text=text, blocks=blocks, response_type="ephemeral")

    @app.event("app_mention")
    def mention(event: dict[str, Any], say: Say) -> None:
        text, blocks = answer(strip_mentions(event.get("text") or ""), shareable=False,
                              channel=channel_of(event.get("channel"), event.get("channel_type")))
        say(text=text, blocks=blocks, thread_ts=event.get("thread_ts") or event.get("ts"))

    @app.event("message")
    def direct_message(event: dict[str, Any], say: Say, context: dict[str, Any]) -> None:
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        raw = event.get("text") or ""
        thread_ts = event.get("thread_ts")
        in_thread = thread_ts is not None and thread_ts != event.get("ts")
        bot_user = context.get("bot_user_id")
        if in_thread and not (bot_user and f"<@{bot_user}" in raw):
            return  # in a thread the bot speaks only when spoken to
        text, blocks = answer(strip_mentions(raw), shareable=False, channel="dm")
        say(text=text, blocks=blocks, thread_ts=thread_ts if in_thread else None)

    @app.action(ACTION_SHARE)
    def share(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        question, _ = parse_button_value(action.get("value") or "")
        user = (body.get("user") or {}).get("id")
        text, blocks = answer(question, shareable=False, shared_by=user,
                              channel=channel_of((body.get("channel") or {}).get("id")))
        respond(text=text, blocks=blocks, response_type="in_channel", replace_original=False)
        respond(delete_original=True)

    @app.action(_VOTE)
    def vote(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        question, chunk_ids = parse_button_value(action.get("value") or "")
        recorder.record(question=question, chunk_ids=chunk_ids,
                        vote="up" if action.get("action_id") == ACTION_VOTE_UP else "down",
                        user_id=str((body.get("user") or {}).get("id", "")))
        respond(text="Thanks, your feedback was recorded.", response_type="ephemeral",
                replace_original=False)

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        logger.error("Slack listener failed on a %s request: %r", body.get("type", "?"), error)

    return app
