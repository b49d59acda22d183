"""The HTTP service: `POST /query` over the published index, plus health, readiness and metrics.

Needs the `api` extra (`pip install 'semsearch[api]'`). Start it with `semsearch serve`.
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
