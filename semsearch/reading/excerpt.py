"""Lines of an indexed note, for citing or reading around a hit: `read_excerpt`.

The note is read and decoded exactly as indexing reads it (`files.read_note`: charset detection,
CRLF -> LF, mojibake repair), so line numbers are the ones the index's passages cite. Only a note
inside the notes folder can be read: absolute paths, `..` and symlinks that leave the folder are
refused, and so is any note the build does not hold when the caller says which ones it does. An
excerpt is bounded in lines and bytes. Every refusal is a `QueryError` with a one-sentence message
that names the note as the caller wrote it, never a server path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from ..errors import QueryError
from ..records import SkippedFile
from .files import DEFAULT_MAX_FILE_BYTES, read_note

MAX_EXCERPT_LINES = 500
MAX_EXCERPT_BYTES = 256 * 1024
MAX_SOURCE_CHARS = 1000


@dataclass(frozen=True, slots=True)
class Excerpt:
    """Lines `start_line`..`end_line` (1-based, inclusive) of note `source`."""

    source: str
    start_line: int
    end_line: int
    lines: tuple[str, ...]
    line_count: int  # lines in the whole note
    sha256: str  # of the note's decoded text as read now
    changed: bool  # the note's text differs from the one the build indexed

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def check_source(source: object) -> str:
    """`source` as a relative path inside the notes folder, or QueryError."""
    if not isinstance(source, str) or not source.strip():
        raise QueryError("source must be a note's path relative to the notes folder, e.g. `guides/garden.md`.")
    if len(source) > MAX_SOURCE_CHARS or "\x00" in source:
        raise QueryError("source is not a note's path (too long, or it contains a NUL character).")
    posix, windows = PurePosixPath(source), PureWindowsPath(source)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or source.startswith(("/", "\\")):
        raise QueryError(f"{source!r} is an absolute path; give the note's path relative to the notes folder.")
    if ".." in posix.parts or ".." in windows.parts:
        raise QueryError(f"{source!r} leaves the notes folder (`..`); give the note's path inside it.")
    return posix.as_posix()


def read_excerpt(
    notes_dir: Path,
    source: str,
    start_line: int,
    end_line: int,
    *,
    indexed: Mapping[str, str] | None = None,
    max_lines: int = MAX_EXCERPT_LINES,
    max_bytes: int = MAX_EXCERPT_BYTES,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> Excerpt:
    """Lines `start_line`..`end_line` of the note `source` under `notes_dir`.

    `indexed`: the notes the build holds (source -> sha256 of the decoded text, as in the build's
    `files.json`); a note not among them is refused, and `changed` says whether its text is no longer
    the indexed one. QueryError for a path outside the folder, a note that cannot be read, a range
    that is empty, past the note's end or larger than `max_lines` lines or `max_bytes` bytes."""
    relative = check_source(source)
    for name, value in (("start_line", start_line), ("end_line", end_line)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise QueryError(f"{name} must be a line number from 1, got {value!r}.")
    if end_line < start_line:
        raise QueryError(f"end_line ({end_line}) is before start_line ({start_line}).")
    if end_line - start_line + 1 > max_lines:
        raise QueryError(f"Lines {start_line}-{end_line} are {end_line - start_line + 1} lines; "
                         f"ask for at most {max_lines} at a time.")
    root = notes_dir.resolve()
    path = root / relative
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise QueryError(f"{relative!r} is not in the notes folder (it may have been removed since the build).") \
            from None
    if not real.is_relative_to(root):
        raise QueryError(f"{relative!r} points outside the notes folder; only notes inside it can be read.")
    if indexed is not None and relative not in indexed:
        raise QueryError(f"{relative!r} is not a note in the index; search first and use a result's source.")
    note = read_note(path, root, max_file_bytes=max_file_bytes, real_root=root)
    if isinstance(note, SkippedFile):
        raise QueryError(f"{relative!r} cannot be read as a note ({note.reason}).")
    lines = note.lines
    if lines and lines[-1] == "" and note.text.endswith("\n"):
        lines = lines[:-1]  # the newline that ends the last line starts no line of its own
    if end_line > len(lines):
        raise QueryError(f"Lines {start_line}-{end_line} are past the end of {relative!r}, "
                         f"which has {len(lines)} lines.")
    wanted = tuple(lines[start_line - 1 : end_line])
    size = len("\n".join(wanted).encode("utf-8"))
    if size > max_bytes:
        raise QueryError(f"Lines {start_line}-{end_line} of {relative!r} are {size} bytes; "
                         f"ask for fewer lines (at most {max_bytes} bytes at a time).")
    digest = hashlib.sha256(note.text.encode("utf-8")).hexdigest()
    changed = indexed is not None and bool(indexed[relative]) and indexed[relative] != digest
    return Excerpt(relative, start_line, end_line, wanted, len(lines), digest, changed)
