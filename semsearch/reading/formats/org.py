"""org-mode -> Note: the file's own lines (a passage is lines start..end of the file, as for
markdown); the heading tree from orgparse (`* Heading`, `** Sub`; TODO keywords, priorities and
tags left out of the heading path); the title from `#+TITLE:`."""

from __future__ import annotations

from dataclasses import replace

from ...records import Heading, Note
from ..documents import parse_note
from .base import ReadLimits, require

LABEL = "org-mode files"


def read_org(data: bytes, source: str, limits: ReadLimits) -> Note:
    """Read an org file; its text is decoded as a text note's is (`documents.parse_note`)."""
    require("orgparse", LABEL)
    import orgparse

    note = parse_note(data, source=source, suffix=".org")
    root = orgparse.loads(note.text)
    headings = tuple(
        Heading(node.linenumber, node.level, node.heading.strip(), node.linenumber)
        for node in root[1:]
        if node.linenumber and node.heading.strip()
    )
    title = root.get_file_property("TITLE")
    return replace(note, format="text", reader="org", headings=headings, title=title or note.title)
