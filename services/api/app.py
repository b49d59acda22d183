"""`create_app`: the FastAPI app of the HTTP API and search page for one process. The live index
(embedder and build) opens in its lifespan, through `semsearch.wiring`, not at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool

from semsearch import __version__
from semsearch.live import LiveIndex
from semsearch.settings import Settings, get_settings
from semsearch.wiring import open_live_index, query_limits

from .admin import admin
from .auth import AUTH_FAILURE_BURST, AUTH_FAILURE_RATE, check_bind, load_api_keys
from .errors import install_error_handlers
from .limits import BodySizeLimit
from .observability import Metrics, RequestObserver
from .origin import SameSiteOnly
from .page import page
from .ratelimit import RateLimiter
from .routes import protected, public
from .schemas import limit_schema

logger = logging.getLogger(__name__)

DESCRIPTION = """Semantic search over your notes: ranked passages with file, heading path and lines.

Send an API key as `Authorization: Bearer KEY` or `X-API-Key: KEY` (never in the URL) when the
server has keys configured. Every error is `{"error": {"code": "...", "message": "..."}}`."""


def served_index(app: FastAPI) -> LiveIndex | None:
    """The live index `app` serves, once its lifespan has opened it."""
    index: LiveIndex | None = getattr(app.state, "index", None)
    return index


def create_app(settings: Settings | None = None, *, reload_interval: float = 1.0) -> FastAPI:
    """Build the app. Keys and the bind address are checked now (a `StartupError` says what is
    wrong); the embedder and index load when the app starts (its lifespan), not here.

    `reload_interval`: at most one check for a newly published build per this many seconds."""
    settings = settings or get_settings()
    keys = load_api_keys(settings)
    check_bind(settings.host, keys)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        index = await run_in_threadpool(open_live_index, settings, reload_interval=reload_interval)
        app.state.index = index
        state = f"serving build {index.current.index.build_id}" if index.current else "no index yet"
        logger.info("semsearch API started (model %s, %s)", index.embedder.model_name, state)
        try:
            yield
        finally:
            index.close()
            app.state.index = None
            logger.info("semsearch API stopped")

    app = FastAPIOffline(title="semsearch", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    metrics = Metrics(lambda: served_index(app))
    app.state.settings = settings
    app.state.api_keys = keys
    app.state.rate_limiter = RateLimiter(settings.rate_limit, settings.rate_burst) if settings.rate_limit else None
    # failed authentications are throttled per client address whenever rate limits are on
    app.state.auth_failures = RateLimiter(AUTH_FAILURE_RATE, AUTH_FAILURE_BURST) if settings.rate_limit else None
    app.state.index = None
    app.state.metrics = metrics
    install_error_handlers(app)
    app.include_router(public)
    app.include_router(protected)
    app.include_router(admin)
    app.include_router(page)
    app.openapi = _limited_openapi(app, settings)  # type: ignore[method-assign]
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SameSiteOnly, bind_host=settings.host, allowed_hosts=settings.allowed_hosts, keyless=not keys)
    app.add_middleware(RequestObserver, metrics=metrics)  # outermost: sees 413s too
    return app


def _limited_openapi(app: FastAPI, settings: Settings) -> Callable[[], dict[str, Any]]:
    """`app.openapi` with the server's query limits in the schema."""
    default = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = limit_schema(default(), query_limits(settings))
        return app.openapi_schema

    return openapi
