"""Links from a passage to its source: the one place every edge (API, search page, Slack) builds them."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from .records import DEFAULT_COLLECTION, Hit

DERIVED_SUFFIXES = (".pdf", ".docx", ".ipynb", ".html", ".htm", ".xhtml")  # lines of extracted text


def note_url(base_url: str | None, hit: Hit, collection_urls: Mapping[str, str] | None = None) -> str | None:
    """A link to the passage's lines under its collection's base URL (`collection_urls`, e.g.
    `SEMSEARCH_COLLECTION_BASE_URLS`), else under `base_url` for the default collection
    (`SEMSEARCH_NOTES_BASE_URL`), GitHub-style `#Lstart-Lend`; None when no base URL applies."""
    chunk = hit.chunk
    base = (collection_urls or {}).get(chunk.collection)
    if base is None and chunk.collection == DEFAULT_COLLECTION:
        base = base_url
    if not base:
        return None
    url = f"{base.rstrip('/')}/{quote(chunk.source)}"
    # a PDF opens at its page (`#page=3`, as browsers' PDF viewers read it); other derived formats
    # (notebooks, Word, HTML) at the file: their passages' lines are not the file's lines
    if chunk.location is not None and chunk.location.unit == "page":
        return f"{url}#page={chunk.location.first}"
    if chunk.location is not None or chunk.source.lower().endswith(DERIVED_SUFFIXES):
        return url
    return f"{url}#L{chunk.start_line}-L{chunk.end_line}"
