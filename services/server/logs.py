"""The uvicorn options of every `semsearch serve` process (how it logs, how long it lets requests
finish on shutdown): shared by the single-process server (`run`) and the multi-worker master
(`master`), which imports only this and uvicorn."""

from __future__ import annotations

import copy
from typing import Any

from uvicorn.config import LOGGING_CONFIG

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


def uvicorn_options() -> dict[str, Any]:
    """What `uvicorn.run` is given besides the app, the address and the workers."""
    return {"access_log": False, "log_config": log_config(), "server_header": False,
            "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS}
