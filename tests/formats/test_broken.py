"""Broken files of every format are skipped with one clear reason, and the build goes on."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfWriter

from semsearch.reading.files import read_note
from semsearch.reading.formats import ReadLimits
from semsearch.records import Note, SkippedFile

from .conftest import Build
from .documents import write_docx, write_notebook, write_pdf


def _zero_page_pdf(path: Path) -> None:
    buffer = io.BytesIO()
    PdfWriter().write(buffer)
    path.write_bytes(buffer.getvalue())


def _scanned_pdf(path: Path) -> None:
    """Two pages that are only an image each, as a scanner makes them (no text layer)."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    scan = Image.new("L", (400, 300), 255)
    ImageDraw.Draw(scan).text((20, 20), "words in pixels, not text", fill=0)
    pdf = FPDF()
    for _ in range(2):
        pdf.add_page()
        pdf.image(scan, x=10, y=10, w=180)
    pdf.output(str(path))


def _truncated(path: Path, write: object) -> None:
    full = path.with_suffix(".full" + path.suffix)
    write(full)  # type: ignore[operator]
    data = full.read_bytes()
    full.unlink()
    path.write_bytes(data[: len(data) // 3])


def _zip_bomb(path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (12 * 2**20))  # 12 MB that compress about 1000 times
    path.write_bytes(buffer.getvalue())


def _plain_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "just a zip")


BROKEN = {
    "truncated.pdf": (lambda p: _truncated(p, lambda f: write_pdf(f, [["Some words."] * 40] * 6)), "damaged PDF"),
    "encrypted.pdf": (lambda p: write_pdf(p, [["Secret words."]], encrypt="pw"), "encrypted PDF"),
    "empty-pages.pdf": (_zero_page_pdf, "PDF with no pages"),
    "scan.pdf": (_scanned_pdf, "no text layer"),
    "binary.pdf": (lambda p: p.write_bytes(bytes(range(256)) * 40), "not a PDF file"),
    "bomb.docx": (_zip_bomb, "zip bomb"),
    "archive.docx": (_plain_zip, "not a Word file"),
    "noise.docx": (lambda p: p.write_bytes(b"\x01\x02garbage" * 100), "not a Word file"),
    "truncated.docx": (lambda p: _truncated(p, lambda f: write_docx(f, [("Normal", "Words.")] * 50)),
                       "not a Word file"),
    "nested.html": (lambda p: p.write_text("<html><body>" + "<div>" * 3000 + "deep" + "</div>" * 3000),
                    "nested too deeply"),
    "binary.html": (lambda p: p.write_bytes(b"\0\1\2\3" * 100), "binary file"),
    "malformed.ipynb": (lambda p: p.write_text('{"cells": [ {"cell_type": "markdown", "source": "x"'),
                        "malformed notebook"),
    "not-a-notebook.ipynb": (lambda p: p.write_text(json.dumps({"hello": "world"})),
                             "malformed notebook (not in the notebook format)"),
}


def test_broken_files_are_skipped_with_a_reason_and_the_build_goes_on(folder: Path, build: Build) -> None:
    for name, (write, _) in BROKEN.items():
        write(folder / name)
    write_notebook(folder / "good.ipynb", [("markdown", "# Fine\n\nThis notebook is fine.")])
    index = build(folder)
    files = index.files.by_source()
    for name, (_, reason) in BROKEN.items():
        assert files[name].status == "skipped", (name, files[name])
        assert reason in files[name].reason, (name, files[name].reason)
    assert files["garden.md"].status == "indexed" and files["good.ipynb"].status == "indexed"
    assert files["good.ipynb"].reader == "notebook" and files["scan.pdf"].reader == "pdf"
    assert {c.source for c in index.chunks} == {"garden.md", "good.ipynb"}


def test_a_file_over_its_time_budget_is_stopped_and_the_next_one_is_read(folder: Path) -> None:
    write_pdf(folder / "slow.pdf", [["Many words on a page."] * 40] * 30)
    write_pdf(folder / "next.pdf", [["The next file."]])
    slow = read_note(folder / "slow.pdf", folder, limits=ReadLimits(seconds=0.01))
    assert isinstance(slow, SkippedFile) and "took too long to read" in slow.reason
    after = read_note(folder / "next.pdf", folder)
    assert isinstance(after, Note) and "The next file." in after.text


@pytest.mark.parametrize(("limits", "reason"), [(ReadLimits(max_pages=2), "too many pages (3; the limit is 2)"),
                                                (ReadLimits(max_chars=50), "too much text"),
                                                (ReadLimits(max_bytes=100), "too large")])
def test_limits_per_file(folder: Path, limits: ReadLimits, reason: str) -> None:
    write_pdf(folder / "long.pdf", [["A line of words."] * 5] * 3)
    skipped = read_note(folder / "long.pdf", folder, limits=limits)
    assert isinstance(skipped, SkippedFile) and reason in skipped.reason


def test_the_settings_set_the_limits(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from semsearch.embedders.hashing import HashingEmbedder
    from semsearch.settings import Settings
    from semsearch.wiring import build_notes

    write_pdf(folder / "two.pdf", [["First page."], ["Second page."]])
    settings = Settings(index_dir=tmp_path / "index", notes_dir=folder, max_pdf_pages=1, model="hashing")
    report = build_notes(settings, embedder=HashingEmbedder())
    assert {f.source: f.reason for f in report.files}["two.pdf"] == "too many pages (2; the limit is 1)"
