"""A sync costs what changed: files whose stat is the same as when they were read are not read
again, a folder with no change publishes nothing, and whatever the edits, a sync's index is the
one a full rebuild of the same folder gives (random edit sequences)."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

import semsearch.indexing.build as build_module
from semsearch.embedders.hashing import HashingEmbedder
from semsearch.index.format import build_dirs
from semsearch.index.loader import load_current
from semsearch.indexing.build import build_index
from semsearch.indexing.unchanged import RACY_SECONDS
from semsearch.search import Searcher

WORDS = ("rotate keys vault backups nightly dropout keras tomatoes morning water docker compose volumes "
         "sqlite index vacuum git rebase branch ssh agent forward nginx proxy cache").split()
QUERIES = ("rotate the vault keys", "docker volumes", "git rebase a branch", "water tomatoes", "sqlite vacuum")


def write(path: Path, text: str, *, age: float = 600.0) -> None:
    """Write `text`, dated `age` seconds ago (out of the racy window, as a file saved earlier is)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    when = time.time() - age
    os.utime(path, (when, when))


def note(rng: random.Random) -> str:
    sections = [f"## {rng.choice(WORDS).title()}\n\n" + " ".join(rng.choices(WORDS, k=rng.randint(5, 40))) + ".\n"
                for _ in range(rng.randint(1, 3))]
    return f"# {rng.choice(WORDS).title()}\n\n" + "\n".join(sections)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the build reads (their sources), in order."""
    seen: list[str] = []
    real = build_module.read_note

    def counting(path: Path, root: Path, **options: object) -> object:
        seen.append(path.relative_to(root).as_posix())
        return real(path, root, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(build_module, "read_note", counting)
    return seen


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    rng = random.Random(7)
    root = tmp_path / "notes"
    for i in range(6):
        write(root / f"topic{i % 2}" / f"n{i}.md", note(rng))
    return root


def test_an_unchanged_folder_publishes_nothing_and_reads_nothing(folder: Path, tmp_path: Path,
                                                                 reads: list[str]) -> None:
    first = build_index(folder, tmp_path / "index", HashingEmbedder())
    assert len(reads) == 6 and not first.up_to_date
    reads.clear()
    second = build_index(folder, tmp_path / "index", HashingEmbedder())
    assert second.up_to_date and reads == [] and second.manifest.build_id == first.manifest.build_id
    assert len(build_dirs(tmp_path / "index")) == 1  # no new build written
    assert {f.status for f in second.files} == {"unchanged"} and second.embedded == 0


def test_an_edit_reads_only_that_file_and_a_touch_of_the_options_reads_all(folder: Path, tmp_path: Path,
                                                                          reads: list[str]) -> None:
    index_dir = tmp_path / "index"
    build_index(folder, index_dir, HashingEmbedder())
    target = folder / "topic1" / "n3.md"
    write(target, target.read_text(encoding="utf-8") + "\nA new line about nginx proxies.\n", age=300)
    reads.clear()
    report = build_index(folder, index_dir, HashingEmbedder())
    assert reads == ["topic1/n3.md"] and not report.up_to_date
    assert {f.source: f.status for f in report.files}["topic1/n3.md"] == "indexed"
    reads.clear()
    build_index(folder, index_dir, HashingEmbedder(), overlap_tokens=8)  # other options: every file is read
    assert len(reads) == 6


def test_a_file_changed_under_the_same_size_and_mtime_is_read_again(folder: Path, tmp_path: Path,
                                                                    reads: list[str]) -> None:
    index_dir = tmp_path / "index"
    build_index(folder, index_dir, HashingEmbedder())
    target = folder / "topic0" / "n0.md"
    before = target.stat()
    text = target.read_text(encoding="utf-8")
    target.write_text(text[:-2] + "X\n", encoding="utf-8")  # same size
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))  # mtime restored: the ctime still moved
    reads.clear()
    build_index(folder, index_dir, HashingEmbedder())
    assert reads == ["topic0/n0.md"]
    assert any("X" in c.text for c in load_current(index_dir).chunks if c.source == "topic0/n0.md")


def test_a_file_saved_while_it_was_read_is_read_again(folder: Path, tmp_path: Path, reads: list[str]) -> None:
    index_dir = tmp_path / "index"
    write(folder / "fresh.md", "# Fresh\n\nSaved just now about ssh agent forwarding.\n", age=0)
    build_index(folder, index_dir, HashingEmbedder())
    reads.clear()
    report = build_index(folder, index_dir, HashingEmbedder())  # its mtime is within RACY_SECONDS of that read
    assert reads == ["fresh.md"] and not report.up_to_date and RACY_SECONDS > 0


def _snapshot(index_dir: Path) -> tuple[list[tuple[str, str, int, int, str]], list[list[tuple[str, float]]]]:
    index = load_current(index_dir)
    chunks = sorted((c.collection, c.source, c.start_line, c.end_line, c.text) for c in index.chunks)
    searcher = Searcher(index, HashingEmbedder())  # type: ignore[arg-type]
    hits = [[(h.chunk.source, round(h.score, 9)) for h in searcher.search(q, top_k=5).hits] for q in QUERIES]
    return chunks, hits


def test_random_edit_sequences_index_what_a_full_rebuild_does(tmp_path: Path) -> None:
    rng = random.Random(20261202)
    root = tmp_path / "notes"
    for i in range(5):
        write(root / f"d{i % 2}" / f"n{i}.md", note(rng))
    synced = tmp_path / "synced"
    build_index(root, synced, HashingEmbedder())
    for step in range(12):
        files = sorted(p for p in root.rglob("*.md"))
        op = rng.choice(["add", "edit", "edit", "delete", "rename", "touch", "same-size"])
        target = rng.choice(files)
        age = 400.0 - step  # every write dated in the past, each later than the one before
        if op == "add" or len(files) < 3:
            write(root / f"d{rng.randint(0, 2)}" / f"new{step}.md", note(rng), age=age)
        elif op == "edit":
            write(target, target.read_text(encoding="utf-8") + "\n" + note(rng), age=age)
        elif op == "delete":
            target.unlink()
        elif op == "rename":
            target.rename(target.with_name(f"moved{step}.md"))
        elif op == "touch":
            os.utime(target, (time.time() - age, time.time() - age))
        else:
            text = target.read_text(encoding="utf-8")
            stat = target.stat()
            target.write_text(text[::-1], encoding="utf-8")
            os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        build_index(root, synced, HashingEmbedder())
        fresh = tmp_path / f"fresh{step}"
        build_index(root, fresh, HashingEmbedder())
        assert _snapshot(synced) == _snapshot(fresh), (step, op)


def test_an_unchanged_folder_over_a_damaged_build_is_rebuilt_not_up_to_date(folder: Path, tmp_path: Path) -> None:
    from semsearch.index.format import current_build_dir, read_manifest
    from semsearch.index.segments import file_in_build

    index_dir = tmp_path / "index"
    build_index(folder, index_dir, HashingEmbedder())
    build_dir = current_build_dir(index_dir)
    (build_dir / file_in_build(read_manifest(build_dir), "vectors.faiss")).write_bytes(b"garbage")
    report = build_index(folder, index_dir, HashingEmbedder())  # what the corruption message says to run
    assert not report.up_to_date and current_build_dir(index_dir) != build_dir
    assert load_current(index_dir).chunks
