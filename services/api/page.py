"""The search page: `GET /` and its few static files, served with a strict Content-Security-Policy.

The page is plain HTML, CSS and one script (no build step). It holds no data itself: the script
calls `POST /query` like any client, with the API key the user typed, kept in sessionStorage.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from .errors import ApiError

STATIC_DIR = Path(__file__).resolve().parent / "static"
# Only these files are served (no directory walking): name -> media type.
STATIC_FILES = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
# No inline script or style, nothing from other origins, and Trusted Types so that no string can
# ever reach innerHTML: passage text only enters the page as text nodes.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
])
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}

page = APIRouter(include_in_schema=False)


@page.get("/")
def search_page() -> FileResponse:
    """The search page."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8",
                        headers=SECURITY_HEADERS)


@page.get("/static/{name}")
def static_file(name: str) -> FileResponse:
    """The page's script, stylesheet and icon."""
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        raise ApiError(404, "No such static file.")
    return FileResponse(STATIC_DIR / name, media_type=media_type, headers=SECURITY_HEADERS)


@page.get("/favicon.ico")
def favicon() -> FileResponse:
    """Browsers ask for this path whatever the page says."""
    return static_file("favicon.svg")
