"""Admin routes, for admin keys only: `POST /admin/reload`."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from .auth import require_admin, require_api_key
from .guard import GuardedRoute
from .live_index import LiveIndex
from .schemas import ErrorResponse, IndexInfo

logger = logging.getLogger(__name__)


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _error("No API key, a wrong one, or one in the URL."),
    403: _error("The key is read-only; admin routes need an admin key."),
    429: _error("Too many requests for this key; `Retry-After` says when to retry."),
    503: _error("No index is loaded yet."),
}

admin = APIRouter(prefix="/admin", tags=["admin"], route_class=GuardedRoute, responses=ADMIN_ERRORS,
                  dependencies=[Depends(require_api_key), Depends(require_admin)])


class ReloadResponse(BaseModel):
    """The build served after the check, and whether the check switched to it."""

    reloaded: bool
    index: IndexInfo


def _index(request: Request) -> LiveIndex:
    index: LiveIndex = request.app.state.index
    return index


@admin.post("/reload")
async def reload(index: Annotated[LiveIndex, Depends(_index)]) -> ReloadResponse:
    """Check now for a newly published build (instead of at the next query) and serve it."""
    before = index.current.manifest.build_id if index.current else None
    await run_in_threadpool(index.refresh, force=True)
    manifest = index.searcher().manifest  # 503 when there is still no index
    reloaded = manifest.build_id != before
    if reloaded:
        logger.info("admin reload: now serving build %s", manifest.build_id)
    info = IndexInfo(build_id=manifest.build_id, built_at=manifest.created_at, model=manifest.model_name)
    return ReloadResponse(reloaded=reloaded, index=info)
