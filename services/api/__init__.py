"""The HTTP service: `POST /query` over the live index, the search page, plus status, health,
readiness and metrics.

Needs the `api` extra (`pip install 'semsearch[api]'`). `semsearch serve` runs it, with the Slack
bot mounted when configured (`services.server`).
"""

from __future__ import annotations

from .app import create_app, served_index

__all__ = ["create_app", "served_index"]
