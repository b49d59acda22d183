"""PDF: known text on known pages; the citation points at the page and the lines that hold it."""

from __future__ import annotations

from pathlib import Path

from semsearch.reading.files import read_note
from semsearch.records import Note

from .conftest import Build, Search
from .documents import write_pdf

PAGES = [
    ["Salamanders are amphibians.", "They live near streams."],
    ["Intro to regeneration.", "The axolotl regrows entire limbs within weeks.", "Blastema cells do it."],
    ["Closing remarks.", "Frogs lose the ability as adults."],
]


def _note(path: Path) -> Note:
    note = read_note(path, path.parent)
    assert isinstance(note, Note), note
    return note


def test_a_hit_cites_the_page_and_line_that_hold_its_text(folder: Path, search: Search) -> None:
    write_pdf(folder / "paper.pdf", PAGES, headings=["Background", "Regeneration", "Summary"])
    hits = search(folder, "axolotl regrows limbs")
    hit = next(h for h in hits if h.chunk.source == "paper.pdf")
    assert "axolotl regrows entire limbs" in hit.chunk.text
    location = hit.chunk.location
    assert location is not None and (location.unit, location.first, location.last) == ("page", 2, 2)
    # the heading is line 1 of page 2, the sentence line 3
    page_two = hit.chunk.text.split("\n")
    assert page_two.index("The axolotl regrows entire limbs within weeks.") + location.first_line == 3
    assert hit.chunk.heading_path == ("Regeneration",)
    assert hit.to_dict()["location"].startswith("p.2 ")


def test_every_chunk_is_a_span_of_the_readers_text(folder: Path, build: Build) -> None:
    write_pdf(folder / "paper.pdf", PAGES, headings=["Background", "Regeneration", "Summary"])
    note = _note(folder / "paper.pdf")
    lines = note.text.split("\n")
    chunks = [c for c in build(folder).chunks if c.source == "paper.pdf"]
    assert chunks
    for chunk in chunks:
        assert chunk.text == "\n".join(lines[chunk.start_line - 1 : chunk.end_line])
        assert chunk.location is not None
        page = PAGES[chunk.location.first - 1]
        assert any(line in chunk.text for line in page)


def test_headings_come_from_font_sizes_without_an_outline(folder: Path) -> None:
    write_pdf(folder / "plain.pdf", PAGES, headings=["Background", "Regeneration", None], outline=False)
    note = _note(folder / "plain.pdf")
    assert [h.text for h in note.headings or ()] == ["Background", "Regeneration"]
    assert note.reader == "pdf"


def test_a_page_without_text_is_skipped_but_the_rest_is_read(folder: Path) -> None:
    write_pdf(folder / "gap.pdf", [["First page words."], [], ["Third page words."]])
    note = _note(folder / "gap.pdf")
    assert note.positions is not None
    assert set(note.positions.units) - {0} == {1, 3}


def test_a_heading_written_in_several_runs_is_one_heading(folder: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=20)
    pdf.cell(text="Chapter")  # two text runs on one line, as word processors write them
    pdf.cell(text="Two", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=11)
    for line in ("Body text of the chapter.", "More body text here."):
        pdf.cell(text=line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(folder / "runs.pdf"))
    note = _note(folder / "runs.pdf")
    assert len(note.headings or ()) == 1 and (note.headings or ())[0].line == 1
    assert note.text.split("\n")[0].replace(" ", "") == "ChapterTwo"


def test_an_outline_title_matches_its_numbered_line(folder: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    pdf.cell(text="Introduction to the topic starts here.", new_x="LMARGIN", new_y="NEXT")
    pdf.start_section("Introduction")
    pdf.cell(text="1 Introduction", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(text="The body.", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(folder / "numbered.pdf"))
    note = _note(folder / "numbered.pdf")
    assert [(h.line, h.text) for h in note.headings or ()] == [(2, "1 Introduction")]
