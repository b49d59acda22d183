"""Note -> Chunks: split along headings, pack lines up to a token budget, overlap, stable ids.

Pure and deterministic: the token counter is passed in (the embedder's tokenizer in production,
`approximate_tokens` where no tokenizer is at hand). Lines that are not text (an inline base64
data URI, or a line of more than MAX_LINE_CHARS characters: minified data, not prose) are left out
of every chunk, so a chunk never carries them; a chunk stops before such a line and the next one
starts after it. A note that would make more than MAX_PASSAGES chunks is refused.

A chunk's `text` is always the file's own text (of the decoded note, see `documents.parse_note`):
either its whole lines `start_line..end_line` joined by "\n", or, for a line whose embedded form is
over the token budget (a long URL, a paragraph written as one line), one contiguous piece of that
single line (`start_line == end_line`, `text` a substring of the line, cut after a word where it can
be; `split_long_line`). Such a line is never packed with other lines: the chunk before it ends, its
pieces follow (neighbouring pieces overlap by up to `overlap_tokens`), and the next chunk starts
after it. Every chunk's embedded text stays within `max_tokens`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..records import Chunk, Note
from .positions import locate

TokenCounter = Callable[[str], int]

MAX_LINE_CHARS = 20_000
MAX_PASSAGES = 20_000  # per note; a 5 MB note of prose makes about 5,000
_DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]{200,}")

HEADING_SEPARATOR = " › "
_ATX = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_BOLD_LINE = re.compile(r"^\s*(?:\*\*|__)(?P<text>[^*_].*?)(?:\*\*|__)\s*:?\s*$")
_BULLET = re.compile(r"^\s*(?:[*+\-•◦▪‣]|\d+[.)])\s")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\((?:[^()\s]|\([^()\s]*\))*\)")
_ANGLE_URL = re.compile(r"<(https?://[^>\s]+)>")
_URL = re.compile(r"https?://[^\s<>()\[\]\"']+")
_EMPHASIS = re.compile(r"\*\*|__|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)|`")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
_TOKENISH = re.compile(r"\w+|[^\w\s]")
_SPACES = re.compile(r"[ \t]+")
_WORD_RUN = re.compile(r"\S+")
_LINE_MARKUP = re.compile(r"^\s*(?:#{1,6}\s+|[*+\-•◦▪‣]\s+|>\s*)+")


class TooManyPassagesError(ValueError):
    """A note would make more chunks than MAX_PASSAGES (e.g. hundreds of thousands of headings)."""


def is_text_line(line: str) -> bool:
    """False for a line that is data rather than text: a base64 data URI, or a very long line."""
    return len(line) <= MAX_LINE_CHARS and not _DATA_URI.search(line)


def approximate_tokens(text: str) -> int:
    """A tokenizer-free token count (words and punctuation), close to WordPiece on English."""
    return len(_TOKENISH.findall(text))


def clean_heading(text: str) -> str:
    """Heading text as shown in a heading path: markup and links removed."""
    text = _MD_LINK.sub(r"\1", text)
    text = _ESCAPE.sub(r"\1", text)
    text = text.replace("**", "").replace("__", "")
    return _SPACES.sub(" ", text).strip(" :*#")


def _reduce_url(match: re.Match[str]) -> str:
    """`https://www.example.com/a/semantic-segmentation.html` -> `example.com semantic segmentation`."""
    url = match.group(0).rstrip(".,;:")
    host, _, path = url.split("://", 1)[1].partition("/")
    host = host.removeprefix("www.")
    segment = next((s for s in reversed(path.split("/")) if s), "")
    segment = re.sub(r"\.(html?|php|aspx?|pdf)$", "", segment.split("?")[0].split("#")[0])
    words = [w for w in re.split(r"[-_+.%=&]+", segment) if w.isalpha() and len(w) > 1][:8]
    return " ".join([host, *words])


def embedding_form(text: str) -> str:
    """The text given to the encoder: links reduced to their label or host, markup dropped."""
    text = _MD_LINK.sub(r"\1", text)
    text = _ANGLE_URL.sub(r"\1", text)
    text = _URL.sub(_reduce_url, text)
    text = _ESCAPE.sub(r"\1", text)
    text = _EMPHASIS.sub("", text)
    lines = (_SPACES.sub(" ", _LINE_MARKUP.sub("", line)).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


@dataclass(slots=True)
class _Section:
    path: tuple[str, ...]
    lines: list[tuple[int, str]]  # (1-based line number, line text)
    has_body: bool = False  # holds more than heading lines


def _heading_of(line: str, fmt: str, prev_blank: bool, next_line: str) -> tuple[int, str] | None:
    """(level, text) if `line` is a heading in this note's format."""
    if fmt == "markdown":
        if m := _ATX.match(line):
            text = clean_heading(m.group(2))
            return (len(m.group(1)), text) if text else None
        if (m := _BOLD_LINE.match(line)) and _looks_like_title(clean_heading(m.group("text"))):
            return 7, clean_heading(m.group("text"))
        return None
    stripped = line.strip()
    if line[:1].isspace() or _BULLET.match(line) or not _looks_like_title(stripped.rstrip(":")):
        return None
    if stripped.endswith(":") or (prev_blank and (not next_line.strip() or next_line[:1].isspace())):
        return 2, stripped.rstrip(":").strip()
    return None


