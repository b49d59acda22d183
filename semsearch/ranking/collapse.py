"""Near-duplicate collapse: the same passage held in several files or formats is shown once.

Two chunks are the same passage when most word 4-gram shingles of the smaller one occur in the
other (containment, not Jaccard: the copies are cut at different places, so one copy often covers
a passage and a half of the other). Shingles are taken from `embed_text` (links reduced to their
labels, markup dropped, heading prefix removed) without list markers (`1.`, `*`, `-`), so a
numbered markdown list and its rendered plain text compare equal.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Sequence

from ..records import DEFAULT_COLLECTION, Chunk

SHINGLE = 4
_WORD = re.compile(r"\w+")
_LIST_MARKER = re.compile(r"^[ \t]*(?:[-*+\u2022]|\d{1,3}[.)])[ \t]+", re.MULTILINE)


def shingles(chunk: Chunk, *, size: int = SHINGLE) -> frozenset[int]:
    """Hashed word `size`-grams of the chunk's body (`Index.shingles` memoizes them per build)."""
    body = chunk.embed_text
    prefix = " › ".join(chunk.heading_path)
    if prefix and body.startswith(prefix + "\n"):
        body = body[len(prefix) + 1 :]
    words = _WORD.findall(_LIST_MARKER.sub("", body).lower())
    if len(words) < size:
        grams = {" ".join(words)} if words else set()
    else:
        grams = {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}
    return frozenset(zlib.crc32(g.encode()) for g in grams)


def containment(a: frozenset[int], b: frozenset[int]) -> float:
    """|a ∩ b| / min(|a|, |b|): 1.0 when the smaller passage lies wholly inside the other."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def place(chunk: Chunk) -> str:
    """`source:start-end`, as shown in `Hit.also_in` (`collection:source:start-end` outside the
    default collection, where a source is unique only within its collection)."""
    where = f"{chunk.source}:{chunk.start_line}-{chunk.end_line}"
    return where if chunk.collection == DEFAULT_COLLECTION else f"{chunk.collection}:{where}"


def collapse(ranked: Sequence[Chunk], *, threshold: float, limit: int,
             shingles_of: Callable[[int], frozenset[int]] | None = None) -> list[tuple[int, list[int]]]:
    """Group `ranked` (best first) into at most `limit` distinct passages: (index of the best copy,
    indices of the other copies). A copy joins the first kept passage it overlaps by `threshold`
    or more; a copy in the same file as that passage is a neighbouring chunk, not a duplicate.
    `shingles_of(i)`: the shingles of `ranked[i]` (default: computed from the chunk)."""
    groups: list[tuple[int, list[int]]] = []
    kept: list[frozenset[int]] = []
    for i, chunk in enumerate(ranked):
        sh = shingles_of(i) if shingles_of is not None else shingles(chunk)
        for (head, copies), other in zip(groups, kept, strict=True):
            head_chunk = ranked[head]
            same_file = (head_chunk.collection, head_chunk.source) == (chunk.collection, chunk.source)
            if not same_file and containment(sh, other) >= threshold:
                copies.append(i)
                break
        else:
            if len(groups) < limit:  # past the limit, only copies of kept passages are attached
                groups.append((i, []))
                kept.append(sh)
    return groups
