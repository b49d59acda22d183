"""`semsearch config`: the effective settings and where each value came from (default, config
file, .env, environment, or a flag of the command)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from pydantic import SecretStr, ValidationError

from semsearch.settings import get_settings, setting_origins, unknown_config_keys

EXAMPLE = """\
# semsearch config: any setting of `semsearch config`, without the SEMSEARCH_ prefix
notes_dir = "~/notes"
# model = "sentence-transformers/all-MiniLM-L6-v2"
# backend = "auto"
# host = "127.0.0.1"
# port = 8000
# api_keys_file = "~/.config/semsearch/keys"
"""


def settings_error(exc: ValidationError) -> str:
    """A bad setting as one line: which setting, what is wrong (no traceback)."""
    problems = "; ".join(f"{'.'.join(str(part) for part in error['loc']) or 'settings'}: {error['msg']}"
                         for error in exc.errors())
    return f"Invalid settings ({problems}). See `semsearch config` and the README's settings table."


def _shown(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return "**********" if value.get_secret_value() else ""
    if isinstance(value, list):
        return [_shown(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    return value


@click.command("config")
@click.option("--index-dir", type=click.Path(path_type=Path), help="As the other commands' --index-dir ('flag').")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: name -> {value, source}.")
@click.option("--example", is_flag=True, help="Print an example config file (to start one).")
def config_command(index_dir: Path | None, as_json: bool, example: bool) -> None:
    """The effective settings and where each came from: default < config file < .env <
    environment (SEMSEARCH_*) < a command-line flag. Secrets are masked."""
    if example:
        click.echo(EXAMPLE, nl=False)
        return
    settings = get_settings()
    origins = setting_origins()
    if index_dir is not None:
        settings = settings.model_copy(update={"index_dir": index_dir})
        origins["index_dir"] = "flag"
    rows = {name: {"value": _shown(getattr(settings, name)), "source": origins[name]}
            for name in type(settings).model_fields}
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    path = settings.config_file
    found = "found" if path.is_file() else "not found; `semsearch config --example` prints a start"
    click.echo(f"config file: {path} ({found})")
    for key in unknown_config_keys():
        click.echo(f"  warning: {key!r} in the config file names no setting (ignored)")
    width = max(len(name) for name in rows)
    for name, row in rows.items():
        value = row["value"] if isinstance(row["value"], str) else json.dumps(row["value"], ensure_ascii=False)
        source = f"environment (SEMSEARCH_{name.upper()})" if row["source"] == "environment" else row["source"]
        click.echo(f"{name:<{width}}  {value}  [{source}]")
