"""`semsearch compact`: merge the index's segments now (what `semsearch index --watch` does when the
folder is quiet); nothing is read or embedded."""

from __future__ import annotations

from pathlib import Path

import click

from semsearch.settings import get_settings


@click.command("compact")
@click.option("--index-dir", type=click.Path(path_type=Path), help="The index to compact.")
@click.option("--all", "everything", is_flag=True, help="Merge every segment into one, not only those due.")
@click.option("--wait", is_flag=True, help="If another build of this index is running, wait for it.")
def compact_command(index_dir: Path | None, everything: bool, wait: bool) -> None:
    """Merge the published build's segments that are due for it (with --all, every segment): the
    same passages, ranked the same; nothing is read or embedded."""
    from semsearch.index.format import current_build_dir, read_manifest
    from semsearch.indexing.compaction import compact_index

    where = index_dir or get_settings().index_dir
    merged = compact_index(where, force=everything, wait=wait,
                           on_wait=lambda: click.echo("Waiting for another `semsearch index` to finish...",
                                                      err=True))
    manifest = read_manifest(current_build_dir(where))
    held = f"{len(manifest.segments)} segment{'s' if len(manifest.segments) != 1 else ''}"
    if merged:
        click.echo(f"Compacted into build {manifest.build_id} ({held}).", err=True)
    else:
        click.echo(f"Nothing to compact: build {manifest.build_id} has {held}.", err=True)