def _looks_like_title(text: str) -> bool:
    words = text.split()
    return (
        0 < len(words) <= 8
        and len(text) <= 70
        and not text.endswith((".", ",", ";", "…", "!", "?"))
        and "=" not in text
        and not text.startswith(("“", '"', "'", "‘"))
    )


def split_sections(note: Note) -> list[_Section]:
    """Split a note's body into sections, each with its full heading path."""
    lines = note.lines
    root = (note.title,) if note.title else ()
    stack: list[tuple[int, str]] = []
    sections = [_Section(root, [])]
    in_fence = False
    first = note.body_start_line - 1
    given = {h.line: (h.level, h.text) for h in note.headings or ()}  # a reader's headings (org, rst, PDF...)
    markup = {n for h in note.headings or () for n in range(h.line + 1, h.last_line + 1)}  # rst underlines
    for index in range(first, len(lines)):
        line = lines[index]
        heading = None
        if note.headings is not None:
            heading = given.get(index + 1)
        elif note.format == "markdown" and _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and line.strip():
            prev_blank = index == first or not lines[index - 1].strip()
            nxt = lines[index + 1] if index + 1 < len(lines) else ""
            heading = _heading_of(line, note.format, prev_blank, nxt)
            if heading is None and note.format == "text" and index == first and len(line) <= 70:
                heading = (1, line.strip())  # a plain-text export's first line is its title
        if heading is not None:
            level, text = heading
            stack = [(lvl, t) for lvl, t in stack if lvl < level] + [(level, text)]
            path = root + tuple(t for _, t in stack if t != note.title)
            if sections[-1].has_body:
                if len(sections) >= MAX_PASSAGES:
                    raise TooManyPassagesError(f"too many sections (over {MAX_PASSAGES:,} headings)")
                sections.append(_Section(path, []))
            else:  # a section with no body yet: its heading lines lead into this one
                sections[-1].path = path
        elif line.strip() and index + 1 not in markup:
            sections[-1].has_body = True
        sections[-1].lines.append((index + 1, line))
    return [s for s in sections if any(t.strip() for _, t in s.lines)]


def _bounded_prefix(prefix: str, limit: int, count: TokenCounter) -> str:
    """Keep the deepest part of a heading path within `limit` tokens."""
    words = prefix.split(" ")
    while words and count(" ".join(words)) > limit:
        words.pop(0)
    return " ".join(words)


def _piece_ends(line: str, start: int) -> list[int]:
    """Where a piece of `line` that starts at `start` may end: after each word (before whitespace)."""
    return [m.end() for m in _WORD_RUN.finditer(line, start)]


