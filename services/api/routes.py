"""The routes: `POST /query`, `GET /status`, `GET /metrics` (behind the API key), `/healthz` and `/readyz`."""

from __future__ import annotations

import time
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from semsearch.errors import NO_INDEX_MESSAGE, IndexNotFoundError
from semsearch.filters import Filter
from semsearch.index.format import Manifest
from semsearch.index.status import status_of
from semsearch.live import LiveIndex
from semsearch.query_syntax import parse_query
from semsearch.settings import Settings

from .auth import Principal, require_api_key
from .errors import ApiError
from .guard import GuardedRoute
from .limits import within_budget
from .observability import Metrics
from .schemas import (
    ErrorResponse,
    HealthResponse,
    IndexInfo,
    QueryRequest,
    QueryResponse,
    ReadyResponse,
    ResultItem,
    StatusResponse,
    Timings,
)


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


AUTH_ERRORS: dict[int | str, dict[str, Any]] = {401: _error("No API key, a wrong one, or one in the URL.")}
NO_INDEX: dict[int | str, dict[str, Any]] = {503: _error("No index is loaded yet.")}
QUERY_ERRORS: dict[int | str, dict[str, Any]] = {
    **AUTH_ERRORS,
    **NO_INDEX,
    413: _error("The body is larger than `SEMSEARCH_MAX_BODY_BYTES`."),
    415: _error("The body is not sent as JSON."),
    403: _error("The API key may not search a collection the request names."),
    404: _error("A collection the request names is not in the index."),
    422: _error("The query, top_k or filters are invalid (a malformed date or tag)."),
    429: _error("Too many requests for this key; `Retry-After` says when to retry."),
    504: _error("The search took longer than `SEMSEARCH_QUERY_TIMEOUT`."),
}


def get_index(request: Request) -> LiveIndex:
    """The live index the app's lifespan opened (503 before it has)."""
    index: LiveIndex | None = getattr(request.app.state, "index", None)
    if index is None:
        raise IndexNotFoundError(NO_INDEX_MESSAGE)
    return index


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


def require_json(request: Request) -> None:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        raise ApiError(415, "Send the body as JSON, with `Content-Type: application/json`.")


IndexDep = Annotated[LiveIndex, Depends(get_index)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
PrincipalDep = Annotated[Principal, Depends(require_api_key)]

public = APIRouter(tags=["health"])
protected = APIRouter(dependencies=[Depends(require_api_key)], responses=AUTH_ERRORS, route_class=GuardedRoute)


def index_info(manifest: Manifest) -> IndexInfo:
    return IndexInfo(build_id=manifest.build_id, built_at=manifest.created_at, model=manifest.model_name)


@protected.post("/query", tags=["search"], dependencies=[Depends(require_json)], responses=QUERY_ERRORS)
async def query(body: QueryRequest, index: IndexDep, settings: SettingsDep, principal: PrincipalDep) -> QueryResponse:
    """The passages of your notes that best answer `query`, best first, and the build that answered.

    With filters (`collections`, `tags_all`, `tags_any`, `path` or `filters.source`, `since`,
    `until`), only matching passages are searched, so up to `top_k` of them come back whenever that
    many exist. A scoped API key searches only its collections; naming another is a 403.
    `abstained` is true when nothing in the notes answers the query confidently (every result is
    then under the abstention threshold)."""
    return await within_budget(settings.query_timeout, partial(answer_query, body, index, settings,
                                                               principal.collections))


def request_filter(body: QueryRequest) -> tuple[str, Filter]:
    """The question and the filter a request asks for (the typed syntax too, with `syntax`)."""
    text, typed = body.query, Filter()
    if body.syntax:
        parsed = parse_query(body.query)
        text, typed = parsed.text, parsed.filter
    asked = Filter(collections=tuple(body.collections) if body.collections is not None else None,
                   tags_all=tuple(body.tags_all), tags_any=tuple(body.tags_any),
                   path=body.path or (body.filters.source if body.filters else None),
                   since=body.since, until=body.until)
    return text, asked.combined(typed)


def answer_query(body: QueryRequest, index: LiveIndex, settings: Settings,
                 visible: frozenset[str] | None = None) -> QueryResponse:
    """`POST /query`'s work; runs in the threadpool (the event loop stays free) within its budget.
    `visible`: the collections the caller's key may see (None: every one)."""
    started = time.perf_counter()
    text, found = request_filter(body)
    result = index.searcher().search(text, top_k=body.top_k or settings.top_k, filter=found, visible=visible)
    results = [ResultItem.of(hit, settings.notes_base_url) for hit in result.hits]
    timings = Timings.model_validate({**result.timings.to_dict(),
                                      "total": round((time.perf_counter() - started) * 1000, 3)})
    return QueryResponse(query=result.query, searched_as=result.searched_as, abstained=result.abstained,
                         results=results, index=index_info(result.build), timings_ms=timings)


@protected.get("/metrics", tags=["operations"], response_class=Response,
               responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}})
def metrics(registry: MetricsDep) -> Response:
    """Request counts and latency by route and status; the served build and its size."""
    content, media_type = registry.render()
    return Response(content, media_type=media_type)


@protected.get("/status", tags=["operations"], responses=NO_INDEX)
def status(index: IndexDep, principal: PrincipalDep) -> StatusResponse:
    """The served build (id, time, model, counts) and what became of each notes file: indexed,
    unchanged, skipped with the reason, or failed with the error. A scoped API key sees only its
    collections' files and counts."""
    info = status_of(index.searcher().index, principal.collections)
    return StatusResponse.model_validate({
        **info.to_dict(), "index": {"build_id": info.build_id, "built_at": info.built_at, "model": info.model},
        "as_of": f"index as of {info.built_at}",
    })


@public.get("/healthz")
async def healthz() -> HealthResponse:
    """The process is up (it says nothing about the index: see `/readyz`)."""
    return HealthResponse(status="ok")


@public.get("/readyz", responses=NO_INDEX)
def readyz(index: IndexDep) -> ReadyResponse:
    """200 once an index is loaded and queries can be answered; 503 until then."""
    manifest = index.searcher().manifest
    return ReadyResponse(status="ready", index=index_info(manifest), chunks=manifest.chunk_count)
