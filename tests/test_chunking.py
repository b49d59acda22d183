from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semsearch.reading.chunking import approximate_tokens, chunk_note, embedding_form, split_sections
from semsearch.reading.documents import parse_note
from semsearch.records import Chunk, Note
from semsearch.settings import bundled_notes_dir


def _note(text: str, fmt: str = "markdown", source: str = "n.md") -> Note:
    return Note(source=source, text=text, format=fmt, body_start_line=1)  # type: ignore[arg-type]


def _bundled(name: str) -> Note:
    path = bundled_notes_dir() / name
    return parse_note(path.read_bytes(), source=name, suffix=path.suffix)


def test_markdown_and_bold_line_headings_give_heading_paths() -> None:
    chunks = chunk_note(_bundled("deep-neural-nets.md"))
    paths = {c.heading for c in chunks}
    assert "Deep Neural Nets › DROPOUT LAYERS IN KERAS AND GENERAL" in paths
    assert "Deep Neural Nets › DROPOUT LAYERS IN KERAS AND GENERAL › OPEN QUESTIONs" in paths
    assert "Deep Neural Nets › GRADIENT DESCENT › Stochastic" in paths
    # a bold line of code is not a heading
    assert not any("keras.layers.Dense" in p for p in paths)


def test_front_matter_title_roots_the_path_and_line_numbers_are_the_files() -> None:
    note = _bundled("machine-learning-reference-list.md")
    chunks = chunk_note(note)
    assert all(c.heading_path[0] == "Machine Learning Reference List" for c in chunks)
    assert chunks[0].start_line == note.body_start_line + 1  # the first non-blank body line
    lines = note.lines
    for c in chunks:
        assert c.text.split("\n")[0] in lines[c.start_line - 1]


def test_plain_text_headings() -> None:
    chunks = chunk_note(_bundled("machine-learning-reference-list-rendered.txt"))
    assert any(c.heading_path[-1] == "Convolutional Neural Networks" for c in chunks)


def test_embedded_text_has_heading_prefix_and_reduced_urls_but_shown_text_keeps_links() -> None:
    text = "# Guide\n\nSee [the paper](https://arxiv.org/abs/1512.05287) and <https://www.example.com/deep-learning-notes.html>.\n"
    (chunk,) = chunk_note(_note(text))
    assert "https://arxiv.org/abs/1512.05287" in chunk.text
    assert chunk.embed_text.startswith("Guide\n")
    assert "https://" not in chunk.embed_text
    assert "the paper" in chunk.embed_text and "example.com deep learning notes" in chunk.embed_text


def test_embedding_form_drops_markup() -> None:
    assert embedding_form("## **BATCH \\(norm\\)**\n* item _x_") == "BATCH (norm)\nitem x"


def test_code_fences_hide_headings() -> None:
    text = "# Top\n\n```\n# not a heading\n```\ntext\n"
    assert [s.path for s in split_sections(_note(text))] == [("Top",)]


def test_ids_are_stable_and_unique_on_the_bundled_notes() -> None:
    for path in sorted(bundled_notes_dir().iterdir()):
        note = parse_note(path.read_bytes(), source=path.name, suffix=path.suffix)
        first, second = chunk_note(note), chunk_note(note)
        assert [c.id for c in first] == [c.id for c in second]
        assert len({c.id for c in first}) == len(first)


# --- properties -------------------------------------------------------------------------------

_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzé", min_size=1, max_size=12)
_line = st.one_of(
    st.lists(_word, min_size=1, max_size=40).map(" ".join),
    st.lists(_word, min_size=1, max_size=5).map(lambda ws: "# " + " ".join(ws)),
    st.lists(_word, min_size=1, max_size=4).map(lambda ws: "**" + " ".join(ws) + "**"),
    st.lists(_word, min_size=1, max_size=8).map(lambda ws: "* " + " ".join(ws)),
    st.lists(_word, min_size=200, max_size=400).map(" ".join),  # longer than any chunk
    st.just(""),
)
_doc = st.lists(_line, min_size=1, max_size=60).map("\n".join)


