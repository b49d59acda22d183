"""The search page in a real headless Chromium against the real server on 127.0.0.1."""

from __future__ import annotations

import re
from typing import Any

from .conftest import NOTES_BASE_URL, Serve

RESULT = "#results > li.result"


def search(page: Any, query: str) -> None:
    """Type `query` into the search box and press Enter."""
    page.fill("#q", query)
    page.press("#q", "Enter")  # the page marks itself busy at once, until the answer is shown
    # (a selector, not wait_for_function: the page's CSP refuses the eval that one polls with)
    page.wait_for_selector("body:not(.busy)")


def focused(page: Any) -> str:
    """What has the focus: `q`, `key`, or `result N` (1-based, among all shown results)."""
    found: str = page.evaluate("""() => {
        const el = document.activeElement;
        if (el.matches('li.result')) return 'result ' + ([...document.querySelectorAll('li.result')].indexOf(el) + 1);
        return el.id || el.tagName;
    }""")
    return found


def test_search_shows_the_passage_with_its_place_and_highlights(page: Any, server: str) -> None:
    response = page.goto(server + "/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert focused(page) == "q"  # the box has the focus on load
    search(page, "what is inverted dropout")
    first = page.locator(RESULT).first
    assert first.locator(".rank").inner_text() == "1."
    assert first.locator(".source").inner_text() == "ml/dropout.md"  # of equal copies, the first by path
    assert first.locator(".heading").inner_text() == "Regularization › Dropout"
    assert first.locator(".lines").inner_text() == "lines 1–5"
    assert re.fullmatch(r"score 0\.\d\d", first.locator(".score").inner_text())
    assert "Inverted dropout scales the kept activations" in first.locator(".passage").inner_text()
    marked = first.locator(".passage mark").all_inner_texts()
    assert {m.lower() for m in marked} == {"inverted", "dropout"}  # not "what" or "is"
    assert first.locator(".also").inner_text() == "also in: ml/export/dropout.txt:1-5"
    assert first.locator("a.source").get_attribute("href") == NOTES_BASE_URL + "ml/dropout.md#L1-L5"
    assert page.locator(RESULT).count() == 1  # the other passages are weak: folded away
    assert page.locator("#weak summary").inner_text() == "4 weaker matches"
    assert page.locator("#nothing").is_hidden() and page.locator("#error").is_hidden()
    assert page.url.endswith("/?q=what%20is%20inverted%20dropout")  # a link to this search


def test_typing_searches_once_the_typing_pauses(page: Any, server: str) -> None:
    queries: list[str] = []
    page.on("request", lambda request: queries.append(request.post_data_json["query"])
            if request.url.endswith("/query") else None)
    page.clock.install(time=0)
    page.goto(server + "/")
    page.clock.pause_at(10_000)  # the page's timers now run only when the test says so
    page.locator("#q").press_sequentially("water tomatoes")  # no Enter
    page.clock.run_for(250)
    assert queries == []  # still typing, as far as the page can tell
    page.clock.run_for(100)
    page.wait_for_selector(RESULT)
    assert page.locator(RESULT).first.locator(".source").inner_text() == "garden.txt"
    assert queries == ["water tomatoes"]  # debounced: one request, not one per key


def test_the_keyboard_moves_through_results(page: Any, server: str) -> None:
    page.goto(server + "/")
    search(page, "keys batch tomatoes")
    assert page.locator(RESULT).count() == 3
    page.keyboard.press("ArrowDown")
    assert focused(page) == "result 1"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # stays on the last one
    assert focused(page) == "result 3"
    page.keyboard.press("ArrowUp")
    assert focused(page) == "result 2"
    page.keyboard.press("/")  # back to the box, and "/" is not typed into it
    assert focused(page) == "q"
    assert page.input_value("#q") == "keys batch tomatoes"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    assert focused(page) == "q"

    # Enter on a result opens its source
    page.context.route(NOTES_BASE_URL + "**", lambda route: route.fulfill(body="the note", content_type="text/plain"))
    page.keyboard.press("ArrowDown")
    first_link = page.locator(RESULT).first.locator("a.source").get_attribute("href")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == first_link


def test_a_question_the_notes_do_not_answer(page: Any, server: str) -> None:
    page.goto(server + "/")
    search(page, "quantum chromodynamics lattice")
    assert page.locator("#nothing").is_visible()
    assert "Nothing in your notes answers this." in page.locator("#nothing").inner_text()
    assert page.locator(RESULT).count() == 0
    summary = page.locator("#weak summary")
    assert summary.inner_text() == "Show 5 weak matches anyway"
    summary.click()
    assert page.locator("#weak-results li.result").count() == 5


def served_answer(abstained: bool, confident: list[bool]) -> dict[str, Any]:
    """A `POST /query` body with one passage per entry of `confident`."""
    results = [{"rank": rank, "score": 0.5, "text": f"Passage number {rank}.", "source": f"note-{rank}.md",
                "heading_path": ["Notes"], "start_line": 1, "end_line": 3, "chunk_id": f"c{rank}", "also_in": [],
                "raw_score": 0.1, "confident": sure, "url": None} for rank, sure in enumerate(confident, 1)]
    return {"query": "routed question", "searched_as": "routed question", "abstained": abstained,
            "results": results, "index": {"build_id": "b1", "built_at": "2026-01-01T00:00:00+00:00", "model": "m"},
            "timings_ms": {"embed": 1.0, "dense": 1.0, "lexical": 1.0, "rank": 1.0, "search": 4.0, "total": 5.0}}


def test_the_page_shows_the_servers_abstention_as_it_is(page: Any, server: str) -> None:
    """`abstained` decides, not the page: the server abstained although its passages are marked
    confident, then answered although most are not."""
    page.goto(server + "/")
    answers = [served_answer(True, [True, True]), served_answer(False, [True, False, False])]
    page.route("**/query", lambda route: route.fulfill(json=answers.pop(0)))
    search(page, "routed question")
    assert page.locator("#nothing").is_visible() and page.locator(RESULT).count() == 0
    assert page.locator("#weak summary").inner_text() == "Show 2 weak matches anyway"
    page.locator("#weak summary").click()
    assert page.locator("#weak-results li.result").count() == 2
    search(page, "routed question again")
    assert page.locator("#nothing").is_hidden()
    assert page.locator(RESULT).count() == 1
    assert page.locator(RESULT).first.locator(".source").inner_text() == "note-1.md"
    assert page.locator("#weak summary").inner_text() == "2 weaker matches"
    assert page.locator("#weak-results li.result").first.is_hidden()  # folded away until asked for
    assert answers == []


def test_html_in_a_note_is_shown_as_text_never_run(page: Any, server: str) -> None:
    page.goto(server + "/")
    search(page, "untrusted html markup")
    passage = page.locator(RESULT).first.locator(".passage")
    text = passage.inner_text()
    assert "<script>alert(1)</script>" in text and "<img src=x onerror=alert(2)>" in text
    assert passage.locator("script, img, b").count() == 0  # no element came from the note
    assert page.evaluate("document.scripts.length") == 1  # only app.js
    # the page fixture fails the test on any dialog (alert) or console error


def test_the_api_key_is_asked_once_and_kept_for_the_session(page: Any, serve: Serve) -> None:
    server = serve(api_keys=["right-key"])
    page.goto(server + "/")
    page.fill("#q", "water tomatoes")
    page.press("#q", "Enter")
    page.wait_for_selector("#key-form:not([hidden])")
    assert focused(page) == "key"
    page.fill("#key", "wrong-key")
    page.press("#key", "Enter")
    page.wait_for_selector("#key-error:not([hidden])")
    assert "refused" in page.inner_text("#key-error")
    page.fill("#key", "right-key")
    page.press("#key", "Enter")
    page.wait_for_selector(RESULT)
    assert page.locator("#key-form").is_hidden()
    assert page.evaluate("sessionStorage.getItem('semsearch.apiKey')") == "right-key"
    assert page.evaluate("localStorage.length") == 0
    page.reload()  # same tab: the key is remembered
    search(page, "keys")
    assert page.locator(RESULT).first.locator(".source").inner_text() == "ops/keys.md"
    assert page.locator("#key-form").is_hidden()

    other_tab = page.context.new_page()  # sessionStorage is per tab
    other_tab.goto(server + "/")
    assert other_tab.evaluate("sessionStorage.getItem('semsearch.apiKey')") is None
    other_tab.close()


def test_an_api_error_is_shown(page: Any, serve: Serve) -> None:
    server = serve(build=False)  # no index: /query answers 503
    page.goto(server + "/")
    search(page, "inverted dropout")
    error = page.locator("#error")
    assert error.is_visible()
    assert error.inner_text() == "No index is loaded; run `semsearch index`."
    assert page.locator(RESULT).count() == 0


def test_the_servers_query_limit_is_the_pages(page: Any, serve: Serve) -> None:
    """The page holds no limit of its own: the server's setting decides, and its 422 is shown."""
    server = serve(max_query_chars=20)
    page.goto(server + "/")
    search(page, "water the tomatoes early in the morning")
    assert page.locator("#error").inner_text() == "The query is 39 characters long; the limit is 20."
    assert page.locator(RESULT).count() == 0
    search(page, "water tomatoes")
    assert page.locator(RESULT).first.locator(".source").inner_text() == "garden.txt"
    assert page.locator("#error").is_hidden()


def test_an_unreachable_api_is_shown(page: Any, server: str) -> None:
    page.goto(server + "/")
    page.route("**/query", lambda route: route.abort())
    search(page, "inverted dropout")
    assert "could not be reached" in page.locator("#error").inner_text()


def test_readable_at_phone_width(page: Any, server: str) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(server + "/")
    search(page, "what is inverted dropout")
    assert page.locator(RESULT).first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
    box = page.locator("#q").bounding_box()
    assert box["width"] > 200
