"""Item 9: a hostile notes folder. Nothing outside the root is opened, bad files are skipped with a
reason, and the rest is indexed. An audit hook records every file the build opens."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from semsearch import Searcher
from semsearch.embedders.hashing import HashingEmbedder
from semsearch.indexing.build import build_index

OPENED: list[str] | None = None  # set while a test records; the hook stays installed but idle


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if OPENED is not None and event == "open" and isinstance(args[0], str | bytes):
        OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)


@pytest.fixture
def opened() -> Iterator[list[str]]:
    global OPENED
    OPENED = []
    try:
        yield OPENED
    finally:
        OPENED = None


def hostile_folder(tmp_path: Path) -> tuple[Path, Path]:
    root, outside = tmp_path / "notes", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.md").write_text("# Secret\n\nthe launch codes are zebra-kumquat\n")
    (root / "good.md").write_text("# Good\n\nGradient clipping keeps exploding gradients in check.\n")
    (root / "sub" / "nested.txt").write_text("Nested\n\nWarmup schedules raise the learning rate slowly.\n")
    (root / "v1..v2.md").write_text("# Versions\n\nDouble dots in a name are just a name.\n")
    (root / "..dotdot.md").write_text("a hidden file whose name starts with dots\n")
    (root / "latin1.md").write_bytes("# Café\n\nCrème brûlée notes, written in Latin-1.\n".encode("latin-1"))
    (root / "utf16.txt").write_bytes("Résumé written as UTF-16 with a BOM.\n".encode("utf-16"))
    (root / "garbage.md").write_bytes(bytes(range(128, 256)) * 4)
    (root / "binary.md").write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(200))
    with open(root / "huge.md", "wb") as handle:  # 50 MB, sparse: costs no disk and must never be read
        handle.truncate(50 * 2**20)
    os.mkfifo(root / "pipe.md")  # reading it would block forever
    os.symlink(outside / "secret.md", root / "escape.md")
    os.symlink("../outside/secret.md", root / "relative-escape.md")
    os.symlink(outside, root / "linked-dir")
    os.symlink("..", root / "parent")
    os.symlink("/etc/passwd", root / "passwd.txt")
    os.symlink("loop.md", root / "loop.md")
    os.symlink(root / "good.md", root / "inside-link.md")
    return root, outside


def test_a_hostile_folder_reads_nothing_outside_and_skips_bad_files_with_reasons(
    tmp_path: Path, opened: list[str], figures: dict[str, Any]
) -> None:
    root, outside = hostile_folder(tmp_path)
    index_dir = tmp_path / "index"
    opened.clear()  # record the build only, not the writing of the folder above
    report = build_index(root, index_dir, HashingEmbedder())
    seen = list(opened)

    real_root = root.resolve()
    read_under_tmp = {Path(p).resolve() for p in seen if Path(p).resolve().is_relative_to(tmp_path.resolve())}
    assert not any(p.is_relative_to(outside.resolve()) for p in read_under_tmp), "read outside the root"
    assert all(p.is_relative_to(real_root) or p.is_relative_to(index_dir.resolve()) for p in read_under_tmp)
    assert not any(p.endswith("/etc/passwd") for p in seen)
    assert (root / "huge.md").resolve() not in read_under_tmp and (root / "pipe.md").resolve() not in read_under_tmp

    skipped = {s.source: s.reason for s in report.skipped}
    assert skipped["huge.md"].startswith("too large (50.0 MB")
    assert skipped["pipe.md"] == "not a regular file"
    assert skipped["binary.md"] == "binary file (contains NUL bytes)"
    for link in ("escape.md", "relative-escape.md", "passwd.txt"):
        assert skipped[link] == "symlink points outside the notes folder"
    assert skipped["loop.md"] == "broken symlink"
    assert all(reason for reason in skipped.values())

    indexed = {c.source for c in Searcher.open(index_dir, HashingEmbedder()).index.chunks}
    assert {"good.md", "sub/nested.txt", "v1..v2.md", "latin1.md", "inside-link.md"} <= indexed
    assert "utf16.txt" in indexed  # UTF-16 with a byte-order mark is read as text
    assert not indexed & {"..dotdot.md", "linked-dir/secret.md", "parent/notes/good.md"}
    assert "garbage.md" in indexed | set(skipped)  # decoded somehow, or skipped with a reason
    assert not indexed & set(skipped)
    searcher = Searcher.open(index_dir, HashingEmbedder())
    assert all("zebra-kumquat" not in c.text for c in searcher.index.chunks)
    top = searcher.search("exploding gradients clipping", top_k=1).hits
    assert top[0].chunk.source in {"good.md", "inside-link.md"}
    figures.update(indexed=len(indexed), skipped=len(skipped), files_opened=len(seen))