def _check_invariants(note: Note, chunks: list[Chunk], max_tokens: int) -> None:
    lines = note.lines
    for c in chunks:
        assert 1 <= c.start_line <= c.end_line <= len(lines)
        assert approximate_tokens(c.embed_text) <= max_tokens, "chunk over budget"
        original = " ".join(lines[c.start_line - 1 : c.end_line]).split()
        shown = c.text.split()
        assert set(shown) <= set(original), "a word was cut or invented"
    # coverage: every word of every non-blank line is in a chunk that spans that line
    for number, line in enumerate(lines, 1):
        words = line.split()
        if not words:
            continue
        covering = [c for c in chunks if c.start_line <= number <= c.end_line]
        assert covering, f"line {number} is in no chunk"
        covered = set().union(*(set(c.text.split()) for c in covering))
        assert set(words) <= covered


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_doc, max_tokens=st.integers(min_value=40, max_value=300), fmt=st.sampled_from(["markdown", "text"]))
def test_chunks_cover_the_text_stay_bounded_and_are_stable(doc: str, max_tokens: int, fmt: str) -> None:
    if not doc.strip():
        return
    note = _note(doc, fmt)
    chunks = chunk_note(note, max_tokens=max_tokens, overlap_tokens=8)
    _check_invariants(note, chunks, max_tokens)
    assert [c.id for c in chunk_note(note, max_tokens=max_tokens, overlap_tokens=8)] == [c.id for c in chunks]


def test_overlap_repeats_context_between_neighbours() -> None:
    text = "\n".join(f"sentence number {i} about topic {i}" for i in range(60))
    chunks = chunk_note(_note(text, "text"), max_tokens=60, overlap_tokens=12)
    assert len(chunks) > 2
    assert any(a.end_line >= b.start_line for a, b in zip(chunks, chunks[1:], strict=False))


def test_no_chunk_is_only_markup() -> None:
    for c in chunk_note(_bundled("deep-neural-nets.md")):
        assert re.search(r"\w", c.embed_text)


SHORT_NOTE = """# Remove a file from git but keep it

To stop tracking a file:

## Solution

git rm --cached path/to/file

## Resources

- [Stack Overflow: remove a file from the repository](https://stackoverflow.com/q/1143796)
"""


def test_a_note_that_fits_in_one_passage_is_one_passage() -> None:
    note = _note(SHORT_NOTE)
    (chunk,) = chunk_note(note)
    assert chunk.heading_path == ("Remove a file from git but keep it",)
    assert (chunk.start_line, chunk.end_line) == (1, 11)
    assert chunk.text == "\n".join(note.lines[0:11])
    assert "git rm --cached" in chunk.embed_text and "stop tracking" in chunk.embed_text


def test_a_long_notes_closing_links_join_the_section_before_it() -> None:
    body = " ".join(f"word{i}" for i in range(60))
    text = (f"# Topic\n\n## Setup\n\n{body}\n\n## Answer\n\nThe answer is to restart the daemon.\n"
            "It reloads the configuration.\n\n## Resources\n\n- [Daemon docs](https://example.com/daemon)\n"
            "- https://example.com/reload\n")
    chunks = chunk_note(_note(text), max_tokens=80, overlap_tokens=0)
    assert not any(c.heading_path[-1] == "Resources" for c in chunks)
    (answer,) = [c for c in chunks if "restart the daemon" in c.text]
    assert answer.heading_path == ("Topic", "Answer") and "https://example.com/reload" in answer.text
    lines = text.split("\n")
    assert answer.text == "\n".join(lines[answer.start_line - 1:answer.end_line])


def test_a_reference_list_keeps_its_sections() -> None:
    links = "\n".join(f"- [Paper {i}](https://example.com/paper-{i}) by Someone" for i in range(12))
    text = f"# Reading\n\n## Vision\n\n{links}\n\n## Language\n\n{links}\n"
    paths = {c.heading_path for c in chunk_note(_note(text), max_tokens=80, overlap_tokens=0)}
    assert ("Reading", "Vision") in paths and ("Reading", "Language") in paths
