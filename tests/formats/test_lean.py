"""Without the `formats` extra: a file whose reader's library is missing is skipped with the extra named,
and markdown notes are indexed as ever."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .conftest import Build
from .documents import write_notebook, write_pdf

LIBRARIES = ["pypdf", "nbformat", "docx", "selectolax", "selectolax.lexbor", "docutils", "docutils.core", "orgparse"]


def test_a_missing_library_skips_its_files_naming_the_extra(folder: Path, build: Build,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    write_pdf(folder / "paper.pdf", [["Words on a page."]])
    write_notebook(folder / "analysis.ipynb", [("markdown", "Some notes.")])
    (folder / "lab.org").write_text("* Heading\nText.\n", encoding="utf-8")
    (folder / "page.html").write_text("<html><body><p>Hello.</p></body></html>", encoding="utf-8")
    for name in LIBRARIES:
        monkeypatch.setitem(sys.modules, name, None)  # `import name` raises ImportError
    files = build(folder).files.by_source()
    assert files["garden.md"].status == "indexed"
    assert files["paper.pdf"].reason == "install semsearch[formats] to index PDF files (pypdf is missing)"
    assert files["analysis.ipynb"].reason.startswith("install semsearch[formats] to index Jupyter notebooks")
    assert files["lab.org"].reason.startswith("install semsearch[formats] to index org-mode files")
    assert files["page.html"].reason.startswith("install semsearch[formats] to index HTML files")


def test_the_lean_path_imports_no_reader_library() -> None:
    """Reading a markdown note loads none of the formats' libraries (they are imported on use)."""
    import subprocess

    code = ("import sys; from pathlib import Path; import tempfile\n"
            "from semsearch.reading.files import read_note\n"
            "d = Path(tempfile.mkdtemp()); (d / 'a.md').write_text('# A\\n\\nText.\\n')\n"
            "read_note(d / 'a.md', d)\n"
            "print(sorted(m for m in ('pypdf', 'docx', 'nbformat', 'selectolax', 'docutils', 'orgparse') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
