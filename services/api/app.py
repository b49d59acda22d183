"""`create_app`: the FastAPI app for one process, with the embedder loaded in its lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool

from semsearch import __version__
from semsearch.embedders import load_embedder
from semsearch.settings import Settings, get_settings, retrieval_config

from .admin import admin
from .auth import check_bind, load_api_keys
from .errors import install_error_handlers
from .limits import BodySizeLimit
from .live_index import LiveIndex
from .observability import Metrics, RequestObserver
from .page import page
from .ratelimit import RateLimiter
from .routes import protected, public
from .slack_mount import mount_slack, slack_configured

logger = logging.getLogger(__name__)

DESCRIPTION = """Semantic search over your notes: ranked passages with file, heading path and lines.

Send an API key as `Authorization: Bearer KEY` or `X-API-Key: KEY` (never in the URL) when the
server has keys configured. Every error is `{"error": {"code": "...", "message": "..."}}`."""


def create_app(settings: Settings | None = None, *, reload_interval: float = 1.0) -> FastAPI:
    """Build the app. Keys and the bind address are checked now (a `StartupError` says what is
    wrong); the embedder and index load when the app starts (its lifespan), not here.

    `reload_interval`: at most one check for a newly published build per this many seconds."""
    settings = settings or get_settings()
    keys = load_api_keys(settings)
    check_bind(settings.host, keys)
    index = LiveIndex(settings.index_dir, max_top_k=settings.max_top_k,
                      max_query_chars=settings.max_query_chars, retrieval=retrieval_config(settings),
                      reload_interval=reload_interval)
    metrics = Metrics(index)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        embedder = await run_in_threadpool(
            load_embedder, settings.model, backend=settings.backend, device=settings.device,
            precision=settings.precision,
        )
        await run_in_threadpool(index.start, embedder)
        state = f"serving build {index.current.manifest.build_id}" if index.current else "no index yet"
        logger.info("semsearch API started (model %s, %s)", embedder.model_name, state)
        try:
            yield
        finally:
            index.close()
            logger.info("semsearch API stopped")

    app = FastAPIOffline(title="semsearch", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.api_keys = keys
    app.state.rate_limiter = RateLimiter(settings.rate_limit, settings.rate_burst) if settings.rate_limit else None
    app.state.index = index
    app.state.metrics = metrics
    install_error_handlers(app)
    app.include_router(public)
    app.include_router(protected)
    app.include_router(admin)
    app.include_router(page)
    if slack_configured(settings):
        mount_slack(app, settings, index)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestObserver, metrics=metrics)  # outermost: sees 413s too
    return app
