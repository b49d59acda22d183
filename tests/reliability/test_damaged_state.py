"""Round two of hostile input and damaged state (issue 24), the classes the core owns: line
separators in line-oriented files, damage the checksums cannot cover (what `CURRENT` and the build
files are), work bounded per file, unreadable folders and vanishing files, text that is not text."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.errors import IndexCorruptError, QueryError
from semsearch.evaluation.queries import load_queries
from semsearch.index.chunk_table import CHUNKS_FILE
from semsearch.index.format import CURRENT, published_name, read_manifest
from semsearch.index.loader import load_current
from semsearch.index.segments import file_in_build
from semsearch.indexing.build import build_index
from semsearch.live import LiveIndex
from semsearch.reading import chunking
from semsearch.reading.files import read_note
from semsearch.records import Note
from semsearch.search import Searcher
from services.cli import ask, main

SEPARATORS = ["\u2028", "\u2029", "\u0085", "\x1c", "\x1d", "\x1e", "\x0b", "\x0c"]


@pytest.fixture(autouse=True)
def _hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEMSEARCH_MODEL", "hashing")
    monkeypatch.setenv("SEMSEARCH_ABSTAIN_THRESHOLD", "0")


@pytest.mark.parametrize("separator", SEPARATORS)
def test_line_separators_in_notes_and_names_never_stop_a_build(tmp_path: Path, separator: str) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.md").write_text(f"# T\n\nline {separator} more about tomatoes\n", encoding="utf-8")
    (notes / f"b{separator}c.md").write_text("# B\n\nWater the tomatoes early.\n", encoding="utf-8")
    for _ in range(2):  # the first build, then a sync that reads it back
        result = CliRunner().invoke(main, ["index", str(notes)])
        assert result.exit_code == 0, result.output
    chunks = load_current(tmp_path / "index").chunks
    assert {c.source for c in chunks} == {"a.md", f"b{separator}c.md"}
    assert any("tomatoes" in c.text for c in chunks if c.source == "a.md")
    assert CliRunner().invoke(ask, ["tomatoes"]).exit_code == 0


def test_query_sets_may_hold_line_separators(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "1", "query": "a\u2028b", "answers": []}\n', encoding="utf-8")
    assert [q.query for q in load_queries(path)] == ["a\u2028b"]


def _damage_current(index_dir: Path, kind: str, tmp_path: Path) -> None:
    pointer = index_dir / CURRENT
    good = pointer.read_text().strip()
    pointer.unlink()
    if kind == "invalid utf-8":
        pointer.write_bytes(b"\xff\xfe" + good.encode())
    elif kind == "directory":
        pointer.mkdir()
    elif kind == "fifo":
        os.mkfifo(pointer)
    elif kind == "symlink":
        secret = tmp_path / "secret.txt"
        secret.write_text("TOP-SECRET-TEXT")
        pointer.symlink_to(secret)
    elif kind == "dangling symlink":
        pointer.symlink_to(tmp_path / "nowhere")
    elif kind == "huge":
        pointer.write_bytes(b"x" * 10_000_000)


CURRENT_DAMAGE = ["invalid utf-8", "directory", "fifo", "symlink", "dangling symlink", "huge"]


def _two_builds(tiny_notes: Path, index_dir: Path) -> str:
    first = build_index(tiny_notes, index_dir, HashingEmbedder()).manifest.build_id
    (tiny_notes / "more.md").write_text("# More\n\nSourdough starter needs feeding.\n")
    build_index(tiny_notes, index_dir, HashingEmbedder())
    return first


@pytest.mark.parametrize("kind", CURRENT_DAMAGE)
def test_a_damaged_current_falls_back_and_never_hangs_or_echoes(tiny_notes: Path, tmp_path: Path, kind: str) -> None:
    index_dir = tmp_path / "index"
    _two_builds(tiny_notes, index_dir)
    newest = sorted(p.name for p in (index_dir / "builds").iterdir())[-1]
    _damage_current(index_dir, kind, tmp_path)
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.append(published_name(index_dir)), daemon=True)
    reader.start()
    reader.join(5)
    assert found == [""], "reading CURRENT hung or read something"
    live = LiveIndex(index_dir, HashingEmbedder(), reload_interval=0.0)
    live.refresh(force=True)
    assert live.searcher().index.build_id == newest  # every build is older than a CURRENT naming none
    result = CliRunner().invoke(ask, ["tomatoes"])
    assert result.exit_code == 0 and "TOP-SECRET" not in result.output and "Traceback" not in result.output
    rebuilt = CliRunner().invoke(main, ["index", str(tiny_notes)])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert published_name(index_dir) not in ("", newest)


@pytest.mark.parametrize("name", [CHUNKS_FILE, "manifest.json", "files.json"])
@pytest.mark.parametrize("kind", ["fifo", "symlink", "directory"])
def test_a_build_file_that_is_not_a_plain_file_is_corrupt(tiny_index: Path, tmp_path: Path, name: str,
                                                          kind: str) -> None:
    build_dir = tiny_index / "builds" / published_name(tiny_index)
    path = build_dir / file_in_build(read_manifest(build_dir), name)
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink":
        (tmp_path / "elsewhere").write_text("{}")
        path.symlink_to(tmp_path / "elsewhere")
    else:
        path.mkdir()
    outcome: list[BaseException | None] = []

    def load() -> None:
        try:
            load_current(tiny_index)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            outcome.append(exc)

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    loader.join(5)
    assert outcome and isinstance(outcome[0], IndexCorruptError), outcome


def test_hundreds_of_thousands_of_headings_are_refused_quickly(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "headings.md").write_text("".join(f"# h{i}\nx\n" for i in range(60_000)))
    (notes / "good.md").write_text("# Good\n\nWater tomatoes early.\n")
    report = build_index(notes, tmp_path / "index", HashingEmbedder())
    statuses = {f.source: (f.status, f.reason) for f in report.files}
    assert statuses["headings.md"][0] == "skipped" and "too many" in statuses["headings.md"][1]
    assert statuses["good.md"][0] == "indexed"


def test_a_data_uri_line_is_never_part_of_a_passage() -> None:
    blob = "A" * 300_000
    text = f"# Pic\n\nBefore the image.\n![x](data:image/png;base64,{blob})\nAfter the image.\n"
    note = Note("pic.md", text, "markdown", 1)
    chunks = chunking.chunk_note(note, max_tokens=254, overlap_tokens=8)
    assert chunks and all(blob not in c.text and len(c.text) < 1000 for c in chunks)
    assert {c.text.strip().splitlines()[-1] for c in chunks} >= {"Before the image.", "After the image."}
    lines = text.split("\n")
    for c in chunks:  # still exact spans of the file
        assert c.text == "\n".join(lines[c.start_line - 1:c.end_line])


def test_an_unreadable_folder_is_skipped_with_its_reason_and_keeps_its_notes(
        tiny_notes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tiny_notes / "private").mkdir()
    (tiny_notes / "private" / "plans.md").write_text("# Plans\n\nPlant garlic in October.\n")
    index_dir = tmp_path / "index"
    build_index(tiny_notes, index_dir, HashingEmbedder())
    real_scandir = os.scandir

    def scandir(path: object = ".") -> object:
        if str(path).endswith("private"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    report = build_index(tiny_notes, index_dir, HashingEmbedder())
    statuses = {f.source: f for f in report.files}
    assert statuses["private/"].status == "skipped" and "Permission denied" in statuses["private/"].reason
    assert statuses["private/plans.md"].status == "skipped" and "kept from the previous build" in (
        statuses["private/plans.md"].reason)
    assert report.removed == []
    hits = Searcher.open(index_dir, HashingEmbedder()).search("plant garlic october", top_k=1).hits
    assert hits[0].chunk.source == "private/plans.md"


def test_a_file_deleted_during_the_walk_is_not_a_broken_symlink(tmp_path: Path) -> None:
    root = tmp_path / "notes"
    root.mkdir()
    skipped = read_note(root / "gone.md", root)
    assert getattr(skipped, "reason", "") == "no longer exists (deleted or moved while indexing)"
    (root / "link.md").symlink_to(root / "nowhere.md")
    assert getattr(read_note(root / "link.md", root), "reason", "") == "broken symlink"


@pytest.mark.parametrize("query", ["drop\ud800out", "drop\udcffout", "\udfff"])
def test_a_lone_surrogate_in_a_query_is_one_sentence(tiny_index: Path, query: str) -> None:
    with pytest.raises(QueryError, match="not valid text"):
        Searcher.open(tiny_index, HashingEmbedder()).search(query)


@pytest.mark.parametrize("query", ["x", "a", "the", "of the"])
def test_queries_without_terms_are_not_answered_confidently(tiny_index: Path, query: str) -> None:
    result = Searcher.open(tiny_index, HashingEmbedder()).search(query, top_k=3)
    assert result.abstained and not any(h.confident for h in result.hits)
