"""reStructuredText -> Note: the file's own lines (a passage is lines start..end of the file); the
section tree from docutils (titles with their underline, and overline when there is one), parsed
with file inclusion and raw output disabled and no messages printed."""

from __future__ import annotations

import io
import re
from dataclasses import replace

from ...records import Heading, Note
from ..documents import parse_note
from .base import ReadLimits, require

LABEL = "reStructuredText files"
_ADORNMENT = re.compile(r"^([!-/:-@\[-`{-~])\1+\s*$")
SETTINGS = {
    "report_level": 5, "halt_level": 5, "file_insertion_enabled": False, "raw_enabled": False,
    "doctitle_xform": False, "sectsubtitle_xform": False,
}


def read_rst(data: bytes, source: str, limits: ReadLimits) -> Note:
    """Read an rst file; its text is decoded as a text note's is (`documents.parse_note`)."""
    require("docutils", LABEL)
    from docutils import nodes
    from docutils.core import publish_doctree

    note = parse_note(data, source=source, suffix=".rst")
    lines = note.lines
    tree = publish_doctree(note.text, settings_overrides={**SETTINGS, "warning_stream": io.StringIO()})
    headings: list[Heading] = []
    for title in tree.findall(nodes.title):
        section = title.parent
        underline = title.line  # docutils gives the underline's line (1-based)
        if not isinstance(section, nodes.section) or not underline or underline < 2:
            continue
        if underline > len(lines) or not _ADORNMENT.match(lines[underline - 1]):
            continue
        start = underline - 1
        if start >= 2 and lines[start - 2] == lines[underline - 1]:  # an overline like the underline
            start -= 1
        level = sum(1 for _ in _sections_above(section))
        headings.append(Heading(start, level, title.astext().strip(), underline))
    return replace(note, format="text", reader="rst", headings=tuple(headings))


def _sections_above(node: object) -> list[object]:
    """The section itself and every section it is nested in."""
    from docutils import nodes

    found: list[object] = []
    current = node
    while current is not None:
        if isinstance(current, nodes.section):
            found.append(current)
        current = getattr(current, "parent", None)
    return found
