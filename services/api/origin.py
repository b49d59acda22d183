"""DNS rebinding and cross-site requests against a keyless server.

A server without API keys trusts whoever reaches it on loopback, so a web page must not reach it:
through a name rebound to 127.0.0.1 (the browser then sends that name as `Host`), or by posting
across sites (the browser sends the page's `Origin`). On a keyless server, `Host` must name the
server (its bind address, localhost, or `SEMSEARCH_ALLOWED_HOSTS`) and an `Origin`, when sent, the
same; otherwise 421 / 403 in the one error shape, before any route runs. A server with keys needs
neither check: nothing is served without a key, which a browser never adds on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import error_bytes

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
OPEN_PATHS = frozenset({"/healthz", "/readyz"})  # say nothing about the notes


def _hostname(value: str) -> str:
    """The host of a `Host` header or an origin, lower-case, without port or brackets."""
    netloc = urlsplit(value if "//" in value else f"//{value}").hostname
    return (netloc or "").lower()


class SameSiteOnly:
    """Pure ASGI middleware enforcing the checks of the module docstring (a no-op with keys)."""

    def __init__(self, app: ASGIApp, *, bind_host: str, allowed_hosts: Iterable[str], keyless: bool) -> None:
        self.app = app
        self.keyless = keyless
        hosts = {h.lower().strip("[]") for h in allowed_hosts}
        self.any_host = "*" in hosts
        self.allowed = hosts | LOOPBACK_NAMES | {bind_host.lower().strip("[]")}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.keyless or self.any_host:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        problem = None
        if _hostname(headers.get("host", "")) not in self.allowed:
            problem = (421, "This server does not answer to that host name; set SEMSEARCH_ALLOWED_HOSTS "
                            "to serve it behind a proxy.")
        elif "origin" in headers and _hostname(headers["origin"]) not in self.allowed and (
                scope.get("path") not in OPEN_PATHS):
            problem = (403, "Cross-site requests are refused by a server without API keys.")
        if problem is None:
            await self.app(scope, receive, send)
            return
        status, message = problem
        body = error_bytes(status, message)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
