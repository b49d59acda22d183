"""A real headless Chromium (Debian's `chromium`, driven by Playwright) against the real API server.

The server runs with uvicorn on 127.0.0.1 (see `tests.api.test_api_server.serving`) over an index
built with the `hashing` fake model from notes written here, one of which holds raw HTML.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from semsearch.settings import Settings
from services.api import create_app
from tests.api.conftest import publish, write_notes
from tests.servers import serving

CHROMIUM = "/usr/bin/chromium"  # Debian's package; Playwright downloads no browser
NOTES_BASE_URL = "https://notes.example/blob/main/"
DROPOUT = ("# Regularization\n\n## Dropout\n\n"
           "Inverted dropout scales the kept activations by 1/(1-p) during training, "
           "so nothing changes at test time.\n")
NOTES = {
    "ml/dropout.md": DROPOUT,
    "ml/export/dropout.txt": DROPOUT,  # the same passage twice: shown once, with "also in"
    "ml/batchnorm.md": "# Batch norm\n\nBatch normalization standardizes layer inputs per mini-batch.\n",
    "ops/keys.md": "# Operations\n\n## Keys\n\nRotate API keys every 90 days with the vault.\n",
    "garden.txt": "Tomatoes\n\nWater tomatoes early in the morning, before the heat.\n",
    "web/escaping.md": "# Web\n\n## Untrusted HTML\n\nThis note holds markup verbatim: "
                       "<script>alert(1)</script> <img src=x onerror=alert(2)> <b>bold</b>\n",
}
# The hashing model's calibrated scores are not MiniLM's: notes sharing words with the query score
# 0.55 to 0.99 and unrelated ones about 0.19 (no gap, no shared term: the calibration's bias alone),
# so this threshold splits them with room to spare.
ABSTAIN_THRESHOLD = 0.3
Serve = Callable[..., str]
FAILED_LOAD = "Failed to load resource:"


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One headless Chromium for tests/browser; each test opens its own context (fresh storage).
    Package scope, not session: Playwright's sync API keeps an asyncio loop running in the main
    thread while it is open, which would break later tests that call `asyncio.run`."""
    missing = None if Path(CHROMIUM).is_file() else f"{CHROMIUM} is missing: `apt-get install -y chromium`"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "playwright is not installed: `pip install -e '.[dev]'`"
    if missing and os.environ.get("CI"):  # .ci/run installs both: CI never skips these tests
        pytest.fail(missing)
    if missing:
        pytest.skip(missing)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """Start a real server; keyword arguments become settings. `serve(build=False)` serves no index."""
    started = 0
    with ExitStack() as stack:

        def start(*, build: bool = True, **overrides: Any) -> str:
            nonlocal started
            started += 1
            index_dir = tmp_path / f"index-{started}"
            if build:
                publish(write_notes(tmp_path / "notes", NOTES), index_dir)
            settings = Settings(**{"index_dir": index_dir, "model": "hashing",
                                   "abstain_threshold": ABSTAIN_THRESHOLD,
                                   "notes_base_url": NOTES_BASE_URL, **overrides})
            url: str = stack.enter_context(serving(create_app(settings, reload_interval=0.0)))
            return url

        yield start


@pytest.fixture
def server(serve: Serve) -> str:
    """The URL of a server over `NOTES`, with no API keys."""
    return serve()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page in a fresh browser context, failing the test on any console
    error (a CSP violation is one) or script dialog."""
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    page = context.new_page()
    problems: list[str] = []

    def on_console(message: Any) -> None:
        # Chromium logs a failed /query itself; the tests check how the page shows it
        failed_query = message.text.startswith(FAILED_LOAD) and message.location["url"].endswith("/query")
        if message.type == "error" and not failed_query:
            problems.append(f"console error: {message.text}")

    def on_dialog(dialog: Any) -> None:  # alert(1) from a note would land here
        problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("dialog", on_dialog)
    page.set_default_timeout(15_000)  # generous: CI machines are shared
    yield page
    context.close()
    assert problems == [], problems
