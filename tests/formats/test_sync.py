"""Incremental sync: unchanged PDFs, Word files and notebooks embed nothing on the next build."""

from __future__ import annotations

from pathlib import Path

from semsearch.indexing.build import build_index

from ..test_sync import CountingEmbedder
from .documents import write_docx, write_notebook, write_pdf


def test_unchanged_documents_embed_nothing_on_resync(folder: Path, tmp_path: Path) -> None:
    write_pdf(folder / "paper.pdf", [["Axolotls regrow limbs."], ["Frogs do not."]], headings=["One", "Two"])
    write_docx(folder / "guide.docx", [("Heading 1", "Owls"), ("Normal", "Barn owls hunt by sound.")])
    write_notebook(folder / "analysis.ipynb", [("markdown", "# Survey"), ("code", "print(1)")])
    (folder / "lab.org").write_text("* Network\nDHCP hands out addresses.\n", encoding="utf-8")
    first = CountingEmbedder()
    report = build_index(folder, tmp_path / "index", first, store_sentences=False)
    assert {f.source: f.status for f in report.files} == {
        "garden.md": "indexed", "paper.pdf": "indexed", "guide.docx": "indexed", "analysis.ipynb": "indexed",
        "lab.org": "indexed"}
    assert first.texts
    again = CountingEmbedder()
    report = build_index(folder, tmp_path / "index", again, store_sentences=False)
    assert again.texts == []
    assert {f.status for f in report.files} == {"unchanged"}
    assert {f.source: f.reader for f in report.files} == {
        "garden.md": "markdown", "paper.pdf": "pdf", "guide.docx": "docx", "analysis.ipynb": "notebook",
        "lab.org": "org"}
    # a changed PDF embeds only its own new passages
    write_pdf(folder / "paper.pdf", [["Axolotls regrow limbs."], ["Frogs do not, but newts do."]],
              headings=["One", "Two"])
    third = CountingEmbedder()
    report = build_index(folder, tmp_path / "index", third, store_sentences=False)
    assert {f.source for f in report.files if f.status == "indexed"} == {"paper.pdf"}
    assert third.texts and all("newts" in text for text in third.texts)
