"""Which notes an MCP caller may read: `get`, `note://` resources and `status` within the caller's
collections (a scoped API key's over HTTP; every collection over stdio).

A note of the default collection is `note://PATH`; a note of another collection is
`note://~COLLECTION/PATH`. A note is named by (collection, source); a source alone is resolved
among the collections the caller may see, and is refused when it is in none of them or in several.
"""

from __future__ import annotations

from pathlib import Path

from mcp.types import Resource

from semsearch import Searcher
from semsearch.errors import QueryError
from semsearch.filters import Filter, check_scope
from semsearch.reading.excerpt import Excerpt, read_excerpt
from semsearch.records import DEFAULT_COLLECTION

Visible = frozenset[str] | None
NO_NOTES_DIR_MESSAGE = "This build does not record its notes folder; rebuild it with `semsearch index`."
COLLECTION_PREFIX = "~"


def note_uri(collection: str, source: str) -> str:
    """The `note://` URI of a note."""
    return f"note://{source}" if collection == DEFAULT_COLLECTION else f"note://~{collection}/{source}"


def split_note_path(path: str) -> tuple[str | None, str]:
    """(collection, source) of a `note://` path (`~work/ops/keys.md` -> work; else no collection).
    A `~name/` prefix always names a collection, known or not, so that a refusal says nothing
    about which collections exist."""
    if path.startswith(COLLECTION_PREFIX) and "/" in path:
        name, _, rest = path[1:].partition("/")
        return name, rest
    return None, path


def readable(searcher: Searcher, visible: Visible) -> dict[tuple[str, str], str]:
    """(collection, source) -> sha256 of every indexed note the caller may read."""
    return {(f.collection, f.source): f.sha256 for f in searcher.index.files.files
            if f.status in ("indexed", "unchanged") and (visible is None or f.collection in visible)}


def resolve(searcher: Searcher, source: object, collection: object, visible: Visible) -> str:
    """The collection of the note `source` the caller means, or QueryError / CollectionAccessError.
    Only collections the caller may see are named in a message."""
    if collection is not None:
        if not isinstance(collection, str) or not collection:
            raise QueryError("collection must be the name of a collection, as a search result gives it.")
        check_scope(Filter(collections=(collection,)), visible)
        return collection
    notes = readable(searcher, visible)
    holding = sorted({c for c, s in notes if s == source})
    if len(holding) > 1:
        raise QueryError(f"{source!r} is in several collections ({', '.join(holding)}); say which with `collection`.")
    return holding[0] if holding else DEFAULT_COLLECTION if visible is None else next(iter(sorted(visible)), "")


def excerpt(searcher: Searcher, source: object, start_line: object, end_line: object, *, collection: object = None,
            visible: Visible = None, max_file_bytes: int, whole: bool = False) -> Excerpt:
    """Lines of a note the caller may read (`read_excerpt` within its collection's folder)."""
    name = resolve(searcher, source, collection, visible)
    folder = searcher.manifest.folder_of(name)
    if not folder:
        if name not in searcher.index.rows_by_collection and name not in searcher.manifest.collections:
            raise QueryError(f"{source!r} is not a note in the index; search first and use a result's source.")
        raise QueryError(NO_NOTES_DIR_MESSAGE)
    indexed = {s: digest for (c, s), digest in readable(searcher, visible).items() if c == name}
    bounds = {"max_lines": 10**9, "max_bytes": max_file_bytes} if whole else {}
    return read_excerpt(Path(folder), source, start_line, end_line,  # type: ignore[arg-type]
                        indexed=indexed, max_file_bytes=max_file_bytes, **bounds)


def resources(searcher: Searcher, visible: Visible) -> list[Resource]:
    """A `note://` resource for every note the caller may read."""
    return [Resource(uri=note_uri(c, s), name=s if c == DEFAULT_COLLECTION else f"{c}: {s}", mime_type="text/plain")
            for c, s in readable(searcher, visible)]
