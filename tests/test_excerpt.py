"""`reading.excerpt.read_excerpt`: the exact lines of a note, as indexing decodes them, and refusals."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from semsearch.errors import QueryError
from semsearch.reading.excerpt import read_excerpt
from semsearch.reading.files import read_note
from semsearch.records import Note


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    root = tmp_path / "notes"
    (root / "guides").mkdir(parents=True)
    (root / "guides" / "garden.md").write_text("# Garden\n\nWater early.\nMulch in May.\n", encoding="utf-8")
    (root / "crlf.txt").write_bytes(b"one\r\ntwo\r\nthree")
    (root / "latin.txt").write_bytes("Caf\xe9 notes\nsecond line\n".encode("cp1252"))
    (tmp_path / "secret.md").write_text("# Secret\n\nnot a note of this folder\n", encoding="utf-8")
    (root / "escape.md").symlink_to(tmp_path / "secret.md")
    return root


def test_returns_exactly_the_requested_lines(notes: Path) -> None:
    excerpt = read_excerpt(notes, "guides/garden.md", 3, 4)
    assert excerpt.lines == ("Water early.", "Mulch in May.")
    assert excerpt.text == "Water early.\nMulch in May."
    assert (excerpt.line_count, excerpt.changed) == (4, False)  # the final newline starts no line


def test_lines_are_decoded_as_indexing_decodes_them(notes: Path) -> None:
    assert read_excerpt(notes, "crlf.txt", 2, 3).lines == ("two", "three")
    excerpt = read_excerpt(notes, "latin.txt", 1, 1)
    note = read_note(notes / "latin.txt", notes)
    assert isinstance(note, Note) and excerpt.lines == ("Café notes",)
    assert excerpt.sha256 == hashlib.sha256(note.text.encode()).hexdigest()


@pytest.mark.parametrize("source", ["../secret.md", "guides/../../secret.md", "/etc/passwd", "C:\\x.md",
                                    "\\\\server\\share.md", "", "  ", "a\x00b.md"])
def test_paths_outside_the_folder_are_refused(notes: Path, source: str) -> None:
    with pytest.raises(QueryError) as info:
        read_excerpt(notes, source, 1, 1)
    assert str(notes.parent) not in str(info.value)


def test_a_symlink_leaving_the_folder_is_refused(notes: Path) -> None:
    with pytest.raises(QueryError, match="points outside the notes folder"):
        read_excerpt(notes, "escape.md", 1, 1)


@pytest.mark.parametrize(("start", "end", "message"), [
    (0, 1, "start_line must be a line number from 1"),
    (3, 2, "is before start_line"),
    (4, 5, "past the end of 'guides/garden.md', which has 4 lines"),
    (1, 10**6, "ask for at most"),
])
def test_bad_ranges_are_refused(notes: Path, start: int, end: int, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        read_excerpt(notes, "guides/garden.md", start, end)


def test_size_is_bounded_in_bytes(notes: Path) -> None:
    (notes / "long.md").write_text("# Long\n" + "x" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(QueryError, match="bytes"):
        read_excerpt(notes, "long.md", 1, 2, max_bytes=1000)


def test_only_indexed_notes_and_a_changed_note_says_so(notes: Path) -> None:
    note = read_note(notes / "guides" / "garden.md", notes)
    digest = hashlib.sha256(note.text.encode()).hexdigest()  # type: ignore[union-attr]
    assert not read_excerpt(notes, "guides/garden.md", 1, 1, indexed={"guides/garden.md": digest}).changed
    with pytest.raises(QueryError, match="not a note in the index"):
        read_excerpt(notes, "crlf.txt", 1, 1, indexed={"guides/garden.md": digest})
    (notes / "guides" / "garden.md").write_text("# Garden\n\nWater late.\n", encoding="utf-8")
    assert read_excerpt(notes, "guides/garden.md", 1, 1, indexed={"guides/garden.md": digest}).changed


def test_a_missing_note_is_refused(notes: Path) -> None:
    with pytest.raises(QueryError, match="not in the notes folder"):
        read_excerpt(notes, "gone.md", 1, 1)
