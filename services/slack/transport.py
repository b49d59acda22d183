"""How Slack reaches the bot: HTTP (Events API at `/slack/events`) or Socket Mode.

The HTTP endpoint is a plain Starlette endpoint (`events_endpoint`), so any ASGI server app can
route to it: `services.server` mounts it inside the API server, `run_http` serves it alone.
Starlette and uvicorn (the `api` extra) are imported only by the HTTP transport: Socket Mode needs
just the `slack` extra.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from slack_bolt import App

from semsearch.settings import Settings

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
LOOPBACK = "127.0.0.1"
Endpoint = Callable[["Request"], Awaitable["Response"]]


def missing_http_stack() -> list[str]:
    """The packages HTTP mode needs that are not installed (Starlette and uvicorn: the `api` extra)."""
    return [name for name in ("starlette", "uvicorn") if importlib.util.find_spec(name) is None]


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
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

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
