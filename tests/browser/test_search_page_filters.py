"""The search page's filter syntax (parsed by the server) and each result's collection and tags."""

from __future__ import annotations

from typing import Any

from .test_search_page import RESULT, search


def test_filters_typed_into_the_box_narrow_the_results(page: Any, server: str) -> None:
    bodies: list[dict[str, Any]] = []
    page.on("request", lambda request: bodies.append(request.post_data_json) if request.url.endswith("/query")
            else None)
    page.goto(server + "/")
    search(page, "path:ops/* rotate keys")
    assert bodies[-1] == {"query": "path:ops/* rotate keys", "syntax": True}  # the server reads the syntax
    sources = page.locator(f"{RESULT} .source, #weak-results li.result .source").all_inner_texts()
    assert sources and all(s.startswith("ops/") for s in sources)
    assert page.locator(RESULT).first.locator(".labels .collection").inner_text() == "notes"
    search(page, "since:2025-13 rotate keys")
    assert page.locator("#error").is_visible()
    assert "since must be a date as YYYY, YYYY-MM or YYYY-MM-DD" in page.locator("#error").inner_text()


def test_each_result_shows_its_collection_and_tags(page: Any, server: str) -> None:
    answer = {"query": "q", "searched_as": "q", "abstained": False,
              "results": [{"rank": 1, "score": 0.9, "text": "Rotate the keys.", "source": "ops/keys.md",
                           "collection": "work", "tags": ["ops", "security"], "date": "2025-02-03",
                           "heading_path": [], "start_line": 1, "end_line": 2, "chunk_id": "c1", "also_in": [],
                           "raw_score": 0.5, "confident": True, "url": None}],
              "index": {"build_id": "b1", "built_at": "2026-01-01T00:00:00+00:00", "model": "m"},
              "timings_ms": {"embed": 1.0, "dense": 1.0, "lexical": 1.0, "rank": 1.0, "search": 4.0, "total": 5.0}}
    page.goto(server + "/")
    page.route("**/query", lambda route: route.fulfill(json=answer))
    search(page, "in:work #ops keys")
    labels = page.locator(RESULT).first.locator(".labels")
    assert labels.locator(".collection").inner_text() == "work"
    assert labels.locator(".tag").all_inner_texts() == ["#ops", "#security"]
