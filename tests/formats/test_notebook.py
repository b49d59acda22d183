"""Notebooks: markdown and code cells in order, outputs left out, citations by cell and line."""

from __future__ import annotations

from pathlib import Path

from semsearch.reading.files import read_note
from semsearch.records import Note

from .conftest import Search
from .documents import write_notebook

CELLS = [
    ("markdown", "# Analysis\n\nWe load the survey data."),
    ("code", "# load the data\nimport pandas as pd\nframe = pd.read_csv('survey.csv')"),
    ("raw", "raw cells are not text of the notebook"),
    ("markdown", "## Results\n\nMedian commute time fell after the bridge opened."),
    ("code", "frame.groupby('year').commute_minutes.median()"),
]


def _read(path: Path) -> Note:
    note = read_note(path, path.parent)
    assert isinstance(note, Note), note
    return note


def test_cells_in_order_with_fenced_code_and_no_outputs(folder: Path) -> None:
    note = _read(write_notebook(folder / "analysis.ipynb", CELLS))
    assert "```python\n# load the data\nimport pandas as pd" in note.text
    assert "OUTPUT-NOT-INDEXED" not in note.text and "raw cells" not in note.text
    # a comment in code is no heading: only the markdown cells' headings are
    assert [(h.level, h.text) for h in note.headings or ()] == [(1, "Analysis"), (2, "Results")]


def test_a_hit_cites_the_cell_and_line(folder: Path, search: Search) -> None:
    write_notebook(folder / "analysis.ipynb", CELLS)
    hits = search(folder, "median commute time bridge")
    hit = next(h for h in hits if h.chunk.source == "analysis.ipynb")
    assert "Median commute time fell" in hit.chunk.text
    location = hit.chunk.location
    assert location is not None and location.unit == "cell" and location.first == 4
    assert hit.chunk.heading_path == ("Analysis", "Results")
    note = _read(folder / "analysis.ipynb")
    lines = note.text.split("\n")
    assert hit.chunk.text == "\n".join(lines[hit.chunk.start_line - 1 : hit.chunk.end_line])
    # the cell's own line numbers: "Median ..." is line 3 of cell 4
    offset = hit.chunk.text.split("\n").index("Median commute time fell after the bridge opened.")
    assert location.first_line + offset == 3
