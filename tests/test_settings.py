"""Where settings come from (default < config file < .env < environment < a flag) and where the
index lives by default (the per-user data folder, the same from every working directory)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import platformdirs
import pytest
from click.testing import CliRunner

from semsearch.settings import Settings, get_settings, setting_origins
from services.cli import ask, main


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default config file location (under the test's XDG_CONFIG_HOME), not yet written."""
    monkeypatch.delenv("SEMSEARCH_INDEX_DIR")
    monkeypatch.setenv("SEMSEARCH_MODEL", "hashing")
    monkeypatch.setenv("SEMSEARCH_ABSTAIN_THRESHOLD", "0")
    path = Path(platformdirs.user_config_dir("semsearch", appauthor=False)) / "config.toml"
    path.parent.mkdir(parents=True)
    return path


def _config(*args: str) -> dict[str, dict[str, object]]:
    get_settings.cache_clear()
    result = CliRunner().invoke(main, ["config", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def test_the_index_lives_in_the_per_user_data_folder(config_file: Path, tmp_path: Path) -> None:
    expected = Path(platformdirs.user_data_dir("semsearch", appauthor=False)) / "index"
    assert Settings().index_dir == expected
    if os.name == "posix" and "XDG_DATA_HOME" in os.environ:  # Linux: the test's XDG folder
        assert expected == tmp_path / "user-data" / "semsearch" / "index"
    assert setting_origins()["index_dir"] == "default"
    assert Settings().config_file == config_file


def test_precedence_default_file_environment_flag(config_file: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    default = Path(platformdirs.user_data_dir("semsearch", appauthor=False)) / "index"
    assert _config()["index_dir"] == {"value": str(default), "source": "default"}
    config_file.write_text(f'index_dir = "{tmp_path / "from-file"}"\ntop_k = 3\nport = 9001\n')
    rows = _config()
    assert rows["index_dir"] == {"value": str(tmp_path / "from-file"), "source": "config file"}
    assert rows["top_k"] == {"value": 3, "source": "config file"}
    (tmp_path / ".env").write_text("SEMSEARCH_PORT=9002\n")
    assert _config()["port"] == {"value": 9002, "source": ".env"}
    monkeypatch.setenv("SEMSEARCH_INDEX_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("SEMSEARCH_PORT", "9003")
    rows = _config()
    assert rows["index_dir"] == {"value": str(tmp_path / "from-env"), "source": "environment"}
    assert rows["port"] == {"value": 9003, "source": "environment"}
    assert rows["top_k"] == {"value": 3, "source": "config file"}
    assert _config("--index-dir", str(tmp_path / "from-flag"))["index_dir"] == {
        "value": str(tmp_path / "from-flag"), "source": "flag"}


def test_each_level_decides_where_a_build_goes(config_file: Path, tiny_notes: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The same precedence, by its effect: where `semsearch index` publishes and `ask` reads."""
    config_file.write_text(f'index_dir = "{tmp_path / "from-file"}"\n')

    def index(*flags: str) -> str:
        get_settings.cache_clear()
        result = CliRunner().invoke(main, ["index", str(tiny_notes), *flags])
        assert result.exit_code == 0, result.output
        return result.output

    assert f"into {tmp_path / 'from-file'} (build" in index()
    monkeypatch.setenv("SEMSEARCH_INDEX_DIR", str(tmp_path / "from-env"))
    assert f"into {tmp_path / 'from-env'} (build" in index()
    assert f"into {tmp_path / 'from-flag'} (build" in index("--index-dir", str(tmp_path / "from-flag"))
    for level in ("from-file", "from-env", "from-flag"):
        assert (tmp_path / level / "CURRENT").is_file()
    answered = CliRunner().invoke(ask, ["water the tomatoes", "--index-dir", str(tmp_path / "from-flag")])
    assert answered.exit_code == 0 and "garden.txt" in answered.output and "No index yet" not in answered.output


def test_ask_from_another_directory_uses_the_same_index_and_creates_nothing(
        config_file: Path, tiny_notes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_file.write_text(f'notes_dir = "{tiny_notes}"\n')
    first = CliRunner().invoke(ask, ["water the tomatoes"])
    assert first.exit_code == 0, first.output
    assert f"building one from {tiny_notes}" in first.output and "garden.txt" in first.output
    assert "bundled with semsearch" not in first.output  # a configured folder: no hint
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    get_settings.cache_clear()
    again = CliRunner().invoke(ask, ["water the tomatoes"])
    assert again.exit_code == 0 and "garden.txt" in again.output and "No index yet" not in again.output
    assert list(elsewhere.iterdir()) == []
    assert (Settings().index_dir / "CURRENT").is_file()


def test_config_file_paths_expand_home_and_are_relative_to_the_file(config_file: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    config_file.write_text('notes_dir = "my-notes"\ncache_dir = "~/semsearch-cache"\n')
    settings = Settings()
    assert settings.notes_dir == config_file.parent / "my-notes"
    assert settings.cache_dir == Path.home() / "semsearch-cache"


def test_the_config_file_can_be_elsewhere(config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other.toml"
    other.write_text('model = "hashing-other"\n')
    monkeypatch.setenv("SEMSEARCH_CONFIG_FILE", str(other))
    rows = _config()
    assert rows["model"]["source"] == "environment"  # the fixture's SEMSEARCH_MODEL wins over the file
    monkeypatch.delenv("SEMSEARCH_MODEL")
    rows = _config()
    assert rows["model"] == {"value": "hashing-other", "source": "config file"}
    assert rows["config_file"] == {"value": str(other), "source": "environment"}


def test_a_broken_config_file_is_one_line(config_file: Path) -> None:
    config_file.write_text("notes_dir = \n")
    result = CliRunner().invoke(ask, ["anything"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.startswith(f"Error: The config file {config_file} is not valid TOML")
    config_file.write_text('top_k = "many"\n')
    get_settings.cache_clear()
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert result.output.startswith("Error: Invalid settings (top_k: Input should be a valid integer")


def test_config_lists_sources_and_warns_of_unknown_keys(config_file: Path) -> None:
    config_file.write_text('notes_dirr = "~/notes"\nport = 8123\n')
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"config file: {config_file} (found)"
    assert "'notes_dirr' in the config file names no setting (ignored)" in lines[1]
    assert any(line.split() == ["port", "8123", "[config", "file]"] for line in lines)
    assert any(line.split() == ["model", "hashing", "[environment", "(SEMSEARCH_MODEL)]"] for line in lines)


def test_config_masks_secrets(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEMSEARCH_API_KEYS", '["s3cret-key"]')
    monkeypatch.setenv("SEMSEARCH_SLACK_BOT_TOKEN", "xoxb-s3cret")
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 0 and "s3cret" not in result.output


def test_the_example_config_is_a_valid_config(config_file: Path) -> None:
    result = CliRunner().invoke(main, ["config", "--example"])
    config_file.write_text(result.output)
    assert Settings().notes_dir == Path.home() / "notes"
    assert CliRunner().invoke(main, ["config"]).output.count("names no setting") == 0


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("SEMSEARCH_API_KEYS", "change-me", "a list setting is a JSON list"),
    ("SEMSEARCH_TOP_K", "abc", "top_k: Input should be a valid integer"),
    ("SEMSEARCH_MAX_TOP_K", "0", "max_top_k"),
])
def test_a_bad_setting_is_one_sentence_in_every_command(monkeypatch: pytest.MonkeyPatch, name: str, value: str,
                                                       expected: str) -> None:
    import subprocess
    import sys

    monkeypatch.setenv(name, value)
    for command in (["-m", "services.main", "serve"], ["-m", "services.main", "mcp"], ["-m", "services.slack"],
                    ["-c", "from services.cli import ask; ask()", "hello"]):
        out = subprocess.run([sys.executable, *command], capture_output=True, text=True, timeout=60)
        assert out.returncode == 1 and expected in out.stderr and "Traceback" not in out.stderr, (command, out.stderr)
