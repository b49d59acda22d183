"""`ask`'s filter flags: -c/--collection, --tag, --any-tag, --path, --since, --until (the same
filters can be typed into the question: `ask "in:work #k8s since:2025-01 ..."`)."""

from __future__ import annotations

from collections.abc import Callable

import click

from semsearch.filters import Filter


def filter_options(command: Callable[..., None]) -> Callable[..., None]:
    """`ask`'s filter flags (the same filters can be typed into the question: `in:work #k8s ...`)."""
    for option in reversed([
        click.option("-c", "--collection", "collections", multiple=True,
                     help="Only this collection (repeat for several; any of them)."),
        click.option("--tag", "tags_all", multiple=True, help="Only passages with this tag (repeat: all of them)."),
        click.option("--any-tag", "tags_any", multiple=True, help="Only passages with one of these tags (repeat)."),
        click.option("--path", help="Only notes whose path matches this glob or prefix (as --source)."),
        click.option("--since", help="Only notes dated from the start of YYYY, YYYY-MM or YYYY-MM-DD."),
        click.option("--until", help="Only notes dated up to the end of YYYY, YYYY-MM or YYYY-MM-DD."),
    ]):
        command = option(command)
    return command


def flags_filter(collections: tuple[str, ...], tags_all: tuple[str, ...], tags_any: tuple[str, ...],
                 path: str | None, since: str | None, until: str | None) -> Filter:
    """The Filter `ask`'s flags give (FilterError, shown as one line, for a malformed one)."""
    return Filter(collections=collections or None, tags_all=tags_all, tags_any=tags_any, path=path,
                  since=since, until=until)
