"""`create_server_app`: the API app, plus `/slack/events` on the same live index when Slack's HTTP
mode is configured (`SEMSEARCH_SLACK_BOT_TOKEN` and `SEMSEARCH_SLACK_SIGNING_SECRET`); Slack signs
its requests, so that route needs no API key."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from semsearch import Searcher
from semsearch.errors import IndexNotFoundError
from semsearch.settings import Settings, get_settings
from services.api import create_app, served_index
from services.api.errors import NO_INDEX_MESSAGE, StartupError

logger = logging.getLogger(__name__)


def create_server_app(settings: Settings | None = None, *, reload_interval: float = 1.0) -> FastAPI:
    """The app `semsearch serve` runs in each worker process."""
    settings = settings or get_settings()
    app = create_app(settings, reload_interval=reload_interval)
    if settings.slack_bot_token is not None and settings.slack_mode == "http":
        mount_slack(app, settings)
    return app


def mount_slack(app: FastAPI, settings: Settings) -> None:
    """Serve the Slack bot at `/slack/events` of `app`; a StartupError says what is missing."""
    try:
        from services.slack import EVENTS_PATH, SlackConfigError, create_slack_app, events_endpoint
    except ImportError as exc:
        raise StartupError(f"Slack is configured (SEMSEARCH_SLACK_BOT_TOKEN) but {exc}.") from None

    def current() -> Searcher:
        index = served_index(app)
        if index is None:
            raise IndexNotFoundError(NO_INDEX_MESSAGE)
        return index.searcher()

    try:
        bolt = create_slack_app(current, settings)
    except SlackConfigError as exc:
        raise StartupError(str(exc)) from None
    # a plain Starlette route beside the API's (the bot reads the raw body itself)
    app.router.add_route(EVENTS_PATH, events_endpoint(bolt), methods=["POST"], include_in_schema=False)
    logger.info("Slack bot mounted at %s", EVENTS_PATH)
