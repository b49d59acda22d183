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
MAX_BODY_BYTES = 1 << 20  # Slack's payloads are a few KB
LOOPBACK = "127.0.0.1"
Endpoint = Callable[["Request"], Awaitable["Response"]]


def missing_http_stack() -> list[str]:
    """The packages HTTP mode needs that are not installed (Starlette and uvicorn: the `api` extra)."""
    return [name for name in ("starlette", "uvicorn") if importlib.util.find_spec(name) is None]


def events_endpoint(app: App, *, signing_secret: str | None = None,
                    max_body_bytes: int = MAX_BODY_BYTES) -> Endpoint:
    """The endpoint for Slack's events, slash commands and interactivity. The body is read up to
    `max_body_bytes` (413 past it, before anything is parsed) and its signature checked first: a
    request Slack did not sign is a quiet 401, whatever its body (default secret: the Bolt app's)."""
    from slack_bolt.adapter.starlette import SlackRequestHandler
    from slack_sdk.signature import SignatureVerifier
    from starlette.responses import PlainTextResponse

    handler = SlackRequestHandler(app)
    secret = signing_secret if signing_secret is not None else str(getattr(app, "_signing_secret", "") or "")
    verifier = SignatureVerifier(secret) if secret else None

    async def slack_events(request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_body_bytes:
            return PlainTextResponse("Request body too large.", status_code=413)
        body = bytearray()
        async for part in request.stream():
            body += part
            if len(body) > max_body_bytes:
                return PlainTextResponse("Request body too large.", status_code=413)
        request._body = bytes(body)  # Starlette's cache of the body: the handler reads it from here
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        signature = request.headers.get("x-slack-signature", "")
        if verifier is not None and not (timestamp.isdigit() and signature and verifier.is_valid(
                body=bytes(body), timestamp=timestamp, signature=signature)):
            logger.info("refused an unsigned Slack request (%d bytes)", len(body))
            return PlainTextResponse("Invalid signature.", status_code=401)
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
