"""Every edge shows where a passage of a PDF or notebook is (`paper.pdf p.2 lines 1-3`), and the link
builder opens a PDF at its page and a derived file without a line anchor."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from fastapi.testclient import TestClient

from semsearch.links import note_url
from semsearch.reading.excerpt import read_excerpt
from semsearch.reading.files import read_note
from semsearch.records import Chunk, Hit, Location, Note
from semsearch.settings import Settings
from services.api import create_app
from services.cli.output import format_hit, format_status
from services.mcp.outputs import Passage
from services.slack.formatting import hit_blocks

from .conftest import Build
from .documents import write_notebook, write_pdf


def _hit(source: str, location: Location | None, start: int = 4, end: int = 6) -> Hit:
    chunk = Chunk(id="c1", source=source, heading_path=("Results",), start_line=start, end_line=end,
                  text="Median commute time fell.", embed_text="median commute time fell", location=location)
    return Hit(chunk, score=0.9, rank=1)


PAGE = Location("page", 3, 3, 4, 12)
CELL = Location("cell", 7, 8, 2, 1)


def test_location_labels() -> None:
    assert (PAGE.label, PAGE.detail) == ("p.3", "p.3 lines 4-12")
    assert (CELL.label, CELL.detail) == ("cells 7-8", "cell 7 line 2 to cell 8 line 1")
    assert Location("page", 3, 4, 40, 2).label == "pp.3-4"
    assert Location("paragraph", 12, 14, 1, 1).detail == "¶12-14"


def test_cli_shows_the_page_or_the_lines() -> None:
    assert click.unstyle(format_hit(_hit("paper.pdf", PAGE), "commute")).startswith(
        "1. [0.900] paper.pdf p.3 lines 4-12  Results")
    assert click.unstyle(format_hit(_hit("notes.md", None), "commute")).startswith("1. [0.900] notes.md:4-6")


def test_slack_and_mcp_show_the_location() -> None:
    blocks = hit_blocks(_hit("analysis.ipynb", CELL), set())
    assert "(cell 7 line 2 to cell 8 line 1)" in blocks[0]["text"]["text"]  # type: ignore[index]
    passage = Passage.model_validate(_hit("paper.pdf", PAGE).to_dict())
    assert passage.location == "p.3 lines 4-12"


def test_links_per_format() -> None:
    base = "https://notes.example/n"
    assert note_url(base, _hit("paper.pdf", PAGE)) == "https://notes.example/n/paper.pdf#page=3"
    assert note_url(base, _hit("analysis.ipynb", CELL)) == "https://notes.example/n/analysis.ipynb"
    assert note_url(base, _hit("page.html", None)) == "https://notes.example/n/page.html"
    assert note_url(base, _hit("notes.md", None)) == "https://notes.example/n/notes.md#L4-L6"


def test_old_chunk_rows_without_a_location_still_load() -> None:
    row = _hit("notes.md", None).chunk.to_dict()
    del row["location"]
    assert Chunk.from_dict(row).location is None
    with_location = _hit("paper.pdf", PAGE).chunk
    assert Chunk.from_dict(with_location.to_dict()) == with_location


def test_the_api_returns_the_location_and_a_page_link(folder: Path, build: Build, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEMSEARCH_MODEL", "hashing")
    write_pdf(folder / "paper.pdf", [["Salamanders live near streams."], ["The axolotl regrows limbs."]])
    build(folder)
    settings = Settings(index_dir=tmp_path / "index", notes_base_url="https://notes.example/n")
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8000") as client:
        response = client.post("/query", json={"query": "axolotl regrows limbs", "top_k": 1})
        status = client.get("/status").json()
    assert {f["source"]: f["reader"] for f in status["files"]} == {"garden.md": "markdown", "paper.pdf": "pdf"}
    assert response.status_code == 200, response.text
    result = response.json()["results"][0]
    # two one-line pages make one passage: it is cited from its first page's line to its last's
    assert (result["source"], result["location"]) == ("paper.pdf", "p.1 line 1 to p.2 line 1")
    assert result["url"] == "https://notes.example/n/paper.pdf#page=1"


def test_status_lists_the_reader(folder: Path, build: Build) -> None:
    from semsearch.index.status import status_of

    write_notebook(folder / "analysis.ipynb", [("markdown", "# Survey\n\nResults.")])
    (folder / "broken.pdf").write_bytes(b"not a pdf at all")
    text = format_status(status_of(build(folder)))
    assert "indexed   analysis.ipynb [notebook]: " in text
    assert "skipped   broken.pdf [pdf]: not a PDF file" in text


def test_an_excerpt_of_a_pdf_is_its_extracted_text(folder: Path) -> None:
    write_pdf(folder / "paper.pdf", [["Salamanders live near streams."], ["The axolotl regrows limbs."]],
              headings=["Background", "Regeneration"])
    note = read_note(folder / "paper.pdf", folder)
    assert isinstance(note, Note)
    lines = note.text.split("\n")
    start = lines.index("Regeneration") + 1
    excerpt = read_excerpt(folder, "paper.pdf", start, start + 1)
    assert excerpt.text == "Regeneration\nThe axolotl regrows limbs."


def test_old_files_json_without_readers_still_loads() -> None:
    from semsearch.index.status import BuildFiles

    old = (b'{"embedded": 1, "reused": 0, "removed": [], '
           b'"files": [{"source": "a.md", "status": "indexed", "chunks": 1}]}')
    assert BuildFiles.from_json(old).files[0].reader == ""
