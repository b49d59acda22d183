"""`semsearch status`: the published build and what became of each notes file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from semsearch.index.format import current_build_dir
from semsearch.index.status import FILES_FILE, BuildFiles, FileStatus
from services.cli import main


@pytest.fixture(autouse=True)
def _hashing_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEMSEARCH_MODEL", "hashing")


def test_status_lists_the_build_and_every_file(tiny_notes: Path, tmp_path: Path) -> None:
    (tiny_notes / "broken.txt").write_bytes(b"\x00\x01binary")
    assert CliRunner().invoke(main, ["index", str(tiny_notes)]).exit_code == 0
    (tiny_notes / "keys.md").rename(tiny_notes / "operations.md")
    (tiny_notes / "garden.txt").unlink()
    (tiny_notes / "dropout.md").write_text("# Dropout\n\nSpatial dropout drops whole feature maps.\n")
    assert CliRunner().invoke(main, ["index", str(tiny_notes)]).exit_code == 0
    build_id = current_build_dir(tmp_path / "index").name

    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("index as of 20") and lines[0].endswith(f"(build {build_id})")
    assert lines[1].startswith("model hashing; 2 files, 2 chunks (1 embedded by this build, 1 reused)")
    assert "  indexed   dropout.md: 1 chunks, 1 embedded" in lines
    assert "  unchanged operations.md: 1 chunks, renamed from keys.md" in lines
    assert "  skipped   broken.txt: binary file (contains NUL bytes)" in lines
    assert "  removed   garden.txt" in lines

    problems = CliRunner().invoke(main, ["status", "--problems"]).output
    assert "broken.txt" in problems and "garden.txt" in problems and "dropout.md" not in problems

    data = json.loads(CliRunner().invoke(main, ["status", "--json"]).output)
    assert data["build_id"] == build_id and data["model"] == "hashing"
    assert (data["file_count"], data["chunk_count"], data["embedded"], data["reused"]) == (2, 2, 1, 1)
    assert {f["source"]: f["status"] for f in data["files"]} == {
        "broken.txt": "skipped", "dropout.md": "indexed", "operations.md": "unchanged"}
    assert data["removed"] == ["garden.txt"]


def test_status_without_an_index_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: No index at {tmp_path / 'index'}. Run `semsearch index NOTES_DIR` to build one."]


def test_files_json_round_trips() -> None:
    record = BuildFiles([FileStatus("a.md", "unchanged", chunks=2, sha256="ab", renamed_from="b.md"),
                         FileStatus("c.md", "failed", error="ValueError: bad")], embedded=0, reused=2,
                        removed=["d.md"])
    assert BuildFiles.from_json(record.to_json()) == record
    assert FILES_FILE == "files.json"


def test_control_characters_in_names_never_reach_the_terminal(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "red\x1b[31mflag.md").write_text("# Red\n\nThe \x1b[2J screen is not cleared.\n")
    (notes / "two\nlines.md").write_text("# Two\n\nA name with a newline.\n")
    (notes / "empty.md").write_text("")
    assert CliRunner().invoke(main, ["index", str(notes)]).exit_code == 0
    status = CliRunner().invoke(main, ["status"]).output
    assert "\x1b" not in status and "red\\x1b[31mflag.md" in status and "two\\nlines.md" in status
    from services.cli import ask

    answer = CliRunner().invoke(ask, ["screen cleared", "-k", "3"], env={"SEMSEARCH_ABSTAIN_THRESHOLD": "0"}).output
    assert "\x1b[2J" not in answer and "\x1b[31m" not in answer and "\\x1b[2J" in answer
