"""PDF -> Note with pypdf: each page's text in reading order, page by page, a blank line between
pages; headings from the outline (bookmarks), else from lines set in a larger font than the body.
Positions: page (from 1) and line within the page's extracted text."""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from typing import Any

from ...records import Note
from ..documents import UnreadableNoteError
from .base import NoteText, ReadLimits, require

logger = logging.getLogger(__name__)

LABEL = "PDF files"
_SPACES = re.compile(r"\s+")
HEADING_SIZE_RATIO = 1.2  # a line set at least this much larger than the body text is a heading
MAX_FONT_LEVELS = 3


def is_pdf(head: bytes) -> bool:
    """A PDF's header `%PDF-` is within its first 1024 bytes."""
    return b"%PDF-" in head[:1024]


def starts_as_pdf(head: bytes) -> bool:
    """The file starts with a PDF header: a PDF whatever its name (`is_pdf` is for a file named .pdf)."""
    return head.startswith(b"%PDF-")


def _key(text: str) -> str:
    """Text compared without case or whitespace (extracted lines gain and lose spaces between runs)."""
    return _SPACES.sub("", text).casefold()


def _titles(line: str, title: str) -> bool:
    """The extracted line is this outline title, give or take a number before it or after it."""
    found, wanted = _key(line), _key(title)
    if not found or not wanted:
        return False
    return found == wanted or (len(found) - len(wanted) <= 6 and (found.startswith(wanted) or found.endswith(wanted)))


def _outline(reader: Any) -> dict[int, list[tuple[int, str]]]:
    """Page number (from 1) -> [(level, title)] of the outline entries that point at it."""
    found: dict[int, list[tuple[int, str]]] = {}

    def walk(items: list[Any], level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
                continue
            try:
                page = reader.get_destination_page_number(item) + 1
            except Exception:  # a destination pointing nowhere: no heading, the text is still read
                continue
            if page > 0 and getattr(item, "title", None):
                found.setdefault(page, []).append((level, str(item.title)))

    try:
        walk(reader.outline, 1)
    except Exception as exc:  # a damaged outline costs the headings, not the text
        logger.debug("ignoring the outline: %s", exc)
    return found


def _page_text(page: Any) -> tuple[str, list[tuple[float, str]]]:
    """The page's text and its runs as (font size, text), for font-size headings."""
    runs: list[tuple[float, str]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if text.strip() and size:
            runs.append((round(float(size) * (abs(tm[3]) or 1.0) * (abs(cm[3]) or 1.0), 1), text.strip()))

    return page.extract_text(visitor_text=visit) or "", runs


def _font_headings(runs: list[tuple[float, str]]) -> dict[str, int]:
    """Text key -> heading level of the text set larger than the body (the commonest size by
    characters): each large run, and each sequence of neighbouring runs of one large size (a heading
    written in several runs)."""
    if not runs:
        return {}
    sizes: Counter[float] = Counter()
    for size, text in runs:
        sizes[size] += len(text)
    body = sizes.most_common(1)[0][0]
    large = sorted({s for s, _ in runs if s >= body * HEADING_SIZE_RATIO}, reverse=True)[:MAX_FONT_LEVELS]
    found: dict[str, int] = {}
    group: list[str] = []
    for index, (size, text) in enumerate(runs):
        if size not in large:
            continue
        group = group + [text] if index and runs[index - 1][0] == size and group else [text]
        for piece in (text, "".join(group)):
            if len(piece) <= 150:
                found.setdefault(_key(piece), large.index(size) + 1)
    return found


def read_pdf(data: bytes, source: str, limits: ReadLimits) -> Note:
    """Read a PDF page by page (memory stays bounded: only the text is kept)."""
    require("pypdf", LABEL)
    from pypdf import PdfReader

    if not is_pdf(data):
        raise UnreadableNoteError("not a PDF file (no %PDF- header; another kind of file renamed .pdf?)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableNoteError("encrypted PDF (it needs a password)")
        count = len(reader.pages)
    except UnreadableNoteError:
        raise
    except Exception as exc:
        if "decrypt" in str(exc).lower() or "encrypt" in str(exc).lower():
            raise UnreadableNoteError("encrypted PDF (it cannot be opened without a password)") from None
        raise UnreadableNoteError(f"damaged PDF ({_reason(exc)})") from None
    if count == 0:
        raise UnreadableNoteError("PDF with no pages")
    if count > limits.max_pages:
        raise UnreadableNoteError(f"too many pages ({count:,}; the limit is {limits.max_pages:,})")
    outline = _outline(reader)
    out = NoteText("page", limits.max_chars)
    empty = 0
    for number in range(1, count + 1):
        try:
            text, runs = _page_text(reader.pages[number - 1])
        except Exception as exc:
            raise UnreadableNoteError(f"damaged PDF (page {number}: {_reason(exc)})") from None
        lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
        if not any(lines):
            empty += 1
            continue
        marks = outline.get(number, [])
        by_font = {} if outline else _font_headings(runs)
        out.separate()
        for line in lines:
            level = 0
            if marks and _titles(line, marks[0][1]):
                level = marks.pop(0)[0]
            elif line.strip() and _key(line) in by_font:
                level = by_font[_key(line)]
            out.add(line, number, heading_level=level)
    if empty == count:
        raise UnreadableNoteError("no text layer (scanned pages?); run OCR on it to index it")
    if empty:
        logger.info("%s: %d of %d pages have no text layer", source, empty, count)
    return out.note(source, reader="pdf")  # no metadata title: it is often a tool's ("Microsoft Word - x.doc")


def _reason(exc: BaseException) -> str:
    return str(exc).strip().rstrip(".") or type(exc).__name__
