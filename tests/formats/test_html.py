"""HTML: the main content, headings as the heading path, scripts, styles and navigation dropped."""

from __future__ import annotations

from pathlib import Path

from semsearch.reading.files import read_note
from semsearch.records import Note

from .conftest import Build

PAGE = """<!DOCTYPE html>
<html><head><title>Sourdough notes</title><style>body { color: red }</style>
<script>var tracking = "SCRIPT-TEXT";</script></head>
<body>
<nav><a href="/">Home</a> NAV-TEXT</nav>
<main>
<h1>Sourdough</h1>
<p>Feed the <b>starter</b> twice a day
   with equal weights of flour and water.</p>
<h2>Baking</h2>
<ul><li>Preheat the oven to 250 degrees.</li><li>Bake covered for twenty minutes.</li></ul>
<pre>flour 500g
water 350g</pre>
</main>
<footer>FOOTER-TEXT</footer>
</body></html>
"""


def test_main_content_and_headings(folder: Path, build: Build) -> None:
    (folder / "bread.html").write_text(PAGE, encoding="utf-8")
    note = read_note(folder / "bread.html", folder)
    assert isinstance(note, Note), note
    for dropped in ("SCRIPT-TEXT", "NAV-TEXT", "FOOTER-TEXT", "color: red"):
        assert dropped not in note.text
    assert "Feed the starter twice a day with equal weights of flour and water." in note.text
    assert "flour 500g\nwater 350g" in note.text  # <pre> keeps its lines
    assert note.title == "Sourdough notes" and note.positions is None
    chunks = [c for c in build(folder).chunks if c.source == "bread.html"]
    oven = next(c for c in chunks if "Preheat the oven" in c.text)
    assert oven.heading_path == ("Sourdough notes", "Sourdough", "Baking")
    assert oven.location is None  # lines of the extracted text, no page or cell
    lines = note.text.split("\n")
    for chunk in chunks:
        assert chunk.text == "\n".join(lines[chunk.start_line - 1 : chunk.end_line])


def test_an_articles_own_header_is_kept(folder: Path) -> None:
    (folder / "post.html").write_text(
        "<html><body><header>SITE-BANNER</header><article><header><h1>Compost</h1></header>"
        "<p>Turn the heap weekly.</p><footer>Filed under garden</footer></article></body></html>")
    note = read_note(folder / "post.html", folder)
    assert isinstance(note, Note)
    assert "SITE-BANNER" not in note.text
    assert [h.text for h in note.headings or ()] == ["Compost"]
    assert "Turn the heap weekly." in note.text
