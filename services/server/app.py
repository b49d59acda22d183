"""`create_server_app`: the API app, plus `/slack/events` on the same live index when Slack's HTTP
mode is configured (`SEMSEARCH_SLACK_BOT_TOKEN` and `SEMSEARCH_SLACK_SIGNING_SECRET`); Slack signs
its requests, so that route needs no API key. MCP (streamable HTTP) is served at `/mcp` on the same
live index when the `mcp` extra is installed, behind the API's keys and rate limits (`mount_mcp`)."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.abc
import anyio.to_thread
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

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
    replica) can answer any request. The MCP SDK is imported, and its session manager started in the
    app's lifespan, on the first request to `/mcp` (`LazyMCP`): a worker that never serves MCP
    does not hold it."""
    if importlib.util.find_spec("mcp") is None:
        logger.info("MCP not served at %s: pip install 'semsearch[mcp]'", MCP_PATH)
        return False
    lazy = LazyMCP(app, settings)
    app.router.add_route(MCP_PATH, guard_asgi(lazy), include_in_schema=False)  # type: ignore[arg-type]
    api_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(served: FastAPI) -> AsyncIterator[None]:
        async with api_lifespan(served), lazy.running():
            yield

    app.router.lifespan_context = lifespan
    logger.info("MCP served at %s", MCP_PATH)
    return True


class LazyMCP:
    """The ASGI handler of `/mcp`: builds the MCP server on its first request (the import in a
    worker thread, off the event loop) and runs its session manager in the app's lifespan task group
    until shutdown; every request is then handed to the SDK's own handler."""

    def __init__(self, app: FastAPI, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self._handler: ASGIApp | None = None
        self._tasks: anyio.abc.TaskGroup | None = None  # while the app's lifespan runs
        self._stopping: anyio.Event | None = None
        self._lock: anyio.Lock | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """For the app's lifespan: a started session manager runs until it ends."""
        self._lock, stopping = anyio.Lock(), anyio.Event()
        async with anyio.create_task_group() as tasks:
            self._tasks, self._stopping = tasks, stopping
            try:
                yield
            finally:
                stopping.set()
                self._tasks = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self._handler or await self._start()
        await handler(scope, receive, send)

    async def _start(self) -> ASGIApp:
        if self._lock is None:
            raise RuntimeError("the app's lifespan is not running: /mcp cannot be served")
        async with self._lock:
            if self._handler is None:
                server, handler = await anyio.to_thread.run_sync(self._create)
                if self._tasks is None:
                    raise RuntimeError("the app is shutting down: /mcp cannot be served")
                await self._tasks.start(self._run, server.session_manager)
                self._handler = handler
                logger.info("MCP server started for %s", MCP_PATH)
            return self._handler

    def _create(self) -> tuple[Any, ASGIApp]:
        from services.mcp import create_mcp_server

        settings = self.settings
        server = create_mcp_server(lambda: served_index(self.app), settings, visible=request_scope)
        mcp_app = server.streamable_http_app(streamable_http_path=MCP_PATH, stateless_http=True,
                                             json_response=True, max_request_body_size=settings.max_body_bytes,
                                             host=settings.host)
        route, = mcp_app.routes  # its one route: the SDK's ASGI handler
        return server, route.endpoint  # type: ignore[attr-defined]

    async def _run(self, manager: Any, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        assert self._stopping is not None  # set with the task group that runs this
        async with manager.run():
            task_status.started()
            await self._stopping.wait()
