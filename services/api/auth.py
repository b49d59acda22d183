"""API keys: where they come from, their roles, how a request shows one, and when the service refuses
to start.

Keys come from `SEMSEARCH_API_KEYS` (read-only, a JSON list), `SEMSEARCH_ADMIN_API_KEYS` (admin) and
`SEMSEARCH_API_KEYS_FILE` (one per line: `KEY [admin] [collections=work,reading]`: `KEY` is read-only,
`KEY admin` is an admin key, and `collections=` scopes the key to those collections). A read-only
key may search and read metrics; an admin key may also call admin routes (`POST /admin/reload`). A
scoped key sees only its collections, everywhere (results, `also_in`, `/status`, MCP); unscoped keys
see every collection.
A request sends a key as `Authorization: Bearer KEY` or `X-API-Key: KEY`; a key in the URL is
refused, because URLs end up in logs and browser history. With no key configured the API is open
(every caller counts as admin), which is only allowed on a loopback address; rate limits then apply
per client address, loopback clients excepted. Keys are compared in constant time and never logged:
rate limits name a key by a short hash of it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Annotated, Literal

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from semsearch.settings import Settings

from .errors import ApiError, StartupError
from .ratelimit import RateLimiter

Role = Literal["read", "admin"]
ROLES: tuple[Role, ...] = ("read", "admin")
# query parameters that look like credentials (compared lower-case, `-` as `_`): refused, never read
URL_KEY_PARAMS = frozenset({"api_key", "apikey", "x_api_key", "key", "token", "access_token", "auth",
                            "authorization", "auth_token", "bearer", "password", "passwd", "pwd", "secret",
                            "client_secret", "session", "sessionid", "jwt", "id_token", "refresh_token"})
# failed authentication per client address: a burst of this many, then this many per second
AUTH_FAILURE_BURST = 20
AUTH_FAILURE_RATE = 2.0
HOW = "send `Authorization: Bearer KEY` or `X-API-Key: KEY`"
_COLLECTION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # as `semsearch index --collection` takes
CHALLENGE = {"WWW-Authenticate": "Bearer"}

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer KEY`")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="`X-API-Key: KEY`")


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One configured key. `repr` never shows the secret."""

    secret: bytes = field(repr=False)
    role: Role = "read"
    collections: frozenset[str] | None = None  # the collections it may see; None: every one

    @property
    def key_id(self) -> str:
        """A short, stable, non-reversible name for logs and rate limits."""
        return "key:" + hashlib.sha256(self.secret).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who made a request: a key's id (or `addr:HOST` on an open API), what it may do, and whether
    its rate is limited (every key; on an open API, clients other than loopback ones)."""

    identity: str
    role: Role
    rate_limited: bool = True
    collections: frozenset[str] | None = None  # the collections it may see; None: every one


KeyEntry = tuple[str, Role, frozenset[str] | None]


def _key_line(words: list[str]) -> tuple[Role, frozenset[str] | None] | None:
    """(role, collections) of a keys-file line's words after the key; None when it is not valid."""
    role: Role = "read"
    collections: frozenset[str] | None = None
    for word in words:
        if word == "admin" and role == "read" and collections is None:
            role = "admin"
        elif word.startswith("collections=") and collections is None:
            names = word.removeprefix("collections=").split(",")
            if not all(_COLLECTION_NAME.match(name) for name in names):
                return None
            collections = frozenset(names)
        else:
            return None
    return role, collections


def _file_keys(settings: Settings) -> list[KeyEntry]:
    path = settings.api_keys_file
    if path is None:
        return []
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark is not part of the first key
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise StartupError(f"Cannot read the API keys file {path} ({reason}).") from None
    keys: list[KeyEntry] = []
    for number, line in enumerate(text.split("\n"), 1):  # not splitlines(): U+2028 would be a line end
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        parsed = _key_line(words[1:])
        if parsed is None:
            raise StartupError(f"Line {number} of the API keys file {path} is not `KEY`, `KEY admin` or "
                               "`KEY [admin] collections=NAME,NAME`.")
        keys.append((words[0], *parsed))
    if not keys:
        raise StartupError(f"The API keys file {path} holds no keys (one per line).")
    return keys


def load_api_keys(settings: Settings) -> tuple[ApiKey, ...]:
    """Every configured key with its role and scope; a key listed as both read-only and admin is
    admin, and a key listed with collections anywhere sees only the collections of every such listing."""
    entries: list[KeyEntry] = [(k.get_secret_value().strip(), "read", None) for k in settings.api_keys]
    entries += [(k.get_secret_value().strip(), "admin", None) for k in settings.admin_api_keys]
    entries += _file_keys(settings)
    roles: dict[bytes, Role] = {}
    scopes: dict[bytes, frozenset[str] | None] = {}
    for key, role, collections in entries:
        if key:
            secret = key.encode()
            roles[secret] = "admin" if role == "admin" else roles.get(secret, "read")
            before = scopes.get(secret)
            scopes[secret] = collections if before is None else (before & collections if collections else before)
    return tuple(ApiKey(secret, role, scopes[secret]) for secret, role in roles.items())


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, keys: tuple[ApiKey, ...]) -> None:
    """Refuse to serve an open API on an address other machines can reach."""
    if not keys and not is_loopback(host):
        raise StartupError(
            f"Refusing to serve on {host} without an API key: set SEMSEARCH_API_KEYS or "
            "SEMSEARCH_API_KEYS_FILE, or bind to 127.0.0.1."
        )


