"""How the terminal shows a passage: its place, heading path and text with the query's words in bold."""

from __future__ import annotations

import re
import textwrap

import click

from semsearch.records import Hit

_WORD = re.compile(r"\w{3,}")
_BOLD = re.compile(r"\*\*|__")
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")


def readable(text: str) -> str:
    """Passage text for a terminal: bold markers and backslash escapes dropped, links kept."""
    return _ESCAPED.sub(r"\1", _BOLD.sub("", text))


def highlight(text: str, query: str) -> str:
    """The passage with the query's words in bold (shown on a terminal only)."""
    words = {w.lower() for w in _WORD.findall(query)}
    if not words:
        return text
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(words))) + r")\w*", re.IGNORECASE)
    return pattern.sub(lambda m: click.style(m.group(0), bold=True), text)


def format_hit(hit: Hit, query: str) -> str:
    c = hit.chunk
    lines = f"{c.start_line}-{c.end_line}" if c.end_line != c.start_line else str(c.start_line)
    head = f"{hit.rank}. [{hit.score:.3f}] {click.style(f'{c.source}:{lines}', fg='cyan')}"
    if c.heading_path:
        head += f"  {c.heading}"
    body = textwrap.indent(highlight(readable(c.text).strip(), query), "   ")
    also = f"\n   also in: {', '.join(hit.also_in)}" if hit.also_in else ""
    return f"{head}\n{body}{also}\n"
