"""`create_server_app`: the API app, plus `/slack/events` on the same live index when Slack's HTTP
mode is configured (`SEMSEARCH_SLACK_BOT_TOKEN` and `SEMSEARCH_SLACK_SIGNING_SECRET`); Slack signs
its requests, so that route needs no API key. MCP (streamable HTTP) is served at `/mcp` on the same
live index when the `mcp` extra is installed, behind the API's keys and rate limits (`mount_mcp`)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from semsearch import Searcher
from semsearch.errors import NO_INDEX_MESSAGE, IndexNotFoundError
from semsearch.settings import Settings, get_settings
from services.api import create_app, served_index
from services.api.auth import guard_asgi, request_scope
from services.api.errors import StartupError

logger = logging.getLogger(__name__)


def create_server_app(settings: Settings | None = None, *, reload_interval: float = 1.0) -> FastAPI:
    """The app `semsearch serve` runs in each worker process."""
    settings = settings or get_settings()
    app = create_app(settings, reload_interval=reload_interval)
    if settings.slack_bot_token is not None and settings.slack_mode == "http":
        mount_slack(app, settings)
    mount_mcp(app, settings)
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


MCP_PATH = "/mcp"


def mount_mcp(app: FastAPI, settings: Settings) -> bool:
    """Serve MCP over streamable HTTP at `/mcp` of `app`, on the API's live index, behind its API keys
    and rate limits (`guard_asgi`; the API's body limit and request log are outermost already). False
    when the `mcp` extra is not installed.

    Stateless with JSON responses: every POST is answered on its own, so any worker (or Ray Serve
    replica) can answer any request. The MCP session manager runs inside the app's lifespan."""
    try:
        from services.mcp import create_mcp_server
    except ImportError:
        logger.info("MCP not served at %s: pip install 'semsearch[mcp]'", MCP_PATH)
        return False
    server = create_mcp_server(lambda: served_index(app), settings, visible=request_scope)
    mcp_app = server.streamable_http_app(streamable_http_path=MCP_PATH, stateless_http=True, json_response=True,
                                         max_request_body_size=settings.max_body_bytes, host=settings.host)
    for route in mcp_app.routes:  # its one route, with the API's guard in front
        app.router.add_route(route.path, guard_asgi(route.endpoint),  # type: ignore[attr-defined,arg-type]
                             include_in_schema=False)
    api_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(served: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(api_lifespan(served))
            await stack.enter_async_context(server.session_manager.run())
            yield

    app.router.lifespan_context = lifespan
    logger.info("MCP served at %s", MCP_PATH)
    return True
