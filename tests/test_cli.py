from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from semsearch.index.format import read_manifest
from semsearch.index.loader import load_current
from semsearch.index.segments import file_in_build
from semsearch.settings import get_settings
from services.cli import ask, main

from .conftest import SHARED


@pytest.fixture(autouse=True)
def _hashing_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEMSEARCH_MODEL", "hashing")
    monkeypatch.setenv("SEMSEARCH_ABSTAIN_THRESHOLD", "0")  # the hashing model is never "confident"


def test_index_prints_a_summary_with_skipped_files(tiny_notes: Path) -> None:
    (tiny_notes / "broken.txt").write_bytes(b"\x00\x01binary")
    result = CliRunner().invoke(main, ["index", str(tiny_notes)])
    assert result.exit_code == 0, result.output
    assert "Indexed 3 files into 3 chunks" in result.output
    assert f"into {get_settings().index_dir.absolute()} (build " in result.output  # says where
    assert "skipped broken.txt: binary file (contains NUL bytes)" in result.output


def test_ask_builds_from_the_bundled_notes_on_first_use() -> None:
    result = CliRunner().invoke(ask, ["inverted dropout keras", "-k", "2"])
    assert result.exit_code == 0, result.output
    assert "No index yet" in result.output and "building one from" in result.output
    assert "1. [" in result.output and "2. [" in result.output and "3. [" not in result.output
    hint = "example notes bundled with semsearch. Index your own with `semsearch index ~/notes`"
    assert hint in result.stderr and hint not in result.stdout
    again = CliRunner().invoke(ask, ["inverted dropout keras"])  # said once: on the first run
    assert again.exit_code == 0 and "No index yet" not in again.output and hint not in again.output


