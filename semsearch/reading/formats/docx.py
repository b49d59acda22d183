"""Word (.docx) -> Note with python-docx: the body's paragraphs and tables in order, headings by
style (`Title`, `Heading 1`..`Heading 9`), each table row as one line (`cell | cell`).
Positions: the paragraph (from 1; empty paragraphs are not counted, a table counts as one) that holds
each line. A zip bomb is refused from the zip's directory, before anything is decompressed."""

from __future__ import annotations

import io
import logging
import re
import zipfile
from typing import Any

from ...records import Note
from ..documents import UnreadableNoteError
from .base import MB, NoteText, ReadLimits, require

logger = logging.getLogger(__name__)

LABEL = "Word files"
DOCUMENT_PART = "word/document.xml"
MAX_UNCOMPRESSED_BYTES = 200 * MB  # all parts together, as the zip's directory declares them
MAX_COMPRESSION_RATIO = 100  # document.xml compresses about 10x; a bomb compresses 1000x
_HEADING_STYLE = re.compile(r"^Heading (\d)$")


def is_docx(head: bytes) -> bool:
    """A zip file (a .docx is one; which part it holds is checked when read)."""
    return head.startswith(b"PK\x03\x04")


def check_zip(data: bytes) -> None:
    """Refuse what is not a .docx or would decompress to too much (UnreadableNoteError)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UnreadableNoteError("not a Word file (not a valid zip archive; damaged, or renamed .docx?)") from None
    with archive:
        infos = archive.infolist()
        names = {info.filename for info in infos}
        if DOCUMENT_PART not in names:
            raise UnreadableNoteError(f"not a Word file (the zip has no {DOCUMENT_PART})")
        total = sum(info.file_size for info in infos)
        if total > MAX_UNCOMPRESSED_BYTES:
            raise UnreadableNoteError(f"refused: would decompress to {total / MB:,.0f} MB (a zip bomb?; "
                                      f"the limit is {MAX_UNCOMPRESSED_BYTES // MB} MB)")
        part = archive.getinfo(DOCUMENT_PART)
        ratio = part.file_size // max(part.compress_size, 1)
        if part.file_size > 10 * MB and ratio > MAX_COMPRESSION_RATIO:
            raise UnreadableNoteError(f"refused: {DOCUMENT_PART} is compressed {ratio:,} times (a zip bomb?)")


def _level(paragraph: Any, style_names: dict[str, str]) -> int:
    """The heading level of a paragraph by its style: `Title` 1, `Heading N` N, else 0. The style id
    is read from the paragraph's XML and named from `style_names` (python-docx's `paragraph.style`
    scans every style of the document for each unstyled paragraph)."""
    style_id = paragraph._p.style
    name = style_names.get(style_id, "") if style_id else ""
    if name == "Title":
        return 1
    match = _HEADING_STYLE.match(name)
    return int(match.group(1)) if match else 0


def _table_rows(table: Any) -> list[str]:
    rows: list[str] = []
    for row in table.rows:
        seen: set[int] = set()
        cells: list[str] = []
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell is listed once per grid column it spans
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            rows.append(" | ".join(cells))
    return rows


def read_docx(data: bytes, source: str, limits: ReadLimits) -> Note:
    """Read a .docx body in document order."""
    require("docx", LABEL)
    import docx
    from docx.table import Table

    check_zip(data)
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(document.iter_inner_content())
        title = document.core_properties.title
        style_names = {style.style_id: style.name or "" for style in document.styles}
    except UnreadableNoteError:
        raise
    except Exception as exc:
        raise UnreadableNoteError(f"damaged Word file ({str(exc).strip() or type(exc).__name__})") from None
    out = NoteText("paragraph", limits.max_chars)
    number = 0
    for block in blocks:
        if isinstance(block, Table):
            rows = _table_rows(block)
            if rows:
                number += 1
                out.separate()
                out.add("\n".join(rows), number)
                out.separate()
            continue
        text = "\n".join(line.rstrip() for line in block.text.split("\n"))
        if not text.strip():
            continue
        number += 1
        level = _level(block, style_names)
        if level:
            out.separate()
        out.add(text, number, heading_level=level)
    return out.note(source, reader="docx", title=str(title).strip() if title else None)
