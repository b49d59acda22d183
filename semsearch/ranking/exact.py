"""Exact matching: a passage holding a quoted phrase of the query verbatim (`"inverted dropout"`)
ranks first (`fusion.rank_query`; identifiers such as `keras.layers.Dropout` too with
`RetrievalConfig.exact_identifiers`)."""

from __future__ import annotations

import re
from collections.abc import Sequence

_QUOTED = re.compile(r"[\"“”]([^\"“”]{2,200})[\"“”]")
# identifiers: dotted or pathy names (keras.layers.Dropout, a/b, x::y, snake_case) and hyphenated
# codes with a part mixing letters and digits (ami-a96285c4, sha-3f9a1c; not IL-10 or COVID-19,
# which on SciFact training queries cost nDCG when matched verbatim)
_DOTTED = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?:(?:\.|::|/)\w+)+(?![\w])")
_SNAKE = re.compile(r"(?<![\w])[A-Za-z]\w*_\w+")
_CODE = re.compile(r"(?<![\w-])\w+(?:-\w+)+(?![\w-])")
_MIXED = re.compile(r"(?=\w*[A-Za-z])(?=\w*\d)\w+")
# what makes a query technical (`fusion.lexical_share`): a quoted phrase, a word mixing letters and
# digits (APOE4, ipv6, utf8), a dotted / pathy / scoped / snake_case name (asp.net, a/b, x::y),
# camelCase, a code with a numbered part (IL-10, COVID-19)
_TECHNICAL = re.compile(r"[\"“”]|(?<!\w)(?=\w*[A-Za-z])(?=\w*\d)\w+|\w[._/:]\w|(?<!\w)[a-z]+[A-Z]\w*|[A-Za-z]-\d")
_DROP = re.compile(r"[*_`#>\[\]()\\]")
_SPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Lowercase, markdown symbols deleted, whitespace collapsed (for exact matching)."""
    return _SPACE.sub(" ", _DROP.sub("", text.lower())).strip()


def exact_terms(query: str, *, identifiers: bool = True) -> list[str]:
    """Quoted phrases (and, with `identifiers`, identifiers) in `query`, normalized; a passage
    containing them verbatim is an exact match."""
    found = [m.group(1) for m in _QUOTED.finditer(query)]
    rest = _QUOTED.sub(" ", query)
    if identifiers:
        for pattern in (_DOTTED, _SNAKE):
            found += [m.group(0) for m in pattern.finditer(rest)]
        found += [m.group(0) for m in _CODE.finditer(rest)
                  if any(_MIXED.fullmatch(part) for part in m.group(0).split("-"))]
    terms: list[str] = []
    for term in found:
        norm = normalize_text(term.strip(" .,;:!?"))
        if len(norm) >= 2 and norm not in terms:
            terms.append(norm)
    return terms


def has_technical_terms(query: str) -> bool:
    """Whether `query` names something technical, which BM25 matches better than any embedding:
    a quoted phrase, a word mixing letters and digits, a dotted, pathy or snake_case name, camelCase,
    a code with a numbered part."""
    return _TECHNICAL.search(query) is not None


def exact_match_counts(texts: Sequence[str], terms: Sequence[str], *, normalized: bool = False) -> list[int]:
    """How many of `terms` each text contains verbatim (after normalization; pass
    `normalized=True` with texts from `normalized_texts`)."""
    if not terms:
        return [0] * len(texts)
    norms = texts if normalized else [normalize_text(text) for text in texts]
    return [sum(term in norm for term in terms) for norm in norms]
