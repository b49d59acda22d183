from __future__ import annotations

import os
from pathlib import Path

from semsearch.reading.files import read_notes
from semsearch.records import Note, SkippedFile


def _read(root: Path, **options: object) -> tuple[dict[str, Note], dict[str, str]]:
    notes: dict[str, Note] = {}
    skipped: dict[str, str] = {}
    for item in read_notes(root, **options):  # type: ignore[arg-type]
        if isinstance(item, SkippedFile):
            skipped[item.source] = item.reason
        else:
            notes[item.source] = item
    return notes, skipped


def test_bad_files_are_skipped_with_reasons_and_the_rest_is_read(tmp_path: Path) -> None:
    root = tmp_path / "notes"
    (root / "sub").mkdir(parents=True)
    (root / "good.md").write_text("# Good\ntext\n")
    (root / "sub" / "nested.txt").write_text("nested text\n")
    (root / "empty.md").write_bytes(b"")
    (root / "binary.txt").write_bytes(b"\x00\x01\x02binary")
    (root / "big.md").write_text("word " * 3000)
    (root / "image.png").write_bytes(b"\x89PNG")
    (root / ".net").mkdir()  # a dot folder is a topic folder, read like any other
    (root / ".net" / "linq.md").write_text("linq\n")
    (root / ".git").mkdir()  # a tool's folder is not
    (root / ".git" / "secret.md").write_text("hidden\n")
    outside = tmp_path / "outside.md"
    outside.write_text("secret outside the root\n")
    os.symlink(outside, root / "escape.md")
    os.symlink(root / "good.md", root / "inside-link.md")
    os.symlink(tmp_path / "missing.md", root / "dangling.md")

    notes, skipped = _read(root, max_file_bytes=10_000)

    assert set(notes) == {"good.md", "sub/nested.txt", "inside-link.md", ".net/linq.md"}
    assert skipped == {
        "big.md": "too large (14.6 KB; the limit is 9.8 KB)",
        "binary.txt": "binary file (contains NUL bytes)",
        "dangling.md": "broken symlink",
        "empty.md": "empty file",
        "escape.md": "symlink points outside the notes folder",
    }
    assert all("secret" not in n.text for n in notes.values())


def test_include_globs(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("a\n")
    (tmp_path / "b.txt").write_text("b\n")
    (tmp_path / "c.rst").write_text("c\n")
    notes, _ = _read(tmp_path, include=["*.rst", "a.*"])
    assert set(notes) == {"a.md", "c.rst"}


def test_symlinked_folder_out_of_root_is_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "notes"
    root.mkdir()
    (root / "ok.md").write_text("ok\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "private.md").write_text("private\n")
    os.symlink(elsewhere, root / "linked-dir")
    notes, _ = _read(root)
    assert set(notes) == {"ok.md"}
