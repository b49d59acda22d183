from __future__ import annotations

import codecs

import pytest

from semsearch.reading.documents import UnreadableNoteError, decode_bytes, parse_note, repair_text, sniff_format
from semsearch.settings import bundled_notes_dir


def test_utf8_with_bom_and_legacy_fallback() -> None:
    assert decode_bytes("\ufeffcafé".encode())[0] == "café"
    text, encoding = decode_bytes("Les élèves ont déjà mangé à midi. ".encode("cp1252") * 20)
    assert "élèves" in text and encoding != "utf-8"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_a_byte_order_mark_are_read(encoding: str) -> None:
    text = "# Résumé\n\nNotes written by a Windows editor — “quoted”.\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    assert decode_bytes(data)[0] == text


def test_binary_is_refused() -> None:
    with pytest.raises(UnreadableNoteError, match="binary"):
        decode_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")


def test_mojibake_from_the_handbook_export_is_repaired() -> None:
    assert repair_text("Solves the β€˜vanishing gradient’ problem") == "Solves the ‘vanishing gradient’ problem"
    assert repair_text("the β€œwork” similarly") == "the “work” similarly"


def test_repair_keeps_clean_text_and_line_count() -> None:
    clean = "Greek stays: αβγ.\nQuotes stay “curly” and 'straight'.\n&gt; stays escaped\n"
    assert repair_text(clean) == clean


def test_bundled_export_is_repaired_and_line_aligned() -> None:
    path = bundled_notes_dir() / "deep-neural-nets-export.txt"
    raw = path.read_bytes()
    note = parse_note(raw, source=path.name, suffix=path.suffix)
    assert note.repaired and "β€" not in note.text
    assert len(note.lines) == len(raw.decode().split("\n"))


def test_front_matter_becomes_metadata_and_lines_still_count_from_the_file() -> None:
    data = b"---\ntitle: Reading list\ntags: [ml, audio]\n---\n# Heading\nbody\n"
    note = parse_note(data, source="a.md", suffix=".md")
    assert note.title == "Reading list"
    assert note.tags == ("ml", "audio")
    assert note.body_start_line == 5
    assert note.lines[4] == "# Heading"


def test_broken_front_matter_is_ignored_not_fatal() -> None:
    note = parse_note(b"---\ntitle: [unclosed\n---\nbody text\n", source="a.md", suffix=".md")
    assert note.title is None and "body text" in note.text


@pytest.mark.parametrize("data", [b"", b"   \n\n", b"---\ntitle: x\n---\n\n"])
def test_empty_notes_are_refused(data: bytes) -> None:
    with pytest.raises(UnreadableNoteError):
        parse_note(data, source="e.md", suffix=".md")


def test_markdown_is_detected_by_content() -> None:
    markdown = "### Title\n\n* [link](http://x.org) and **bold**\n* item\n"
    assert sniff_format(markdown, ".txt") == "markdown"
    assert sniff_format("Just a plain line.\nAnother one.\n", ".txt") == "text"
    assert sniff_format("anything", ".md") == "markdown"


def test_bundled_notes_formats() -> None:
    formats = {}
    for path in sorted(bundled_notes_dir().iterdir()):
        formats[path.name] = parse_note(path.read_bytes(), source=path.name, suffix=path.suffix).format
    assert formats == {
        "deep-neural-nets-export.txt": "text",
        "deep-neural-nets.md": "markdown",
        "machine-learning-reference-list-raw.txt": "markdown",
        "machine-learning-reference-list-rendered.txt": "text",
        "machine-learning-reference-list.md": "markdown",
    }
