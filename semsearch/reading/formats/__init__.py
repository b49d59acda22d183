"""The file formats beyond markdown and text, one reader module each, registered here (`READERS`).

`reader_for` picks the reader of a file by its extension, else by its first bytes (a PDF, a zip or
a notebook under another name). Markdown and plain text are not here: `documents.parse_note` reads
them. Each reader imports its library on use; they come with the `formats` extra.
"""

from __future__ import annotations

from ...records import Note
from ..documents import parse_note
from . import docx, html, notebook, org, pdf, rst
from .base import FORMATS_EXTRA, MissingLibraryError, Reader, ReadLimits, require
from .isolation import read_isolated

READERS: tuple[Reader, ...] = (
    Reader("pdf", pdf.LABEL, (".pdf",), ("pypdf",), pdf.read_pdf, derived=True, isolated=True,
           sniff=pdf.starts_as_pdf),
    Reader("docx", docx.LABEL, (".docx",), ("docx",), docx.read_docx, derived=True, isolated=True,
           sniff=docx.is_docx),
    Reader("notebook", notebook.LABEL, (".ipynb",), ("nbformat",), notebook.read_notebook, derived=True,
           isolated=False, sniff=notebook.is_notebook),
    Reader("html", html.LABEL, (".html", ".htm", ".xhtml"), ("selectolax",), html.read_html, derived=True,
           isolated=False, sniff=html.is_html),
    Reader("org", org.LABEL, (".org",), ("orgparse",), org.read_org, derived=False, isolated=False),
    Reader("rst", rst.LABEL, (".rst", ".rest"), ("docutils",), rst.read_rst, derived=False, isolated=False),
)
BY_NAME = {reader.name: reader for reader in READERS}
BY_SUFFIX = {suffix: reader for reader in READERS for suffix in reader.suffixes}
TEXT_SUFFIXES = (".md", ".markdown", ".txt")


def reader_for(suffix: str, head: bytes) -> Reader | None:
    """The reader of a file with this extension and first bytes; None: a markdown or text note."""
    suffix = suffix.lower()
    if suffix in BY_SUFFIX:
        return BY_SUFFIX[suffix]
    if suffix in TEXT_SUFFIXES and not pdf.starts_as_pdf(head):  # a PDF saved as .txt is still a PDF
        return None
    return next((r for r in READERS if r.derived and r.sniff is not None and r.sniff(head)), None)


def reader_name(suffix: str) -> str:
    """The reader a file with this extension goes to, by name: `pdf`, ..., or `markdown`/`text`."""
    reader = BY_SUFFIX.get(suffix.lower())
    return reader.name if reader else ("markdown" if suffix.lower() in (".md", ".markdown") else "text")


def read_with_reader(data: bytes, *, source: str, suffix: str, limits: ReadLimits) -> Note:
    """The Note of a file's bytes, through its format's reader (UnreadableNoteError with the reason;
    MissingLibraryError, one, when the reader's library is not installed)."""
    reader = reader_for(suffix, data[:4096])
    if reader is None:
        return parse_note(data, source=source, suffix=suffix)
    for module in reader.libraries:
        require(module, reader.label)
    if reader.isolated:
        return read_isolated(reader.name, data, source, limits)
    return reader.read(data, source, limits)


__all__ = ["BY_NAME", "BY_SUFFIX", "FORMATS_EXTRA", "READERS", "MissingLibraryError", "ReadLimits", "Reader",
           "read_with_reader", "reader_for", "reader_name"]
