"""Bytes -> Note: decoding, mojibake repair, front matter, markdown-or-text sniffing."""

from __future__ import annotations

import codecs
import difflib
import logging
import re
from typing import Any

import ftfy
import yaml
from charset_normalizer import from_bytes
from ftfy.badness import badness, is_bad

from ..records import Note, NoteFormat
from .metadata import front_matter_date, note_tags

logger = logging.getLogger(__name__)

MARKDOWN_SUFFIXES = (".md", ".markdown")

_FRONT_MATTER_END = re.compile(r"^(---|\.\.\.)\s*$")
_ATX_HEADING = re.compile(r"^#{1,6}\s+\S")
_MD_LINK = re.compile(r"\]\((?:https?://|/|#|\./)|<https?://[^>\s]+>")
_MD_BOLD = re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__")
_MD_BULLET = re.compile(r"^\s*[*+-]\s+\S")
_MD_FENCE = re.compile(r"^\s*(```|~~~)")
_FENCE_LINE = re.compile(r"^\s*(```|~~~)")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]{2,}")


class UnreadableNoteError(ValueError):
    """The bytes are not a text note (binary, undecodable). The message is the skip reason."""


# UTF-32 first: its little-endian mark begins with UTF-16's
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode note bytes: UTF-16/32 when a byte-order mark says so, else UTF-8 (with or without
    BOM), then the best detected charset. NUL bytes without a BOM mean a binary file."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(encoding), encoding
            except UnicodeDecodeError:
                raise UnreadableNoteError(f"not valid {encoding} despite its byte-order mark") from None
    if b"\x00" in data[:8192]:
        raise UnreadableNoteError("binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    matches = from_bytes(data)
    best = matches.best()
    if best is None or best.encoding is None:
        raise UnreadableNoteError("not text in any known encoding")
    # On short texts the detector often cannot tell the Latin code pages apart; when Windows-1252
    # (the commonest legacy encoding of notes) is among its candidates, prefer it.
    if any(m.encoding == "cp1252" for m in matches) and best.encoding != "cp1252":
        return data.decode("cp1252"), "cp1252"
    return str(best), best.encoding


def _redecode_run(match: re.Match[str]) -> str:
    """Undo UTF-8 read as a mix of Windows code pages (`β€˜` -> `‘`), which ftfy leaves alone."""
    run = match.group(0)
    out: list[str] = []
    i = 0
    while i < len(run):
        for width in (4, 3, 2):
            piece = run[i : i + width]
            fixed = _legacy_bytes_to_utf8(piece) if len(piece) == width else None
            if fixed is not None:
                out.append(fixed)
                i += width
                break
        else:
            out.append(run[i])
            i += 1
    return "".join(out)


def _legacy_bytes_to_utf8(piece: str) -> str | None:
    raw = bytearray()
    for char in piece:
        for codec in ("sloppy-windows-1252", "sloppy-windows-1253", "sloppy-windows-1251"):
            try:
                raw += char.encode(codec)
                break
            except UnicodeEncodeError:
                continue
        else:
            return None
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if len(text) == 1 and ord(text) > 0x7F else None


# ftfy's encoding repairs only: Unicode forms, character widths, ligatures, quotes, HTML entities,
# terminal escapes, control characters and line breaks of correct text are never touched
_ENCODING_ONLY = ftfy.TextFixerConfig(
    unescape_html=False, remove_terminal_escapes=False, fix_latin_ligatures=False,
    fix_character_width=False, uncurl_quotes=False, fix_line_breaks=False, fix_surrogates=False,
    remove_control_chars=False, normalization=None,
)
# a note that names mojibake or a character encoding shows its examples on purpose
_ABOUT_ENCODINGS = re.compile(
    r"mojibake|unicode|\butf-?(?:8|16|32)\b|\blatin-?1\b|iso-?8859|windows-?125\d|\bcp-?125\d|charset"
    r"|character encoding|code ?page", re.IGNORECASE)
_CODE_SPAN = re.compile(r"`[^`\n]*`")


def _repair_line(line: str) -> str:
    """The line with its mojibake undone, or the line itself when it is not mojibake (neither ftfy's
    `is_bad` nor a run of mixed-code-page mojibake), when its mojibake sits in a code span, or when
    the repair only yields characters the line already writes correctly (a before-and-after
    example: `"é" shows as "Ã©"`)."""
    if line.isascii():
        return line
    outside_code = _CODE_SPAN.sub("", line)
    redecoded = _NON_ASCII_RUN.sub(_redecode_run, outside_code) != outside_code
    if not redecoded and not is_bad(outside_code):
        return line
    fixed = _NON_ASCII_RUN.sub(_redecode_run, ftfy.fix_text(line, _ENCODING_ONLY))
    if fixed == line or badness(fixed) > badness(line):
        return line
    return line if _shows_both_forms(line, fixed) else fixed


def _shows_both_forms(line: str, fixed: str) -> bool:
    """True when a character the repair writes is already written correctly in the unchanged rest of
    the line: the line shows the mojibake next to what it stands for, on purpose."""
    kept: set[str] = set()
    written: set[str] = set()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, line, fixed, autojunk=False).get_opcodes():
        if tag == "equal":
            kept.update(c for c in line[i1:i2] if not c.isascii())
        else:
            written.update(c for c in fixed[j1:j2] if not c.isascii())
    return bool(kept & written)


