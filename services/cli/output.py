"""How the terminal shows things: a passage with its place, heading path and text (the query's words
in bold), and an index's status. Everything that comes from the notes (file names, headings, text)
goes through `terminal_safe` first: a control character in a note cannot move the cursor, change
colours or split a line of the listing."""

from __future__ import annotations

import re
import textwrap

import click

from semsearch.index.status import IndexStatus
from semsearch.records import Hit

_WORD = re.compile(r"\w{3,}")
_BOLD = re.compile(r"\*\*|__")
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_AND_LINES = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str, *, one_line: bool = False) -> str:
    """`text` with control characters (escape sequences, C1 codes, bidirectional overrides, and with
    `one_line` newlines and tabs too) shown as `\\x1b`-style escapes instead of acting on the terminal."""
    pattern = _CONTROL_AND_LINES if one_line else _CONTROL
    return pattern.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


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
    place = f"{terminal_safe(c.source, one_line=True)}" + (f" {c.location.detail}" if c.location else f":{lines}")
    head = f"{hit.rank}. [{hit.score:.3f}] {click.style(place, fg='cyan')}"
    if c.heading_path:
        head += f"  {terminal_safe(c.heading, one_line=True)}"
    body = textwrap.indent(highlight(terminal_safe(readable(c.text).strip()), query), "   ")
    also = (f"\n   also in: {', '.join(terminal_safe(place, one_line=True) for place in hit.also_in)}"
            if hit.also_in else "")
    return f"{head}\n{body}{also}\n"


def format_status(status: IndexStatus, *, all_files: bool = True) -> str:
    """`semsearch status` as text: a header, then one line per file."""
    lines = [
        f"index as of {status.built_at} (build {status.build_id})",
        f"model {status.model}; {status.file_count} files, {status.chunk_count} chunks "
        f"({status.embedded} embedded by this build, {status.reused} reused)",
    ]
    if status.notes_dir and len(status.collections) <= 1:
        lines.append(f"notes {terminal_safe(status.notes_dir, one_line=True)}")
    several = len(status.collections) > 1
    if several:
        lines += [f"collection {terminal_safe(c.name, one_line=True)}: {c.file_count} files, {c.chunk_count} chunks, "
                  f"{terminal_safe(c.folder, one_line=True)}" for c in status.collections]
    for f in status.files:
        if not all_files and f.status in ("indexed", "unchanged"):
            continue
        detail = {"indexed": f"{f.chunks} chunks, {f.embedded} embedded",
                  "unchanged": f"{f.chunks} chunks" + (f", renamed from {f.renamed_from}" if f.renamed_from else ""),
                  "skipped": f.reason, "failed": f.error}[f.status]
        shown = f"{f.collection}: {f.source}" if several else f.source
        source, detail = terminal_safe(shown, one_line=True), terminal_safe(detail, one_line=True)
        reader = f" [{f.reader}]" if f.reader and f.reader not in ("markdown", "text") else ""
        lines.append(f"  {f.status:<9} {source}{reader}: {detail}")
    lines += [f"  removed   {terminal_safe(source, one_line=True)}" for source in status.removed]
    return "\n".join(lines)
