"""The reader interface: file bytes -> a `Note` with its text, headings and position map.

A reader for a text format (org, rst) keeps the file's own lines as the note's text, so a passage
is lines `start_line..end_line` of the file, as for markdown. A reader for a derived format (PDF,
HTML, DOCX, notebooks) renders the file to a plain text (`NoteText`) and records, for each line of
it, the page, cell or paragraph that holds it (`PositionMap`); a passage is then exactly a span of
that text, and its citation (`Location`) comes from the map (`positions.locate`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ...records import Heading, LocationUnit, Note, PositionMap
from ..documents import UnreadableNoteError
from ..limits import MB, ReadLimits

__all__ = ["FORMATS_EXTRA", "MB", "MissingLibraryError", "NoteText", "ReadFunction", "ReadLimits", "Reader",
           "require"]

FORMATS_EXTRA = "semsearch[formats]"


class MissingLibraryError(UnreadableNoteError):
    """The library of a reader is not installed; the message names the extra to install."""


ReadFunction = Callable[[bytes, str, ReadLimits], Note]  # (data, source, limits) -> Note


@dataclass(frozen=True, slots=True)
class Reader:
    """One file format: how to recognise it and how to read it."""

    name: str  # shown in `semsearch status`: pdf, html, docx, notebook, org, rst
    label: str  # in sentences: "PDF files"
    suffixes: tuple[str, ...]
    libraries: tuple[str, ...]  # imported lazily by `read`; a missing one skips the file naming the extra
    read: ReadFunction
    derived: bool  # text rendered from the file (a position map) rather than the file's own lines
    isolated: bool  # read in the worker process under the time budget (binary formats)
    sniff: Callable[[bytes], bool] | None = None  # the file's first bytes say it is this format


@dataclass(slots=True)
class NoteText:
    """A derived note's text being rendered, line by line, with each line's unit and headings."""

    unit: LocationUnit
    max_chars: int
    lines: list[str] = field(default_factory=list)
    units: list[int] = field(default_factory=list)
    unit_lines: list[int] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)
    chars: int = 0
    _counts: dict[int, int] = field(default_factory=dict)

    def add(self, text: str, unit: int, *, heading_level: int = 0) -> None:
        """Append `text`'s lines, held by `unit` (counted from 1; 0: the reader's own separator).
        With `heading_level`, its first line is a heading of that level."""
        for index, line in enumerate(text.split("\n")):
            if heading_level and index == 0 and line.strip():
                number = len(self.lines) + 1
                self.headings.append(Heading(number, heading_level, line.strip(), number))
            self.lines.append(line)
            self.units.append(unit)
            if unit:
                self._counts[unit] = self._counts.get(unit, 0) + 1
            self.unit_lines.append(self._counts.get(unit, 0) if unit else 0)
            self.chars += len(line) + 1
        if self.chars > self.max_chars:
            raise UnreadableNoteError(f"too much text (over {self.max_chars:,} characters extracted)")

    def separate(self) -> None:
        """A blank line between two units, unless the text already ends with one."""
        if self.lines and self.lines[-1].strip():
            self.add("", 0)

    def note(self, source: str, *, reader: str, title: str | None = None, markdown: bool = False) -> Note:
        """The finished note; UnreadableNoteError when the file gave no text."""
        while self.lines and not self.lines[-1].strip():
            self.lines.pop()
            self.units.pop()
            self.unit_lines.pop()
        if not any(line.strip() for line in self.lines):
            raise UnreadableNoteError("no text found in the file")
        return Note(
            source=source, text="\n".join(self.lines), format="markdown" if markdown else "text",
            body_start_line=1, title=title or None, reader=reader, headings=tuple(self.headings),
            positions=PositionMap(self.unit, tuple(self.units), tuple(self.unit_lines)),
        )


def require(module: str, label: str) -> None:
    """Import `module` or raise MissingLibraryError naming the extra (`install semsearch[formats]`)."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        raise MissingLibraryError(f"install {FORMATS_EXTRA} to index {label} ({module} is missing)") from None
