"""Run the API with uvicorn: what `semsearch serve` calls."""

from __future__ import annotations

import logging
import os
import sys

import uvicorn

from semsearch.settings import Settings
from services.api.auth import check_bind, load_api_keys

from .app import create_server_app
from .logs import uvicorn_options

logger = logging.getLogger(__name__)

MASTER = "services.server.master"  # the multi-worker parent process, run as `python -m`


def run_server(settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM; uvicorn then stops accepting, lets in-flight requests finish
    (up to 30 s) and runs the app's shutdown. Refuses an open API on a non-loopback address."""
    check_bind(settings.host, load_api_keys(settings))
    if settings.workers == 1:
        uvicorn.run(create_server_app(settings), host=settings.host, port=settings.port, **uvicorn_options())
        return
    # Worker processes build their own app from the environment: pass the flags on through it. The
    # master becomes a fresh interpreter that imports only uvicorn (`master`), not this CLI's imports.
    os.environ.update(SEMSEARCH_HOST=settings.host, SEMSEARCH_PORT=str(settings.port),
                      SEMSEARCH_WORKERS=str(settings.workers),
                      SEMSEARCH_INDEX_DIR=str(settings.index_dir))
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", MASTER])

