"""Item 8: property-based fuzzing. The API from its own OpenAPI schema (schemathesis, in-process ASGI
with the lifespan run), and the readers and chunker from arbitrary bytes (hypothesis)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semsearch.reading.chunking import approximate_tokens, chunk_note, embedding_form
from semsearch.reading.documents import UnreadableNoteError, parse_note
from semsearch.reading.files import read_notes
from semsearch.records import Note, SkippedFile
from semsearch.settings import Settings
from services.api import create_app
from tests.api.conftest import NOTES_A, publish, write_notes

API_EXAMPLES = 60
ADMIN_KEY = "fuzz-admin-key"


@pytest.fixture
def api_schema(tmp_path: Path) -> Iterator[Any]:
    """The real app over a hashing-model build, started (lifespan run), as schemathesis sees it."""
    index_dir = tmp_path / "index"
    publish(write_notes(tmp_path / "notes", NOTES_A), index_dir)
    app = create_app(Settings(index_dir=index_dir, model="hashing", rate_limit=0, api_keys=["fuzz-read"],
                              admin_api_keys=[ADMIN_KEY]), reload_interval=0.0)
    with TestClient(app):
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        schema.config.update(headers={"X-API-Key": ADMIN_KEY})  # a real key, sent as configured auth
        yield schema


def fuzz_operation(operation: Any, cases: dict[str, int]) -> None:
    """API_EXAMPLES generated requests to one operation (schemathesis drives hypothesis;
    `call_and_validate` checks status codes, content types and response schemas)."""
    label = f"{operation.method.upper()} {operation.path}"

    @settings(max_examples=API_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=operation.as_strategy())
    def check(case: Any) -> None:
        response = case.call_and_validate()
        assert response.status_code < 500, response.text
        if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
            assert set(response.json()) == {"error"}  # the one error shape
        cases[label] = cases.get(label, 0) + 1

    check()


def test_the_api_never_answers_5xx_or_off_schema(api_schema: Any, figures: dict[str, Any]) -> None:
    cases: dict[str, int] = {}
    for result in api_schema.get_all_operations():
        fuzz_operation(result.ok(), cases)
    assert "POST /query" in cases
    figures.update(total=sum(cases.values()), **{k.replace(" ", "_"): v for k, v in sorted(cases.items())})


def check_invariants(note: Note, chunks: list[Any], max_tokens: int) -> None:
    """Lines in range, no word cut or invented, every word of every line covered, and each chunk
    within `max_tokens`, except the one place the chunker allows more: a single word (no spaces)
    longer than a chunk's budget is kept whole, never cut mid-word (the model then truncates it)."""
    lines = note.lines
    for c in chunks:
        assert 1 <= c.start_line <= c.end_line <= len(lines)
        assert set(c.text.split()) <= set(" ".join(lines[c.start_line - 1:c.end_line]).split())
        if approximate_tokens(c.embed_text) > max_tokens:
            longest = max(approximate_tokens(embedding_form(w)) for w in c.text.split(" ") if w)
            assert longest >= max_tokens * 2 // 3 - 1, ("chunk over budget", c)
    for number, line in enumerate(lines, 1):
        covering = [c for c in chunks if c.start_line <= number <= c.end_line]
        if line.split():
            assert covering, f"line {number} is in no chunk"
            assert set(line.split()) <= set().union(*(set(c.text.split()) for c in covering))


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=4096), suffix=st.sampled_from([".md", ".txt", ".markdown"]))
def test_any_bytes_become_a_note_or_a_refusal_and_chunks_keep_their_invariants(data: bytes, suffix: str) -> None:
    try:
        note = parse_note(data, source=f"fuzz{suffix}", suffix=suffix)
    except UnreadableNoteError as exc:
        assert str(exc)  # refused with a reason
        return
    assert isinstance(note, Note)
    if note.text.strip():
        check_invariants(note, chunk_note(note, max_tokens=64, overlap_tokens=8), 64)


_texty = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=3000)


@settings(max_examples=200, deadline=None)
@given(text=_texty, max_tokens=st.integers(min_value=16, max_value=300), overlap=st.integers(0, 32))
def test_chunker_invariants_hold_on_any_markdown_text(text: str, max_tokens: int, overlap: int) -> None:
    try:
        note = parse_note(text.encode(), source="fuzz.md", suffix=".md")
    except UnreadableNoteError:
        return
    chunks = chunk_note(note, max_tokens=max_tokens, overlap_tokens=min(overlap, max_tokens // 4))
    check_invariants(note, chunks, max_tokens)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.dictionaries(st.from_regex(r"[a-z.]{1,8}(/[a-z.]{1,8})?\.(md|txt)", fullmatch=True),
                             st.binary(max_size=512), max_size=6))
def test_the_folder_reader_yields_each_file_once_as_a_note_or_a_reason(tmp_path: Path, files: dict[str, bytes]) -> None:
    root = tmp_path / f"r{abs(hash(tuple(files)))}"
    written: set[str] = set()
    for name, data in files.items():
        path = root / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError:  # "a/b.md" after "a" became a file, "." and ".." segments, and so on
            continue
        written.add(path.relative_to(root).as_posix())
    root.mkdir(exist_ok=True)
    items = list(read_notes(root))
    sources = [item.source for item in items]
    assert len(sources) == len(set(sources))
    for item in items:
        assert item.source in written
        assert isinstance(item, Note) or (isinstance(item, SkippedFile) and item.reason)
