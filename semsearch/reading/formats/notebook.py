"""Jupyter notebook (.ipynb) -> Note with nbformat: markdown and code cells in order, outputs left
out; code fenced (```python) so that a `# comment` is never taken for a heading. Headings: the
markdown cells' own `#` headings. Positions: the cell (from 1, every cell counted, as Jupyter shows
them) and the line within its source."""

from __future__ import annotations

import re
import warnings
from typing import Any

from ...records import Note
from ..documents import UnreadableNoteError, decode_bytes
from .base import NoteText, ReadLimits, require

LABEL = "Jupyter notebooks"
_ATX = re.compile(r"^(#{1,6})\s+(\S.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def is_notebook(head: bytes) -> bool:
    start = head[:4096].lstrip()
    return start.startswith(b"{") and b'"cells"' in start and b'"nbformat"' in head


def _language(notebook: Any) -> str:
    meta = notebook.get("metadata") or {}
    info = meta.get("language_info") or meta.get("kernelspec") or {}
    name = info.get("name") or info.get("language") or ""
    return str(name) if re.fullmatch(r"[\w+-]{1,30}", str(name)) else ""


def _source(cell: Any) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def read_notebook(data: bytes, source: str, limits: ReadLimits) -> Note:
    """Read a notebook's cells (nbformat 4, or 3 converted to 4)."""
    require("nbformat", LABEL)
    import nbformat

    text, _ = decode_bytes(data)
    try:
        with warnings.catch_warnings():  # nbformat warns about missing cell ids and the like
            warnings.simplefilter("ignore")
            notebook = nbformat.reads(text, as_version=4)  # type: ignore[no-untyped-call]
        cells = list(notebook.get("cells") or [])
    except Exception as exc:
        name = type(exc).__name__
        kind = ("not valid JSON" if "JSON" in name or "json" in str(exc)[:200].lower()
                else "not in the notebook format" if name == "ValidationError" else name)
        raise UnreadableNoteError(f"malformed notebook ({kind})") from None
    language = _language(notebook)
    out = NoteText("cell", limits.max_chars)
    for number, cell in enumerate(cells, 1):
        kind = cell.get("cell_type")
        body = _source(cell).replace("\r\n", "\n").rstrip()
        if kind not in ("markdown", "code") or not body.strip():
            continue
        out.separate()
        if kind == "code":
            out.add(f"```{language}", 0)
            out.add(body, number)
            out.add("```", 0)
            continue
        fenced = False
        for line in body.split("\n"):
            heading = None if fenced else _ATX.match(line)
            if _FENCE.match(line):
                fenced = not fenced
            out.add(line, number, heading_level=len(heading.group(1)) if heading else 0)
    note = out.note(source, reader="notebook", markdown=True)
    return _clean_headings(note)


def _clean_headings(note: Note) -> Note:
    """Heading texts without their `#` marks (the note's line keeps them)."""
    from dataclasses import replace

    headings = tuple(replace(h, text=_ATX.sub(r"\2", h.text)) for h in note.headings or ())
    return replace(note, headings=headings)
