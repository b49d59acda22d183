"""The server that `semsearch serve` runs: the composition of the HTTP API edge with the Slack edge.

This package (with `services.main`) is the composition layer: the only place that imports more
than one edge. `app.create_server_app` is the API app with the Slack bot's endpoint mounted on the
same live index when Slack's HTTP mode is configured; `run` serves it with uvicorn, `ray_serve`
with Ray Serve replicas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_server_app

__all__ = ["create_server_app"]


def __getattr__(name: str) -> Any:
    # imported on first use, so that the multi-worker master (`master`) imports no web stack
    if name == "create_server_app":
        from .app import create_server_app

        return create_server_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
