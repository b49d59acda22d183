"""The page's files and headers over HTTP, and the `url` the API adds to results (no browser needed)."""

from __future__ import annotations

import re

import httpx

from services.api.page import STATIC_DIR, STATIC_FILES

from .conftest import NOTES_BASE_URL, Serve


def test_the_page_and_its_files_carry_a_strict_policy(server: str) -> None:
    with httpx.Client(base_url=server) as http:
        page = http.get("/")
        assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
        policy = page.headers["content-security-policy"]
        for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
                          "frame-ancestors 'none'", "require-trusted-types-for 'script'"):
            assert directive in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert page.headers["x-content-type-options"] == "nosniff"
        for name, media_type in STATIC_FILES.items():
            response = http.get(f"/static/{name}")
            assert response.status_code == 200 and response.headers["content-type"] == media_type
            assert response.headers["content-security-policy"] == policy
        assert http.get("/favicon.ico").headers["content-type"] == "image/svg+xml"
        for missing in ("/static/index.html", "/static/page.py", "/static/..%2Fpage.py", "/static/"):
            response = http.get(missing)
            assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_the_files_have_no_inline_script_or_style_and_no_html_sinks() -> None:
    html = (STATIC_DIR / "index.html").read_text()
    assert re.findall(r"<script\b[^>]*>", html) == ['<script src="/static/app.js" defer>']
    assert "<style" not in html and not re.search(r"\sstyle=|\son\w+=", html)
    script = (STATIC_DIR / "app.js").read_text()
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(", script)


def test_the_page_is_public_while_the_api_needs_a_key(serve: Serve) -> None:
    with httpx.Client(base_url=serve(api_keys=["k1"])) as http:
        assert http.get("/").status_code == 200
        assert http.get("/static/app.js").status_code == 200
        assert http.post("/query", json={"query": "keys"}).status_code == 401
        assert http.post("/query", json={"query": "keys"}, headers={"X-API-Key": "k1"}).status_code == 200


def test_results_link_to_the_source_only_when_a_base_url_is_set(serve: Serve) -> None:
    with httpx.Client(base_url=serve()) as http:
        top = http.post("/query", json={"query": "rotate keys", "top_k": 1}).json()["results"][0]
    assert top["url"] == f"{NOTES_BASE_URL}ops/keys.md#L{top['start_line']}-L{top['end_line']}"
    with httpx.Client(base_url=serve(notes_base_url=None)) as http:
        top = http.post("/query", json={"query": "rotate keys", "top_k": 1}).json()["results"][0]
    assert top["source"] == "ops/keys.md" and top["url"] is None
