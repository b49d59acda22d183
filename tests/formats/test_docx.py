"""Word: paragraphs, headings by style, tables as text; citations by paragraph."""

from __future__ import annotations

from pathlib import Path

from semsearch.reading.files import read_note
from semsearch.records import Note

from .conftest import Build
from .documents import write_docx

BLOCKS = [
    ("Title", "Field Guide"),
    ("Heading 1", "Birds"),
    ("Normal", "The heron waits motionless in shallow water."),
    ("Normal", ""),
    ("Heading 2", "Owls"),
    ("Normal", "Barn owls hunt by sound alone."),
]


def test_paragraphs_headings_and_tables(folder: Path, build: Build) -> None:
    write_docx(folder / "guide.docx", BLOCKS, table=[["Bird", "Call"], ["Owl", "hoot"]])
    note = read_note(folder / "guide.docx", folder)
    assert isinstance(note, Note), note
    assert [(h.level, h.text) for h in note.headings or ()] == [(1, "Field Guide"), (1, "Birds"), (2, "Owls")]
    assert "Bird | Call\nOwl | hoot" in note.text
    chunks = {c.text: c for c in build(folder).chunks if c.source == "guide.docx"}
    owls = next(c for text, c in chunks.items() if "Barn owls" in text)
    assert owls.heading_path == ("Birds", "Owls")
    # paragraphs with text, from 1: Field Guide, Birds, heron, Owls, barn owls (the empty one is not
    # counted), then the table
    lines = note.text.split("\n")
    assert note.positions is not None
    assert note.positions.units[lines.index("Barn owls hunt by sound alone.")] == 5
    assert note.positions.units[lines.index("Owl | hoot")] == 6
    assert owls.location is not None and owls.location.unit == "paragraph"
    assert owls.location.first <= 5 <= owls.location.last
    for chunk in chunks.values():
        assert chunk.text == "\n".join(lines[chunk.start_line - 1 : chunk.end_line])