def _fits(piece: str, budget: int, count: TokenCounter) -> bool:
    return count(embedding_form(piece)) <= budget


def _longest(candidates: list[int], start: int, line: str, budget: int, count: TokenCounter) -> int:
    """The farthest end in `candidates` (ascending) whose piece `line[start:end]` fits the budget,
    or -1 when none does (binary search: the count grows with the piece, up to link reduction,
    which the final check of each piece covers)."""
    low, high, best = 0, len(candidates) - 1, -1
    while low <= high:
        mid = (low + high) // 2
        if _fits(line[start:candidates[mid]], budget, count):
            best, low = candidates[mid], mid + 1
        else:
            high = mid - 1
    return best


def split_long_line(line: str, budget: int, overlap: int, count: TokenCounter) -> list[tuple[int, int]]:
    """Split a line over the budget into pieces `(start, end)`: each `line[start:end]` is a
    contiguous substring of the line whose embedded form is within `budget` tokens. Pieces end after
    a word; a single word over the budget (a long URL) is one piece of its own, whole (never cut
    mid-word: its embedding is truncated by the model instead).
    Consecutive pieces share up to `overlap` tokens of words, and every piece starts further on."""
    pieces: list[tuple[int, int]] = []
    start = len(line) - len(line.lstrip())
    while start < len(line):
        ends = _piece_ends(line, start)
        if not ends:
            break
        end = _longest(ends, start, line, budget, count)
        if end <= start:  # the first word alone is over the budget: kept whole, never cut mid-word
            end = ends[0]  # (the model truncates its embedding; the shown text stays the file's)
        pieces.append((start, end))
        rest = line[end:]
        if not rest.strip():
            break
        following = end + len(rest) - len(rest.lstrip())
        back = following
        if overlap:  # step back over whole words of this piece, at most `overlap` tokens of them
            starts = [m.start() for m in _WORD_RUN.finditer(line, start, end)][1:]
            for candidate in reversed(starts):
                if not _fits(line[candidate:end], overlap, count):
                    break
                back = candidate
        start = back if back > start else following
    return pieces


def chunk_id(source: str, start_line: int, end_line: int, text: str) -> str:
    """Stable id: the same passage at the same place always gets the same id."""
    key = f"{source}\0{start_line}\0{end_line}\0{text}".encode()
    return hashlib.sha1(key, usedforsecurity=False).hexdigest()[:16]


