"""`GuardedRoute`: the API key and the rate limit are checked before FastAPI reads the body.

FastAPI parses a JSON body before it runs a route's dependencies, so with a plain dependency an
unauthenticated request with broken JSON got a 422 instead of a 401, and a client over its rate
still had its body validated. Routes of a router made with `route_class=GuardedRoute` check, in
order: the key (401), the caller's rate (429); then FastAPI reads and validates the request.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from .auth import authenticate
from .ratelimit import RateLimiter


class GuardedRoute(APIRoute):
    """An `APIRoute` that authenticates and rate-limits before anything else."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            principal = authenticate(request)
            limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
            if limiter is not None and principal.rate_limited:
                limiter.check(principal.identity)
            return await handler(request)

        return guarded
