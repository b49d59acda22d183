"""The Slack bot inside the API server: `/slack/events` beside `/query`, on the same live index.

Mounted when Slack's HTTP mode is configured (`SEMSEARCH_SLACK_BOT_TOKEN` and
`SEMSEARCH_SLACK_SIGNING_SECRET`); Slack signs its requests, so the route needs no API key.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI

from semsearch import Searcher
from semsearch.errors import IndexNotFoundError
from semsearch.settings import Settings

from .errors import NO_INDEX_MESSAGE, StartupError
from .live_index import LiveIndex

logger = logging.getLogger(__name__)


def slack_configured(settings: Settings) -> bool:
    """True when the API server should serve the Slack bot's HTTP endpoint."""
    return settings.slack_bot_token is not None and settings.slack_mode == "http"


def mount_slack(app: FastAPI, settings: Settings, index: LiveIndex) -> None:
    """Serve the Slack bot at `/slack/events` of `app`; a StartupError says what is missing."""
    try:
        from services.slack import create_slack_app, mount
        from services.slack.bot import SlackConfigError
    except ImportError as exc:
        raise StartupError(f"Slack is configured (SEMSEARCH_SLACK_BOT_TOKEN) but {exc}.") from None

    def current() -> Searcher:
        index.refresh()
        searcher = index.current
        if searcher is None:
            raise IndexNotFoundError(NO_INDEX_MESSAGE)
        return searcher

    try:
        bolt = create_slack_app(current, settings)
    except SlackConfigError as exc:
        raise StartupError(str(exc)) from None
    mount(app, bolt)
    logger.info("Slack bot mounted at /slack/events")