def chunk_note(
    note: Note,
    *,
    max_tokens: int = 254,
    overlap_tokens: int = 32,
    count_tokens: TokenCounter = approximate_tokens,
) -> list[Chunk]:
    """Split a note into chunks whose embedded text stays within `max_tokens`."""
    if not 0 <= overlap_tokens < max_tokens // 2:
        raise ValueError(f"overlap_tokens must be in [0, {max_tokens // 2}), got {overlap_tokens}")
    chunks: list[Chunk] = []
    for section in join_sections(split_sections(note), max_tokens, count_tokens):
        if len(chunks) > MAX_PASSAGES:
            raise TooManyPassagesError(f"too many passages (over {MAX_PASSAGES:,})")
        prefix = _bounded_prefix(HEADING_SEPARATOR.join(section.path), max_tokens // 3, count_tokens)
        budget = max_tokens - (count_tokens(prefix) + 1 if prefix else 0)
        for start, end, text in _pack(section.lines, budget, overlap_tokens, count_tokens):
            body = embedding_form(text)
            embed_text = f"{prefix}\n{body}" if prefix else body
            chunks.append(
                Chunk(
                    id=chunk_id(note.source, start, end, text),
                    source=note.source,
                    heading_path=section.path,
                    start_line=start,
                    end_line=end,
                    text=text,
                    embed_text=embed_text,
                    title=note.title,
                    location=locate(note.positions, start, end),
                )
            )
    return chunks


_LINK = re.compile(r"https?://\S+|\]\([^)]*\)")
LINK_LINE_WORDS = 15  # a line with a link and at most this many other words is a reference


def _is_link_line(line: str) -> bool:
    """A reference: a line holding a link and little else (`- [Title](https://…)`, a bare URL)."""
    return _LINK.search(line) is not None and len(re.findall(r"\w+", _LINK.sub(" ", line))) <= LINK_LINE_WORDS


def _is_prose(line: str) -> bool:
    """A line of a few words that is neither a reference nor a markdown heading."""
    return not _is_link_line(line) and not line.lstrip().startswith("#") and len(re.findall(r"\w+", line)) >= 4


def join_sections(sections: list[_Section], max_tokens: int, count: TokenCounter) -> list[_Section]:
    """Sections as passages: a note that fits in one passage is one passage (its path the headings
    all its sections share), so a short note's intro, answer and links are found together; else a
    closing section of links only (`## Resources`, `## Source`) joins the section before it when
    that one holds prose (a reference list keeps its sections): it is the note's references, not an
    answer of its own."""
    if len(sections) < 2:
        return sections
    lines = [line for section in sections for line in section.lines]
    common = sections[0].path
    for section in sections[1:]:
        shared = 0
        while shared < min(len(common), len(section.path)) and common[shared] == section.path[shared]:
            shared += 1
        common = common[:shared]
    if all(is_text_line(text) for _, text in lines):
        prefix = HEADING_SEPARATOR.join(common)
        size = count(embedding_form("\n".join(text for _, text in lines))) + (count(prefix) + 1 if prefix else 0)
        if size <= max_tokens:
            return [_Section(common, lines, True)]
    last, before = sections[-1], sections[-2]
    references = [text for _, text in last.lines[1:] if text.strip()]
    if references and all(map(_is_link_line, references)) and any(_is_prose(text) for _, text in before.lines):
        return [*sections[:-2], _Section(before.path, before.lines + last.lines, True)]
    return sections


def _pack(
    lines: list[tuple[int, str]], budget: int, overlap: int, count: TokenCounter
) -> Iterator[tuple[int, int, str]]:
    """Greedily pack whole lines into (start_line, end_line, text) within `budget` embedded tokens.
    A line over the budget is never packed with other lines: it becomes pieces of its own
    (`split_long_line`), each a chunk with start_line == end_line and a substring of the line as text."""
    current: list[tuple[int, str, int]] = []  # (line number, text, tokens)
    used = 0
    for number, text in lines:
        if not is_text_line(text):  # a data line ends the chunk; the next starts after it, with no overlap
            yield from _emit(current)
            current, used = [], 0
            continue
        tokens = count(embedding_form(text)) if text.strip() else 0
        if tokens > budget:  # the chunk so far, then the line's pieces, then a fresh chunk
            yield from _emit(current)
            current, used = [], 0
            for start, end in split_long_line(text, budget, overlap, count):
                yield number, number, text[start:end]
            continue
        if current and used + tokens > budget:
            yield from _emit(current)
            tail: list[tuple[int, str, int]] = []
            kept = 0
            for old in reversed(current[1:]):
                if kept + old[2] > overlap:
                    break
                tail.insert(0, old)
                kept += old[2]
            while tail and kept + tokens > budget:  # the overlap must leave room for the new line
                kept -= tail.pop(0)[2]
            while tail and not tail[0][1].strip():  # a chunk starts on a line with text
                tail.pop(0)
            current, used = tail, kept
        if current or text.strip():
            current.append((number, text, tokens))
            used += tokens
    yield from _emit(current)


def _emit(units: list[tuple[int, str, int]]) -> Iterator[tuple[int, int, str]]:
    """The chunk of these whole lines, trailing blank lines left out (nothing if all are blank)."""
    while units and not units[-1][1].strip():
        units = units[:-1]
    if units:
        yield units[0][0], units[-1][0], "\n".join(text for _, text, _ in units)
