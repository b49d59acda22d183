"""One error shape for every failed request: `{"error": {"code": "...", "message": "..."}}`.

The handlers here turn core errors, FastAPI's validation errors, Starlette's HTTP errors and
anything unexpected into that shape. A message never carries a stack trace or a server path: the
core's index errors name files, so they get a generic sentence and the detail goes to the log.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from semsearch.errors import Failure, IndexNotFoundError, SemsearchError, failure_of, public_message

logger = logging.getLogger(__name__)

CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    421: "misdirected_request",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal_error",
    503: "index_unavailable",
    504: "timeout",
}
INTERNAL_MESSAGE = "Internal server error; the server log has the details."
MAX_MESSAGE_CHARS = 500

# Core errors, by kind of failure (`semsearch.errors.failure_of`) -> HTTP status.
STATUS: dict[Failure, int] = {"unknown": 404, "query": 422, "forbidden": 403, "unavailable": 503, "internal": 500}


class ApiError(Exception):
    """An error the service raises on purpose; `message` is shown to the client as is."""

    def __init__(self, status: int, message: str, *, code: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message
        self.headers = dict(headers or {})


class StartupError(SemsearchError):
    """The service is misconfigured and refuses to start (the message says how to fix it)."""


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message[:MAX_MESSAGE_CHARS]}}


def error_bytes(status: int, message: str) -> bytes:
    """The error shape as JSON bytes, for pure ASGI middleware that sends its own response."""
    return json.dumps(error_body(CODES.get(status, "error"), message)).encode()


def error_response(status: int, message: str, *, code: str | None = None,
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    body = error_body(code or CODES.get(status, "error"), message)
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def describe_validation(errors: Sequence[Any]) -> str:
    """Pydantic's errors as one sentence, without echoing the input back."""
    parts: list[str] = []
    for err in errors[:3]:
        loc = tuple(err.get("loc", ()))
        kind = err.get("type", "")
        if kind == "json_invalid":
            parts.append("The body is not valid JSON")
        elif loc == ("body",) and kind == "missing":
            parts.append('The request needs a JSON body like {"query": "..."}')
        elif loc == ("body",):
            parts.append('The body must be a JSON object like {"query": "..."}')
        else:
            where = ".".join(str(p) for p in loc if p != "body")
            what = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
            parts.append(f"{where}: {what}" if where else what)
    if len(errors) > 3:
        parts.append(f"and {len(errors) - 3} more problems")
    return ("; ".join(parts) or "The request is invalid") + "."


async def api_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.message, code=exc.code, headers=exc.headers)


async def semsearch_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SemsearchError)
    failure = failure_of(exc)
    if failure == "internal":
        logger.error("%s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc)
        return error_response(500, INTERNAL_MESSAGE)
    if failure == "unavailable" and not isinstance(exc, IndexNotFoundError):  # the detail (with paths): log only
        logger.error("no index to serve: %s", exc)
    return error_response(STATUS[failure], public_message(exc))


async def validation_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, describe_validation(exc.errors()))


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else CODES.get(exc.status_code, "error")
    return error_response(exc.status_code, message, headers=exc.headers)


async def unhandled_error_handler(request: Request, exc: Exception) -> Response:
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, INTERNAL_MESSAGE)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, api_error_handler)
    app.add_exception_handler(SemsearchError, semsearch_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(Exception, unhandled_error_handler)
