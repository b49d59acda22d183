"""`semsearch collections`: list the collections of the index (folder, files, passages), and
`semsearch collections remove NAME`: publish a build without one."""

from __future__ import annotations

from pathlib import Path

import click

from semsearch.errors import IndexNotFoundError
from semsearch.settings import Settings, get_settings
from semsearch.wiring import collection_folders, remove_collection

from .output import terminal_safe


def _settings(index_dir: Path | None) -> Settings:
    settings = get_settings()
    return settings.model_copy(update={"index_dir": index_dir}) if index_dir else settings


@click.group("collections", invoke_without_command=True)
@click.option("--index-dir", type=click.Path(path_type=Path), help="The index whose collections to list.")
@click.pass_context
def collections_command(ctx: click.Context, index_dir: Path | None) -> None:
    """The collections of the index: name, folder, files and passages in the published build."""
    ctx.obj = index_dir
    if ctx.invoked_subcommand is not None:
        return
    from semsearch.index.status import index_status

    settings = _settings(index_dir)
    folders = {name: str(folder) for name, folder in collection_folders(settings).items()}
    try:
        built = {c.name: c for c in index_status(settings.index_dir).collections}
    except IndexNotFoundError:
        built = {}
    if not folders and not built:
        click.echo("No collections yet; add one with `semsearch index --collection NAME FOLDER`.")
        return
    for name in sorted(set(folders) | set(built)):
        held = built.get(name)
        counts = f"{held.file_count} files, {held.chunk_count} passages" if held else "not indexed yet"
        folder = folders.get(name) or (held.folder if held else "")
        click.echo(f"{terminal_safe(name, one_line=True)}\t{terminal_safe(folder, one_line=True)}\t{counts}")


@collections_command.command("remove")
@click.argument("name")
@click.option("--wait", is_flag=True, help="If another build of this index is running, wait for it.")
@click.pass_obj
def remove_command(index_dir: Path | None, name: str, wait: bool) -> None:
    """Remove collection NAME: publish a build without its passages and forget its folder."""
    report = remove_collection(_settings(index_dir), name, wait=wait)
    if report is None:
        click.echo(f"Forgot collection {name} (no build held it).", err=True)
    else:
        click.echo(f"Removed collection {name} ({len(report.removed)} files); build {report.manifest.build_id} "
                   f"holds {report.chunks} passages.", err=True)
