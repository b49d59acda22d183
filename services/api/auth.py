"""API keys: where they come from, how a request shows one, and when the service refuses to start.

Keys come from `SEMSEARCH_API_KEYS` (a JSON list) and `SEMSEARCH_API_KEYS_FILE` (one per line). A
request sends one as `Authorization: Bearer KEY` or `X-API-Key: KEY`; a key in the URL is refused,
because URLs end up in logs and browser history. With no key configured the API is open, which is
only allowed on a loopback address. Keys are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from semsearch.settings import Settings

from .errors import ApiError, StartupError

URL_KEY_PARAMS = frozenset({"api_key", "apikey", "api-key", "x-api-key", "key", "token", "access_token"})
HOW = "send `Authorization: Bearer KEY` or `X-API-Key: KEY`"
CHALLENGE = {"WWW-Authenticate": "Bearer"}

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer KEY`")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="`X-API-Key: KEY`")


def load_api_keys(settings: Settings) -> tuple[bytes, ...]:
    """Every configured key (UTF-8 bytes), from the settings and the keys file."""
    keys = [key.get_secret_value().strip() for key in settings.api_keys]
    path = settings.api_keys_file
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise StartupError(f"Cannot read the API keys file {path} ({reason}).") from None
        from_file = [line.strip() for line in text.splitlines()]
        from_file = [line for line in from_file if line and not line.startswith("#")]
        if not from_file:
            raise StartupError(f"The API keys file {path} holds no keys (one per line).")
        keys += from_file
    return tuple(dict.fromkeys(key.encode() for key in keys if key))


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, keys: tuple[bytes, ...]) -> None:
    """Refuse to serve an open API on an address other machines can reach."""
    if not keys and not is_loopback(host):
        raise StartupError(
            f"Refusing to serve on {host} without an API key: set SEMSEARCH_API_KEYS or "
            "SEMSEARCH_API_KEYS_FILE, or bind to 127.0.0.1."
        )


def key_matches(supplied: str, keys: tuple[bytes, ...]) -> bool:
    """Constant-time comparison against every key (no early exit that would time which one)."""
    candidate = supplied.encode("latin-1", errors="replace")  # the header's bytes, as sent
    found = False
    for key in keys:
        found |= hmac.compare_digest(candidate, key)
    return found


def require_api_key(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header_key: Annotated[str | None, Security(_api_key_header)],
) -> None:
    """Dependency for protected routes: 401 unless the request carries a configured key."""
    if any(name.lower() in URL_KEY_PARAMS for name in request.query_params):
        raise ApiError(401, f"API keys are refused in the URL; {HOW}.", headers=CHALLENGE)
    keys: tuple[bytes, ...] = request.app.state.api_keys
    if not keys:
        return
    supplied = header_key or (bearer.credentials if bearer else None)
    if not supplied:
        raise ApiError(401, f"An API key is required; {HOW}.", headers=CHALLENGE)
    if not key_matches(supplied, keys):
        raise ApiError(401, "The API key is not valid.", headers=CHALLENGE)
