"""Real files of each format, written with the libraries of the field (fpdf2, python-docx, nbformat)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import nbformat
from docx import Document
from fpdf import FPDF


def write_pdf(path: Path, pages: Sequence[Sequence[str]], *, headings: Sequence[str | None] = (),
              outline: bool = True, encrypt: str | None = None) -> Path:
    """A PDF with one list of body lines per page; `headings[i]` (if any) opens page i + 1 in a
    larger font, as an outline entry when `outline`."""
    pdf = FPDF()
    for index, lines in enumerate(pages):
        pdf.add_page()
        heading = headings[index] if index < len(headings) else None
        if heading:
            pdf.set_font("helvetica", size=20)
            if outline:
                pdf.start_section(heading)
            pdf.cell(text=heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", size=11)
        for line in lines:
            pdf.cell(text=line, new_x="LMARGIN", new_y="NEXT")
    if encrypt:
        pdf.set_encryption(owner_password="owner", user_password=encrypt)
    pdf.output(str(path))
    return path


def write_docx(path: Path, blocks: Sequence[tuple[str, str]], *, table: Sequence[Sequence[str]] = ()) -> Path:
    """A .docx of (style, text) paragraphs (`Title`, `Heading 1`, `Normal`...), then `table` if given."""
    document = Document()
    for style, text in blocks:
        document.add_paragraph(text, style=style)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    document.save(str(path))
    return path


def write_notebook(path: Path, cells: Sequence[tuple[str, str]]) -> Path:
    """An .ipynb of (kind, source) cells, kind `markdown`, `code` or `raw`, with a text output on code."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["language_info"] = {"name": "python"}
    for kind, source in cells:
        if kind == "markdown":
            notebook.cells.append(nbformat.v4.new_markdown_cell(source))
        elif kind == "code":
            cell = nbformat.v4.new_code_cell(source)
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="OUTPUT-NOT-INDEXED\n")]
            notebook.cells.append(cell)
        else:
            notebook.cells.append(nbformat.v4.new_raw_cell(source))
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    return path
