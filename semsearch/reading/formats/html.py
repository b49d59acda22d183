"""HTML -> Note with selectolax (lexbor): the main content (`<main>`, else `<article>`, else
`<body>`) as text blocks, one per line, headings `<h1>`..`<h6>` as the heading path; scripts, styles,
navigation, headers, footers, forms and asides dropped. No position map: a passage cites lines of
the extracted text (the page has no pages or cells a person counts)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from ...records import Note
from ..documents import UnreadableNoteError, decode_bytes
from .base import NoteText, ReadLimits, require

LABEL = "HTML files"
MAX_DEPTH = 1000  # elements nested deeper than this: refused (no reader of notes writes such pages)
DROPPED = ("script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "nav", "header",
           "footer", "aside", "form", "button", "select", "head")
BLOCKS = frozenset({
    "address", "article", "blockquote", "caption", "dd", "details", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "main", "ol", "p", "pre",
    "section", "summary", "table", "td", "th", "tr", "ul", "body", "html",
})
_HEADING = re.compile(r"^h([1-6])$")
_SPACES = re.compile(r"\s+")


def is_html(head: bytes) -> bool:
    start = head[:512].lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html"))


class _Blocks:
    """Text gathered into blocks: a block ends where a block element starts or ends, or at `<br>`."""

    def __init__(self, out: NoteText) -> None:
        self.out = out
        self.parts: list[str] = []
        self.level = 0  # inside <hN>: N
        self.pre = 0  # inside <pre>: whitespace kept

    def flush(self) -> None:
        text = "".join(self.parts)
        self.parts = []
        lines = text.split("\n") if self.pre else [_SPACES.sub(" ", text).strip()]
        lines = [line.rstrip() for line in lines]
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        if not lines:
            return
        if self.level:
            self.out.separate()
        self.out.add("\n".join(lines), 0, heading_level=self.level)
        if self.level:
            self.out.separate()


def read_html(data: bytes, source: str, limits: ReadLimits) -> Note:
    """Read an HTML page's main content."""
    require("selectolax", LABEL)
    from selectolax.lexbor import LexborHTMLParser

    text, _ = decode_bytes(data)
    tree = LexborHTMLParser(text)
    title_node = tree.css_first("title")
    title = _SPACES.sub(" ", title_node.text()).strip() if title_node is not None else None
    content = tree.css_first("main") or tree.css_first("article")
    root = content or tree.body
    if root is None:
        raise UnreadableNoteError("no text found in the HTML page")
    # an article's own <header> holds its title: dropped only as the page's banner, outside the content
    dropped = set(DROPPED) - {"header", "footer"} if content is not None else set(DROPPED)
    out = NoteText("paragraph", limits.max_chars)
    blocks = _Blocks(out)
    stack: list[tuple[Any, bool, int]] = [(root, True, 0)]
    while stack:
        node, entering, depth = stack.pop()
        tag = node.tag
        if not entering:  # leaving a block element
            blocks.flush()
            if tag == "pre":
                blocks.pre -= 1
            elif _HEADING.match(tag):
                blocks.level = 0
            continue
        if depth > MAX_DEPTH:
            raise UnreadableNoteError(f"HTML nested too deeply (over {MAX_DEPTH} levels)")
        if tag == "-text":
            blocks.parts.append(node.text(deep=False) or "")
            continue
        if tag in dropped or tag.startswith("-"):  # comments and the like
            continue
        if tag == "br":
            if blocks.pre:
                blocks.parts.append("\n")
            else:
                blocks.flush()
            continue
        if tag in BLOCKS:
            blocks.flush()
            stack.append((node, False, depth))
            if tag == "pre":
                blocks.pre += 1
            elif heading := _HEADING.match(tag):
                blocks.level = int(heading.group(1))
        children = list(node.iter(include_text=True))
        stack.extend((child, True, depth + 1) for child in reversed(children))
    blocks.flush()
    return replace(out.note(source, reader="html", title=title), positions=None)
