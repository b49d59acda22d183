"""A note's filterable metadata: tags (front matter and inline `#tags`) and its date.

Tags come from the front matter's `tags`, `keywords` and `categories` (a YAML list, or one string
split at commas and spaces) and, in markdown, from inline `#tags` in the body: a `#` that starts a
word and is followed by a letter (so not `#123` issue numbers, `# Headings`, `page#section` URL
fragments or `&#39;` entities), outside code fences and inline code. Tags are lowercase.

The date is the front matter's `date`, `created` or `updated` (the first present that parses:
YAML dates and datetimes, or text starting with an ISO date), else the file's modification time.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from ..records import NoteFormat

TAG_KEYS = ("tags", "keywords", "categories")
DATE_KEYS = ("date", "created", "updated")
_INLINE_TAG = re.compile(r"(?<![\w&#/])#([^\W\d_][\w/-]*)")
_FENCE = re.compile(r"^\s*(```|~~~)")
_CODE_SPAN = re.compile(r"`+[^`]*`+")
_ISO_DAY = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})")
_SPLIT = re.compile(r"[,\s]+")


def _clean(tag: object) -> str:
    return str(tag).strip().lstrip("#").strip("/-").lower()


def front_matter_tags(meta: dict[str, Any]) -> list[str]:
    """The tags the front matter lists, in order."""
    found: list[str] = []
    for key in TAG_KEYS:
        raw = meta.get(key)
        if isinstance(raw, str):
            found += _SPLIT.split(raw)
        elif isinstance(raw, list | tuple):
            found += [str(t) for t in raw if isinstance(t, str | int | float) and not isinstance(t, bool)]
    return [t for t in map(_clean, found) if t]


def inline_tags(body: str) -> list[str]:
    """The `#tags` of a markdown body, outside code fences and inline code."""
    found: list[str] = []
    fenced = False
    for line in body.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced or "#" not in line:
            continue
        found += [_clean(m) for m in _INLINE_TAG.findall(_CODE_SPAN.sub(" ", line))]
    return [t for t in found if t]


def note_tags(meta: dict[str, Any], body: str, note_format: NoteFormat) -> tuple[str, ...]:
    """Every tag of a note, lowercase, each once (front matter first)."""
    inline = inline_tags(body) if note_format == "markdown" else []
    return tuple(dict.fromkeys([*front_matter_tags(meta), *inline]))


def front_matter_date(meta: dict[str, Any]) -> str | None:
    """The ISO date the front matter gives (`date`, `created` or `updated`), or None."""
    for key in DATE_KEYS:
        raw = meta.get(key)
        if isinstance(raw, datetime):
            return (raw.astimezone(UTC) if raw.tzinfo else raw).date().isoformat()
        if isinstance(raw, date):
            return raw.isoformat()
        if isinstance(raw, str) and (match := _ISO_DAY.match(raw)):
            try:
                return date.fromisoformat(match[1]).isoformat()
            except ValueError:
                continue
    return None


def mtime_date(seconds: float) -> str:
    """A file's modification time as a UTC ISO date."""
    return datetime.fromtimestamp(seconds, UTC).date().isoformat()
