"""Links from a passage to its source: the one place every edge (API, search page, Slack) builds them."""

from __future__ import annotations

from urllib.parse import quote

from .records import Hit


def note_url(base_url: str | None, hit: Hit) -> str | None:
    """A link to the passage's lines under `base_url` (GitHub-style `#Lstart-Lend`), or None when
    no base URL is configured (`SEMSEARCH_NOTES_BASE_URL`)."""
    if not base_url:
        return None
    chunk = hit.chunk
    return f"{base_url.rstrip('/')}/{quote(chunk.source)}#L{chunk.start_line}-L{chunk.end_line}"