def test_a_repo_local_index_keeps_working_when_pointed_at(tiny_notes: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEMSEARCH_INDEX_DIR")
    assert CliRunner().invoke(main, ["index", str(tiny_notes), "--index-dir", "index"]).exit_code == 0
    get_settings.cache_clear()
    for args in (["--index-dir", "index"], ["--index-dir", str(tmp_path / "index")]):
        result = CliRunner().invoke(ask, ["water the tomatoes", *args])
        assert result.exit_code == 0 and "garden.txt" in result.output and "No index yet" not in result.output
    monkeypatch.setenv("SEMSEARCH_INDEX_DIR", "index")
    get_settings.cache_clear()
    assert "garden.txt" in CliRunner().invoke(main, ["ask", "water the tomatoes"]).output


def test_doctor_is_one_screen_without_a_traceback(tiny_notes: Path) -> None:
    before = CliRunner().invoke(main, ["doctor"])
    assert before.exit_code == 0, before.output
    assert "No index yet: `semsearch index ~/notes`" in before.output
    CliRunner().invoke(main, ["index", str(tiny_notes)])
    result = CliRunner().invoke(main, ["doctor"])
    assert result.exit_code == 0 and "Traceback" not in result.output
    labels = [line.split()[0] for line in result.output.splitlines()[:7]]
    assert labels == ["semsearch", "packages", "config", "model", "index", "gpu", "extras"]
    assert f"{get_settings().index_dir.absolute()}: build " in result.output and "just built" in result.output
    assert "torch " in result.output and "python 3." in result.output
    assert len(result.output.splitlines()) <= 24


def test_doctor_reports_bad_settings_instead_of_failing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEMSEARCH_TOP_K", "many")
    result = CliRunner().invoke(main, ["doctor"])
    assert result.exit_code == 0 and "Traceback" not in result.output
    assert "The settings do not load" in result.output


def test_shell_completion_names_the_commands() -> None:
    env = {"_SEMSEARCH_COMPLETE": "bash_complete", "COMP_WORDS": "semsearch do", "COMP_CWORD": "1"}
    result = CliRunner().invoke(main, [], env=env, prog_name="semsearch")
    assert result.exit_code == 0 and "plain,doctor" in result.output.splitlines()
    script = CliRunner().invoke(main, [], env={"_SEMSEARCH_COMPLETE": "bash_source"}, prog_name="semsearch")
    assert "_semsearch_completion" in script.output and "complete " in script.output


def test_ask_json_lines(tiny_notes: Path) -> None:
    CliRunner().invoke(main, ["index", str(tiny_notes)])
    result = CliRunner().invoke(ask, ["rotate api keys", "--json", "-k", "2"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.strip().splitlines()]
    assert len(rows) == 2
    assert {"rank", "score", "text", "source", "heading_path", "start_line", "end_line", "chunk_id"} <= set(rows[0])
    assert rows[0]["source"] == "keys.md" and rows[0]["rank"] == 1
    assert rows[0]["heading_path"] == ["Operations", "Rotating API keys"]


def test_ask_text_shows_file_lines_and_heading(tiny_notes: Path) -> None:
    CliRunner().invoke(main, ["index", str(tiny_notes)])
    result = CliRunner().invoke(main, ["ask", "rotate api keys", "-k", "1"])
    assert "keys.md:1-5  Operations › Rotating API keys" in result.output
    assert "Rotate API keys every 90 days" in result.output


@pytest.mark.parametrize("args", [[""], ["   "], ["x" * 3000]])
def test_bad_questions_are_one_line_and_exit_1(tiny_notes: Path, args: list[str]) -> None:
    CliRunner().invoke(main, ["index", str(tiny_notes)])
    result = CliRunner().invoke(ask, args)
    assert result.exit_code == 1
    assert result.output.startswith("Error: The query")
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_missing_notes_folder_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["index", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: The notes folder {tmp_path / 'nope'} does not exist."


def test_corrupt_index_is_one_line(tiny_notes: Path, tmp_path: Path) -> None:
    CliRunner().invoke(main, ["index", str(tiny_notes)])
    build = next((tmp_path / "index" / "builds").iterdir())
    (build / file_in_build(read_manifest(build), "vectors.faiss")).write_bytes(b"garbage")
    result = CliRunner().invoke(ask, ["anything"])
    assert result.exit_code == 1
    assert "is corrupt (checksum mismatch). Run `semsearch index NOTES_DIR` to rebuild." in result.output


def test_the_installed_ask_command_runs(tiny_notes: Path, tmp_path: Path) -> None:
    env = {"SEMSEARCH_MODEL": "hashing", "SEMSEARCH_INDEX_DIR": str(tmp_path / "index"), "PATH": "",
           "SEMSEARCH_ABSTAIN_THRESHOLD": "0"}
    ask_bin, semsearch_bin = (Path(sys.executable).parent / name for name in ("ask", "semsearch"))
    subprocess.run([str(semsearch_bin), "index", str(tiny_notes)], env=env, check=True, capture_output=True)
    out = subprocess.run([str(ask_bin), "water the tomatoes"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "garden.txt" in out.stdout


def test_eval_agrees_with_the_reference_scorer(notes_dir: Path, tmp_path: Path) -> None:
    queries = SHARED / "eval" / "notes-dev.jsonl"
    if not queries.is_file():
        pytest.skip("shared/eval is not beside this checkout")
    CliRunner().invoke(main, ["index", str(notes_dir)])
    run = tmp_path / "run.jsonl"
    result = CliRunner().invoke(main, ["eval", str(queries), "--out", str(run)])
    assert result.exit_code == 0, result.output
    reference = json.loads(subprocess.run(
        [sys.executable, str(SHARED / "eval" / "score.py"), "--score", str(run), str(queries)],
        capture_output=True, text=True, check=True).stdout)
    overall = next(line for line in result.output.splitlines() if line.startswith("all"))
    ours = [float(x) for x in overall.split()[2:7]]
    theirs = [reference[k] for k in ("hit@1", "hit@5", "mrr@10", "span_recall@10",
                                     "answerable_vs_unanswerable_separation")]
    assert ours == pytest.approx([round(t, 3) for t in theirs], abs=1e-3)


def test_ask_says_how_it_read_an_acronym(acronym_notes: Path) -> None:
    CliRunner().invoke(main, ["index", str(acronym_notes)])
    result = CliRunner().invoke(ask, ["VAE", "-k", "2"])
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == "(searched as: VAE (variational autoencoder))"
    assert "1. [" in result.stdout and "searched as" not in result.stdout
    assert "searched as" not in CliRunner().invoke(ask, ["VAE", "--json"]).output
    assert "searched as" not in CliRunner().invoke(ask, ["Variational autoencoder"]).output


def test_ask_source_filter(tiny_notes: Path) -> None:
    CliRunner().invoke(main, ["index", str(tiny_notes)])
    result = CliRunner().invoke(ask, ["rotate api keys", "--json", "-k", "3", "--source", "*.txt"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["source"] for line in result.output.splitlines()] == ["garden.txt"]


def test_ask_shows_the_cores_abstention(tiny_notes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    CliRunner().invoke(main, ["index", str(tiny_notes)])
    monkeypatch.setenv("SEMSEARCH_ABSTAIN_THRESHOLD", "1")
    get_settings.cache_clear()
    result = CliRunner().invoke(ask, ["rotate api keys"])
    assert result.exit_code == 0 and result.output.strip() == "Nothing in your notes answers this."


def _older_format(tmp_path: Path) -> Path:
    build = next((tmp_path / "index" / "builds").iterdir())
    manifest = build / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"format_version": 4', '"format_version": 1'))
    return build


def test_an_index_of_an_older_format_is_rebuilt_from_its_notes_once(tiny_notes: Path, tmp_path: Path) -> None:
    CliRunner().invoke(main, ["index", str(tiny_notes)])
    old = _older_format(tmp_path)
    result = CliRunner().invoke(ask, ["rotate api keys"])  # after an upgrade: rebuilt, then answered
    assert result.exit_code == 0 and "keys.md" in result.stdout
    assert "was built by an older semsearch: rebuilding it from" in result.stderr
    assert load_current(tmp_path / "index").build_id != old.name
    again = CliRunner().invoke(ask, ["rotate api keys"])
    assert again.exit_code == 0 and "older semsearch" not in again.stderr


def test_an_index_of_an_older_format_whose_notes_are_gone_is_one_sentence(tiny_notes: Path, tmp_path: Path) -> None:
    CliRunner().invoke(main, ["index", str(tiny_notes)])
    build = _older_format(tmp_path)
    moved = tiny_notes.rename(tmp_path / "moved")
    result = CliRunner().invoke(ask, ["rotate api keys"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        f"Error: {build} is an index of format 1 and this semsearch reads format 4. "
        "Run `semsearch index NOTES_DIR` to rebuild.")
    rebuilt = CliRunner().invoke(main, ["index", str(moved)])  # a sync over it rebuilds everything
    assert rebuilt.exit_code == 0 and "3 embedded" in rebuilt.output
    assert CliRunner().invoke(ask, ["rotate api keys"]).exit_code == 0
