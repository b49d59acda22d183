"""How Slack reaches the bot: HTTP (Events API at `/slack/events`) or Socket Mode.

The HTTP endpoint is a plain Starlette endpoint (`events_endpoint`), so any ASGI server app can
route to it: `services.server` mounts it inside the API server, `run_http` serves it alone.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_bolt import App
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from semsearch.settings import Settings

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
LOOPBACK = "127.0.0.1"
Endpoint = Callable[[Request], Awaitable[Response]]


def events_endpoint(app: App) -> Endpoint:
    """The endpoint for Slack's events, slash commands and interactivity (it reads the raw body
    itself: Slack's signature covers it)."""
    from slack_bolt.adapter.starlette import SlackRequestHandler

    handler = SlackRequestHandler(app)

    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    return slack_events


def create_http_app(app: App) -> Starlette:
    """A small ASGI app with only the Slack endpoint and a health check."""

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route(EVENTS_PATH, events_endpoint(app), methods=["POST"]),
                             Route("/healthz", healthz, methods=["GET"])])


def run_http(app: App, settings: Settings) -> None:
    """Serve HTTP on 127.0.0.1:`slack_port`; a reverse proxy or tunnel gives Slack a public URL."""
    import uvicorn

    logger.info("Slack bot listening on http://%s:%d%s", LOOPBACK, settings.slack_port, EVENTS_PATH)
    uvicorn.run(create_http_app(app), host=LOOPBACK, port=settings.slack_port, log_level="info")


def run_socket(app: App, settings: Settings) -> None:
    """Connect out to Slack over a WebSocket with the app-level token (no public URL needed)."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    if settings.slack_app_token is None:
        raise ValueError("Socket Mode needs SEMSEARCH_SLACK_APP_TOKEN (xapp-...).")
    logger.info("Slack bot connecting in Socket Mode")
    SocketModeHandler(app, settings.slack_app_token.get_secret_value()).start()  # type: ignore[no-untyped-call]