def match_key(supplied: str, keys: tuple[ApiKey, ...]) -> ApiKey | None:
    """The configured key equal to `supplied`, compared in constant time against every key (no
    early exit that would time which one matched)."""
    candidate = supplied.encode("latin-1", errors="replace")  # the header's bytes, as sent
    found: ApiKey | None = None
    for key in keys:
        if hmac.compare_digest(candidate, key.secret):
            found = key
    return found


def supplied_key(request: Request) -> str | None:
    """The key a request shows in `X-API-Key` or `Authorization: Bearer`, if any. Every credential
    sent must be good: an `Authorization` header that is not `Bearer KEY`, or two different keys, is
    a 401 even beside a valid key."""
    headers = request.headers.getlist("x-api-key")
    authorizations = request.headers.getlist("authorization")
    if len(headers) > 1 or len(authorizations) > 1:
        raise ApiError(401, f"Send one API key in one header; {HOW}.", headers=CHALLENGE)
    header = headers[0] if headers and headers[0] else None
    authorization = authorizations[0] if authorizations else None
    bearer = None
    if authorization is not None:
        scheme, _, credentials = authorization.strip().partition(" ")
        bearer = credentials.strip()
        if scheme.lower() != "bearer" or not bearer:
            raise ApiError(401, f"The Authorization header is not `Bearer KEY`; {HOW}.", headers=CHALLENGE)
    if header and bearer and header != bearer:
        raise ApiError(401, f"Two different API keys were sent; {HOW}, not both.", headers=CHALLENGE)
    return header or bearer


def authenticate(request: Request) -> Principal:
    """Who sent `request` (remembered on `request.state`), or 401. Reads headers only, so it runs
    before FastAPI parses the body: a bad key is a 401 even when the body is broken too."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    if any(name.lower().replace("-", "_") in URL_KEY_PARAMS for name in request.query_params):
        raise ApiError(401, f"API keys are refused in the URL; {HOW}.", headers=CHALLENGE)
    keys: tuple[ApiKey, ...] = request.app.state.api_keys
    if keys:
        try:
            supplied = supplied_key(request)
            if not supplied:
                raise ApiError(401, f"An API key is required; {HOW}.", headers=CHALLENGE)
            key = match_key(supplied, keys)
            if key is None:
                raise ApiError(401, "The API key is not valid.", headers=CHALLENGE)
        except ApiError:
            _count_failure(request)
            raise
        principal = Principal(key.key_id, key.role, collections=key.collections)
    else:
        host = request.client.host if request.client else "unknown"
        principal = Principal(f"addr:{host}", "admin", rate_limited=not is_loopback(host))
    request.state.principal = principal
    return principal


def _count_failure(request: Request) -> None:
    """A failed authentication takes a token from the client address's failure bucket: past the
    burst, the client gets 429 instead of another 401 (so keys cannot be guessed at full speed)."""
    limiter: RateLimiter | None = getattr(request.app.state, "auth_failures", None)
    if limiter is None:
        return
    limiter.check(f"addr:{request.client.host if request.client else 'unknown'}",
                  what="Too many failed authentications from this address")


def require_api_key(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header_key: Annotated[str | None, Security(_api_key_header)],
) -> Principal:
    """Dependency for protected routes: 401 unless the request carries a configured key. (The
    `Security` parameters document the two ways to send a key in the OpenAPI schema.)"""
    return authenticate(request)


def require_admin(request: Request) -> None:
    """Dependency for admin routes: 403 for a read-only key."""
    if authenticate(request).role != "admin":
        raise ApiError(403, "This action needs an admin API key; this key is read-only.")


def guard_asgi(app: ASGIApp) -> ASGIApp:
    """`app` (an ASGI app mounted on the API, e.g. MCP's) behind the same checks as the protected
    routes, before it reads anything: the API key (401) and the caller's rate limit (429). Every key
    may pass, read-only ones included (what `app` serves must be what a read-only key may do)."""
    return _Guarded(app)


class _Guarded:
    """An ASGI app (a class, not a function, so that a Starlette route passes it the raw scope)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        principal = authenticate(request)
        limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
        if limiter is not None and principal.rate_limited:
            limiter.check(principal.identity)
        token = _guarded_principal.set(principal)
        try:
            await self.app(scope, receive, send)
        finally:
            _guarded_principal.reset(token)


# the caller of the guarded app now (an ASGI app runs its handlers in the request's context)
_guarded_principal: ContextVar[Principal | None] = ContextVar("guarded_principal", default=None)


def request_scope() -> frozenset[str] | None:
    """The collections the caller of a guarded app (`guard_asgi`) may see: its key's (None: every
    one). Outside a guarded request, none (never every one by mistake)."""
    principal = _guarded_principal.get()
    return frozenset() if principal is None else principal.collections
