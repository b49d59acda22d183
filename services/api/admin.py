"""Admin routes, for admin keys only: `POST /admin/reload`."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from semsearch.live import LiveIndex

from .auth import require_admin, require_api_key
from .guard import GuardedRoute
from .routes import get_index, index_info
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


@admin.post("/reload")
async def reload(index: Annotated[LiveIndex, Depends(get_index)]) -> ReloadResponse:
    """Check now for a newly published build (instead of at the next query) and serve it."""
    before = index.current.index.build_id if index.current else None
    await run_in_threadpool(index.refresh, force=True)
    manifest = (await run_in_threadpool(index.searcher)).manifest  # 503 when there is still no index
    reloaded = manifest.build_id != before
    if reloaded:
        logger.info("admin reload: now serving build %s", manifest.build_id)
    return ReloadResponse(reloaded=reloaded, index=index_info(manifest))
