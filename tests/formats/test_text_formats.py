"""org-mode and reStructuredText: the file's own lines, their heading trees as heading paths."""

from __future__ import annotations

from pathlib import Path

from semsearch.reading.files import read_note
from semsearch.records import Note

from .conftest import Build

ORG = """#+TITLE: Homelab
Intro line before any heading.
* Network
The router hands out addresses by DHCP.
** TODO Firewall :security:
# a comment line, not a heading
Block inbound telnet at the edge router.
* Storage
Snapshots of the ZFS pool are taken hourly.
"""

RST = """=========
Home Lab
=========

Intro paragraph.

Network
=======

The router hands out addresses by DHCP.

Firewall
--------

Block inbound telnet at the edge router.

Storage
=======

Snapshots of the ZFS pool are taken hourly.
"""


def _chunks(build: Build, folder: Path, source: str) -> dict[str, tuple[tuple[str, ...], int, int, str]]:
    return {c.text: (c.heading_path, c.start_line, c.end_line, c.text) for c in build(folder).chunks
            if c.source == source}


def test_org_headings_are_heading_paths_and_lines_are_the_files(folder: Path, build: Build) -> None:
    (folder / "lab.org").write_text(ORG, encoding="utf-8")
    note = read_note(folder / "lab.org", folder)
    assert isinstance(note, Note) and note.reader == "org"
    assert note.title == "Homelab"
    assert [(h.line, h.level, h.text) for h in note.headings or ()] == [
        (3, 1, "Network"), (5, 2, "Firewall"), (8, 1, "Storage")]
    file_lines = ORG.split("\n")
    chunks = list(_chunks(build, folder, "lab.org").values())
    telnet = next(c for c in chunks if "telnet" in c[3])
    assert telnet[0] == ("Homelab", "Network", "Firewall")
    for _, start, end, text in chunks:
        assert text == "\n".join(file_lines[start - 1 : end])


def test_rst_sections_are_heading_paths_and_lines_are_the_files(folder: Path, build: Build) -> None:
    (folder / "lab.rst").write_text(RST, encoding="utf-8")
    note = read_note(folder / "lab.rst", folder)
    assert isinstance(note, Note) and note.reader == "rst"
    assert [(h.line, h.last_line, h.level, h.text) for h in note.headings or ()] == [
        (1, 3, 1, "Home Lab"), (7, 8, 2, "Network"), (12, 13, 3, "Firewall"), (17, 18, 2, "Storage")]
    file_lines = RST.split("\n")
    chunks = list(_chunks(build, folder, "lab.rst").values())
    telnet = next(c for c in chunks if "telnet" in c[3])
    assert telnet[0] == ("Home Lab", "Network", "Firewall")
    zfs = next(c for c in chunks if "ZFS" in c[3])
    assert zfs[0] == ("Home Lab", "Storage")
    for _, start, end, text in chunks:
        assert text == "\n".join(file_lines[start - 1 : end])


def test_rst_include_directives_are_not_followed(folder: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-CONTENT", encoding="utf-8")
    (folder / "inc.rst").write_text(f"Title\n=====\n\n.. include:: {secret}\n\nBody text.\n", encoding="utf-8")
    note = read_note(folder / "inc.rst", folder)
    assert isinstance(note, Note) and "SECRET-CONTENT" not in note.text
    assert [h.text for h in note.headings or ()] == ["Title"]
