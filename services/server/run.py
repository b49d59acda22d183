"""Run the API with uvicorn: what `semsearch serve` calls."""

from __future__ import annotations

import copy
import logging
import os
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from semsearch.settings import Settings
from services.api.auth import check_bind, load_api_keys

from .app import create_server_app

logger = logging.getLogger(__name__)

GRACEFUL_SHUTDOWN_SECONDS = 30


def log_config() -> dict[str, Any]:
    """uvicorn's logging, plus timestamped INFO lines from `services` (one per request) and from
    `semsearch.live` (which build is served, and each switch), and warnings from the rest of
    `semsearch`. Applied in every worker process."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["semsearch"] = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    config["handlers"]["semsearch"] = {"class": "logging.StreamHandler", "formatter": "semsearch",
                                       "stream": "ext://sys.stderr"}
    config["loggers"]["services"] = {"handlers": ["semsearch"], "level": "INFO", "propagate": False}
    config["loggers"]["semsearch"] = {"handlers": ["semsearch"], "level": "WARNING", "propagate": False}
    config["loggers"]["semsearch.live"] = {"handlers": ["semsearch"], "level": "INFO", "propagate": False}
    return config


def run_server(settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM; uvicorn then stops accepting, lets in-flight requests finish
    (up to 30 s) and runs the app's shutdown. Refuses an open API on a non-loopback address."""
    check_bind(settings.host, load_api_keys(settings))
    if settings.workers == 1:
        uvicorn.run(create_server_app(settings), host=settings.host, port=settings.port, access_log=False,
                    log_config=log_config(), server_header=False,
                    timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)
        return
    # Worker processes build their own app from the environment: pass the flags on through it.
    os.environ.update(SEMSEARCH_HOST=settings.host, SEMSEARCH_PORT=str(settings.port),
                      SEMSEARCH_WORKERS=str(settings.workers),
                      SEMSEARCH_INDEX_DIR=str(settings.index_dir))
    uvicorn.run("services.server.app:create_server_app", factory=True, workers=settings.workers,
                host=settings.host, port=settings.port, access_log=False, log_config=log_config(),
                server_header=False, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)
