"""The search page shows where a PDF passage is (`p.2 lines 1-2`) and links to its page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from semsearch.settings import Settings
from services.api import create_app
from tests.api.conftest import publish, write_notes
from tests.formats.documents import write_pdf
from tests.servers import serving

from .conftest import ABSTAIN_THRESHOLD, NOTES_BASE_URL
from .test_search_page import RESULT, search


def test_a_pdf_passage_shows_its_page_and_links_to_it(page: Any, tmp_path: Path) -> None:
    notes = write_notes(tmp_path / "notes", {"garden.md": "# Garden\n\nWater tomatoes early in the morning.\n"})
    write_pdf(notes / "paper.pdf", [["Salamanders live near cold mountain streams and in shaded forest ponds."] * 30,
                                    ["The axolotl regrows entire limbs.", "Blastema cells do it."]],
              headings=["Background", "Regeneration"])
    publish(notes, tmp_path / "index")
    settings = Settings(index_dir=tmp_path / "index", model="hashing", abstain_threshold=ABSTAIN_THRESHOLD,
                        notes_base_url=NOTES_BASE_URL)
    with serving(create_app(settings, reload_interval=0.0)) as url:
        page.goto(url + "/")
        search(page, "axolotl regrows limbs blastema")
        first = page.locator(RESULT).first
        assert first.locator(".source").inner_text() == "paper.pdf"
        assert first.locator(".lines").inner_text() == "p.2 lines 1-3"
        assert first.locator(".source").get_attribute("href") == NOTES_BASE_URL + "paper.pdf#page=2"
