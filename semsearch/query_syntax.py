"""The filter syntax people type into a query (Slack's `/ask`, the search page, `ask`):

    in:work in:reading #kubernetes tag:k8s anytag:ops,infra path:ops/* since:2025-01 until:2025-06 how do we rotate keys

`in:` names a collection (several: any of them), `#tag` and `tag:` a tag every passage must carry,
`anytag:` tags of which one must be carried, `path:` a glob or path prefix, `since:` / `until:` a
date (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`). Values may list several names with commas. The other
words are the question. A `#` followed by a digit (`#123`) and words such as `https://x` are part
of the question; a malformed date is a `FilterError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .filters import Filter

_TOKEN = re.compile(r"^(?:(in|tag|anytag|path|since|until):(\S+)|#([^\W\d_][\w/.-]*))$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """A typed query: the filter its operators give and the question left."""

    filter: Filter
    text: str


def _values(raw: str) -> list[str]:
    return [v for v in raw.split(",") if v]


def parse_query(query: str) -> ParsedQuery:
    """Split `query` into a `Filter` and the remaining question (words kept in their order)."""
    collections: list[str] = []
    tags_all: list[str] = []
    tags_any: list[str] = []
    path = since = until = None
    words: list[str] = []
    for word in query.split():
        match = _TOKEN.match(word)
        if match is None:
            words.append(word)
            continue
        key, value, hashtag = (match[1] or "").lower(), match[2], match[3]
        if hashtag:
            tags_all.append(hashtag.rstrip(".-/"))
        elif key == "in":
            collections += _values(value)
        elif key == "tag":
            tags_all += _values(value)
        elif key == "anytag":
            tags_any += _values(value)
        elif key == "path":
            path = value
        elif key == "since":
            since = value
        else:
            until = value
    found = Filter(collections=tuple(collections) or None, tags_all=tuple(tags_all), tags_any=tuple(tags_any),
                   path=path, since=since, until=until)
    return ParsedQuery(found, " ".join(words))