def repair_text(text: str) -> str:
    """Undo mojibake (UTF-8 read in a legacy code page) line by line, and only where it is one.

    Correct text is kept exactly as written: no Unicode normalization, no width or ligature
    folding, quotes, escapes and line breaks as they are. A line is repaired only when ftfy judges
    it mojibake (`ftfy.badness.is_bad`) and the repair lowers its badness; the lines of fenced code
    blocks, mojibake inside inline code spans, before-and-after examples, and every line of a note
    that names mojibake or a character encoding (`_ABOUT_ENCODINGS`: it shows its examples on
    purpose) are kept. The line count never changes, so line numbers in citations stay the file's.
    A repaired note (`Note.repaired`) shows the repaired text of its repaired lines; all other lines
    are the file's own."""
    if text.isascii() or _ABOUT_ENCODINGS.search(text):
        return text
    lines = text.split("\n")
    in_fence = False
    for index, line in enumerate(lines):
        if _FENCE_LINE.match(line):
            in_fence = not in_fence
        elif not in_fence:
            fixed = _repair_line(line)
            if "\n" not in fixed:
                lines[index] = fixed
    return "\n".join(lines)


def split_front_matter(text: str) -> tuple[dict[str, Any], int]:
    """Return (YAML front matter, index of the first body line). No front matter -> ({}, 0)."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, 0
    for i in range(1, min(len(lines), 400)):
        if _FRONT_MATTER_END.match(lines[i]):
            try:
                data = yaml.safe_load("\n".join(lines[1:i])) or {}
            except yaml.YAMLError as exc:
                logger.warning("ignoring unparsable front matter: %s", exc)
                data = {}
            return (data if isinstance(data, dict) else {}), i + 1
    return {}, 0


def sniff_format(text: str, suffix: str) -> NoteFormat:
    """Markdown if the suffix says so or the content carries enough markdown syntax."""
    if suffix.lower() in MARKDOWN_SUFFIXES:
        return "markdown"
    lines = text.split("\n")
    signals = 0
    for line in lines:
        if _ATX_HEADING.match(line) or _MD_FENCE.match(line):
            signals += 3
        signals += len(_MD_LINK.findall(line)) + len(_MD_BOLD.findall(line))
        signals += 1 if _MD_BULLET.match(line) else 0
    return "markdown" if signals >= max(3, len(lines) // 50) else "text"


def parse_note(data: bytes, *, source: str, suffix: str) -> Note:
    """Turn a file's bytes into a Note. Raises UnreadableNoteError with the reason to skip it."""
    text, encoding = decode_bytes(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    repaired = repair_text(text)
    meta, body_start = split_front_matter(repaired)
    body = "\n".join(repaired.split("\n")[body_start:])
    if not body.strip():
        raise UnreadableNoteError("empty file" if not repaired.strip() else "no text after front matter")
    title = meta.get("title")
    note_format = sniff_format(body, suffix)
    return Note(
        source=source,
        text=repaired,
        format=note_format,
        body_start_line=body_start + 1,
        title=str(title) if title else None,
        tags=note_tags(meta, body, note_format),
        encoding=encoding,
        repaired=repaired != text,
        date=front_matter_date(meta),
    )
