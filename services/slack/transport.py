"""How Slack reaches the bot: HTTP (Events API at `/slack/events`) or Socket Mode."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_bolt import App

from semsearch.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
LOOPBACK = "127.0.0.1"


def mount(api: FastAPI, app: App, *, path: str = EVENTS_PATH) -> None:
    """Serve the Slack app's events, slash commands and interactivity at `path` of `api`."""
    from fastapi import Request, Response
    from slack_bolt.adapter.fastapi import SlackRequestHandler

    handler = SlackRequestHandler(app)

    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    # a plain Starlette route: the handler reads the raw body itself (signatures cover it)
    api.router.add_route(path, slack_events, methods=["POST"], include_in_schema=False)


def create_http_app(app: App) -> FastAPI:
    """A small ASGI app with only the Slack endpoint and a health check."""
    from fastapi import FastAPI

    api = FastAPI(title="semsearch Slack bot", docs_url=None, redoc_url=None, openapi_url=None)

    @api.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    mount(api, app)
    return api


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
