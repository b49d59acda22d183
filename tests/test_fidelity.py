"""Issue 22, fidelity: every passage is exactly a span of the file, text repair touches only
mojibake, the glossary learns only adjacent and complete definitions, dot folders are notes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.index.glossary import mine_glossary
from semsearch.indexing.build import read_files
from semsearch.reading.chunking import approximate_tokens, chunk_note
from semsearch.reading.documents import parse_note
from semsearch.reading.files import iter_note_paths, read_notes
from semsearch.records import Chunk, Note, SkippedFile
from semsearch.settings import bundled_notes_dir

TIL_DEV = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "til-dev" / "corpus"


def _note(text: str, source: str = "n.md") -> Note:
    return Note(source=source, text=text, format="markdown", body_start_line=1)


def assert_spans_of_the_file(note: Note, chunks: list[Chunk], max_tokens: int,
                             count: Callable[[str], int] = approximate_tokens) -> None:
    """Each chunk's text is the note's whole lines start_line..end_line, or a piece of one line; each
    within `max_tokens` but for the one exception the chunker allows: a single word over the budget,
    kept whole (never cut mid-word)."""
    lines = note.lines
    for c in chunks:
        assert 1 <= c.start_line <= c.end_line <= len(lines)
        whole = "\n".join(lines[c.start_line - 1 : c.end_line])
        piece = c.start_line == c.end_line and c.text in lines[c.start_line - 1]
        assert c.text == whole or piece, (note.source, c.start_line, c.end_line, c.text[-200:])
        one_word = piece and len(c.text.split()) == 1
        assert count(c.embed_text) <= max_tokens or one_word, (note.source, c.start_line)


# --- long lines ------------------------------------------------------------------------------

def test_a_line_longer_than_the_budget_is_pieces_of_that_line_only() -> None:
    # the failing case: a note on SQLite subqueries whose long line made a staircase of fragments
    url = "https://www.sqlite.org/lang_select.html#" + "&".join(f"k{i}=v{i}" for i in range(80))
    long_line = ("Correlated subqueries run once per row of the outer query, see " + url + " and "
                 + " ".join(f"word{i}" for i in range(60)))
    text = "# SQLite subqueries\n\nIntro line about subqueries.\n" + long_line + "\nAfter the link.\n"
    note = _note(text)
    chunks = chunk_note(note, max_tokens=60, overlap_tokens=8)
    assert_spans_of_the_file(note, chunks, 60)
    pieces = [c for c in chunks if c.start_line == 4]
    assert len(pieces) > 1 and all(c.end_line == 4 and c.text in long_line for c in pieces)
    assert pieces[0].text.startswith("Correlated") and pieces[-1].text.endswith("word59")
    assert [c.text for c in chunks if c.start_line == 5] == ["After the link."]


def test_a_single_word_over_the_budget_is_one_whole_piece() -> None:
    blob = "x" * 50 + "".join(f",{i}" for i in range(200))  # no spaces at all
    note = _note(f"Before.\n{blob}\nAfter.\n")
    chunks = chunk_note(note, max_tokens=40, overlap_tokens=4)
    assert_spans_of_the_file(note, chunks, 40)
    assert [c.text for c in chunks if c.start_line == 2] == [blob]  # never cut mid-word


_word = st.text(alphabet="abcdefghij.,:/-é", min_size=1, max_size=30)
_line = st.one_of(
    st.lists(_word, min_size=1, max_size=30).map(" ".join),
    st.lists(_word, min_size=100, max_size=300).map(" ".join),
    st.lists(_word, min_size=1, max_size=5).map(lambda ws: "# " + " ".join(ws)),
    st.text(alphabet="ab:/.", min_size=200, max_size=900),
    st.just(""),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(_line, min_size=1, max_size=30), max_tokens=st.integers(20, 200),
       overlap=st.integers(0, 9))
def test_every_chunk_is_a_span_of_the_file(lines: list[str], max_tokens: int, overlap: int) -> None:
    text = "\n".join(lines)
    if not text.strip():
        return
    note = _note(text)
    assert_spans_of_the_file(note, chunk_note(note, max_tokens=max_tokens, overlap_tokens=overlap), max_tokens)


def _corpus_notes(root: Path) -> list[Note]:
    return [n for n in read_notes(root) if isinstance(n, Note)]


@pytest.mark.parametrize("max_tokens", [254, 60])
def test_bundled_notes_and_til_dev_chunks_are_spans_of_their_files(max_tokens: int) -> None:
    roots = [bundled_notes_dir()] + ([TIL_DEV] if TIL_DEV.is_dir() else [])
    for root in roots:
        for note in _corpus_notes(root):
            raw = (root / note.source).read_bytes()
            if not note.repaired:  # shown text is the file's own decoded text
                decoded = parse_note(raw, source=note.source, suffix=Path(note.source).suffix).text
                assert note.text == decoded
            count = HashingEmbedder().count_tokens
            chunks = chunk_note(note, max_tokens=max_tokens, overlap_tokens=min(32, max_tokens // 3),
                                count_tokens=count)
            assert_spans_of_the_file(note, chunks, max_tokens, count)


# --- text repair -------------------------------------------------------------------------------

ABOUT_MOJIBAKE = (
    "# Unicode and mojibake\n\n"
    'When UTF-8 "é" is read as Windows-1252 it shows as "Ã©"; "’" becomes "â€™".\n'
    "Ã© alone on a line is still an example.\n"
    "Digraphs: ǆ ǅ Ǆ ĳ; full-width punctuation: ，。！？：；; ligature: ﬁ.\n"
    "A decomposed n\u0303 (n + U+0303) is not the composed ñ.\n"
    "```\nprint('Ã©')\n```\n"
)


def test_a_note_about_unicode_and_mojibake_stays_byte_exact() -> None:
    data = ABOUT_MOJIBAKE.encode("utf-8")
    note = parse_note(data, source="unicode.md", suffix=".md")
    assert note.text.encode("utf-8") == data and not note.repaired
    for chunk in chunk_note(note):
        assert chunk.text.encode("utf-8") in data


def test_correct_text_is_never_normalized() -> None:
    text = "Digraphs ǆ ǈ, width ＊bold＊ ￥123, 您好，我叫, decomposed n\u0303, \x1b[1mbold\x1b[0m\n"
    assert parse_note(text.encode(), source="a.md", suffix=".md").text == text


def test_real_mojibake_is_repaired_line_by_line() -> None:
    text = "Ellaâ€™s kitchen: Â£50 for you\nThe word café is fine.\nThink ðŸ¤” twice\n"
    note = parse_note(text.encode(), source="a.md", suffix=".md")
    assert note.text == "Ella’s kitchen: £50 for you\nThe word café is fine.\nThink 🤔 twice\n"
    assert note.repaired
    # an example next to what it stands for, and code, are kept
    kept = '"é" shows as "Ã©"\nin code `Ã©` here\n'
    assert parse_note(kept.encode(), source="b.md", suffix=".md").text == kept


# --- glossary ----------------------------------------------------------------------------------

def test_the_glossary_does_not_learn_definitions_that_are_not_adjacent_and_complete() -> None:
    glossary = mine_glossary([
        "A URI: urn:ietf:params:oauth names things; URI (urn ietf) is not how one writes it.",
        "urn ietf URI",  # no separator
        "PiP (picture in picture) on macOS. pip install requests; pip freeze; run pip again.",
        "SELECT * FROM TABLENAME EXCEPT SELECT * FROM other; TABLENAME = table name except",
        "Use a PAT - proxy anything, a proxy for all.",
        "Deep belief networks (DBN) stack RBMs. Restricted Boltzmann machines (RBM) are old.",
        "ELU: Exponential Linear Unit, seems to work better than ReLU.",
        "CTE - common table expression; a CTE is a named subquery.",
    ])
    definitions = glossary.definitions
    assert "uri" not in definitions and "tablename" not in definitions and "pat" not in definitions
    assert definitions.get("pip") in (None, "picture in picture")
    assert "pip" not in glossary.capitalized  # `pip` in a query is the tool, never spelled out
    assert definitions["dbn"] == "deep belief networks" and definitions["rbm"] == "restricted boltzmann machines"
    assert definitions["elu"] == "exponential linear unit" and definitions["cte"] == "common table expression"


def test_the_mined_glossaries_of_the_bundled_notes_and_til_dev_hold_reviewed_definitions() -> None:
    notes = mine_glossary(c.text for n in _corpus_notes(bundled_notes_dir()) for c in chunk_note(n)).definitions
    assert notes["lstm"] == "long short term memory" and notes["dbn"] == "deep belief networks"
    assert notes["cnn"] == "convolutional neural networks" and "cbow" not in notes  # was `continuous bow`
    if TIL_DEV.is_dir():
        til = mine_glossary(c.text for n in _corpus_notes(TIL_DEV) for c in chunk_note(n)).definitions
        assert til["cte"] == "common table expression" and til["bom"] == "byte order mark"
        assert til["ssms"] == "sql server management studio" and til["mcp"] == "model context protocol"
        assert "pat" not in til and "po" not in til  # were `proxy anything`, and `provocation`


# --- dot folders ------------------------------------------------------------------------------

def test_dot_folders_are_notes_tool_folders_are_not_walked_and_hidden_files_are_said(tmp_path: Path) -> None:
    for relative in (".net/linq.md", ".net_core_MVC/routing.md", ".git/notes.md", ".obsidian/x.md",
                     "node_modules/pkg/readme.md", "topic/.draft.md", "topic/real.md",
                     "index/CURRENT", "index/builds/b/chunks.md"):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# A note\n\nsome text\n")
    skipped: list[SkippedFile] = []
    found = [p.relative_to(tmp_path).as_posix() for p in iter_note_paths(tmp_path, skipped=skipped)]
    assert found == [".net/linq.md", ".net_core_MVC/routing.md", "topic/real.md"]
    # tool folders and the index hold no notes: not walked, and not listed (they would only be noise)
    assert {s.source: s.reason for s in skipped} == {"topic/.draft.md": "hidden file (its name starts with a dot)"}
    results = {r.source: r for r in read_files(tmp_path, HashingEmbedder(), include=("*.md",),
                                                 max_file_bytes=10**6, overlap_tokens=8)}
    assert results[".net/linq.md"].chunks and results["topic/.draft.md"].reason and ".git/" not in results


def test_an_index_folder_passed_by_the_caller_is_not_walked(tmp_path: Path) -> None:
    (tmp_path / "idx").mkdir()
    (tmp_path / "idx" / "stray.md").write_text("x\n")
    (tmp_path / "a.md").write_text("a\n")
    skipped: list[SkippedFile] = []
    assert list(iter_note_paths(tmp_path, exclude=[tmp_path / "idx"], skipped=skipped)) == [tmp_path / "a.md"]
    assert skipped == []
