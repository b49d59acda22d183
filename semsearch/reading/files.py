"""Notes folder -> Notes: walk, filter by glob, refuse what is not a readable note."""

from __future__ import annotations

import fnmatch
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..records import Note, SkippedFile

if TYPE_CHECKING:
    from .limits import ReadLimits

logger = logging.getLogger(__name__)

DEFAULT_INCLUDE = ("*.md", "*.markdown", "*.txt", "*.org", "*.rst", "*.pdf", "*.html", "*.htm", "*.docx", "*.ipynb")
DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024  # text notes (md, txt, org, rst); documents: limits.ReadLimits
DOCUMENT_SUFFIXES = (".pdf", ".docx", ".ipynb", ".html", ".htm", ".xhtml")  # capped at ReadLimits.max_bytes


def shown_source(path: Path, root: Path) -> str:
    """`path` relative to `root` with forward slashes, as a note's `source`. A name that is not valid
    UTF-8 (undecodable bytes) is shown with its bytes escaped (`\\xff`): sources are stored as UTF-8."""
    relative = path.relative_to(root).as_posix()
    try:
        relative.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(relative).decode("utf-8", "backslashreplace")
    return relative


def valid_name(path: Path, root: Path) -> bool:
    """True when `path`'s name relative to `root` is valid UTF-8 (it can be a note's source)."""
    try:
        path.relative_to(root).as_posix().encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _matches(relative: str, include: Sequence[str]) -> bool:
    name = relative.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(relative, g) or fnmatch.fnmatch(name, g) for g in include)


# folders that hold a tool's state, not notes: skipped without a word (logged at DEBUG); every other
# folder is walked, dot folders included (`.net/` is a topic)
TOOL_FOLDERS = {
    ".git": "git", ".hg": "Mercurial", ".svn": "Subversion", ".bzr": "Bazaar", "_darcs": "darcs",
    ".jj": "Jujutsu", ".obsidian": "Obsidian", ".trash": "Obsidian's trash", ".Trash": "the trash",
    ".Trashes": "the trash", ".Trash-1000": "the trash", "$RECYCLE.BIN": "the recycle bin",
    ".vscode": "VS Code", ".idea": "a JetBrains IDE", ".vs": "Visual Studio", ".foam": "Foam",
    ".logseq": "Logseq", ".stfolder": "Syncthing", ".stversions": "Syncthing", ".dropbox.cache": "Dropbox",
    ".cache": "a cache", ".venv": "a Python environment", "venv": "a Python environment",
    "node_modules": "npm", "__pycache__": "Python", ".mypy_cache": "mypy", ".pytest_cache": "pytest",
    ".ruff_cache": "ruff", ".tox": "tox", ".ipynb_checkpoints": "Jupyter", ".DS_Store": "macOS",
    ".Spotlight-V100": "macOS", ".fseventsd": "macOS", ".TemporaryItems": "macOS",
}


def is_index_folder(folder: Path) -> bool:
    """True for a semsearch index directory (it holds `CURRENT` and `builds/`)."""
    return (folder / "CURRENT").is_file() and (folder / "builds").is_dir()


def iter_note_paths(root: Path, include: Sequence[str] = DEFAULT_INCLUDE, *,
                    unreadable: list[SkippedFile] | None = None, skipped: list[SkippedFile] | None = None,
                    exclude: Sequence[Path] = ()) -> Iterator[Path]:
    """Files under `root` matching `include`, sorted. A folder that cannot be listed is added to
    `unreadable` (as `folder/` with the reason). Not walked, as known not to hold notes: the tool
    folders (`TOOL_FOLDERS`: `.git`, `.obsidian`, editor, OS and cache folders) and a semsearch index
    directory inside the notes folder (`exclude`, or any folder laid out as one). Other folders whose
    names start with a dot (`.net/`) are notes like any other. Hidden files (`.draft.md`, `._note.md`
    from macOS) are not read: the ones matching `include` are added to `skipped` with the reason, so
    `semsearch status` says what else was left out."""

    def refused(error: OSError) -> None:
        folder = Path(error.filename or root)
        relative = shown_source(folder, root) if folder != root else "."
        reason = f"folder could not be read ({error.strerror or error})"
        logger.warning("skipping %s/: %s", relative, reason)
        if unreadable is not None:
            unreadable.append(SkippedFile(f"{relative}/", reason))

    def skip(path: Path, reason: str) -> None:
        source = shown_source(path, root)
        logger.info("skipping %s: %s", source, reason)
        if skipped is not None:
            skipped.append(SkippedFile(source, reason))

    excluded = {os.path.abspath(p) for p in exclude}
    for folder, dirs, files in os.walk(root, followlinks=False, onerror=refused):
        walked: list[str] = []
        for name in sorted(dirs):
            path = Path(folder) / name
            if name in TOOL_FOLDERS:
                logger.debug("not walking %s: a %s folder, not notes", path, TOOL_FOLDERS[name])
            elif os.path.abspath(path) in excluded or is_index_folder(path):
                logger.debug("not walking %s: the semsearch index", path)
            else:
                walked.append(name)
        dirs[:] = walked
        for name in sorted(files):
            path = Path(folder) / name
            if not _matches(path.relative_to(root).as_posix(), include):
                continue
            if name.startswith("."):
                skip(path, "hidden file (its name starts with a dot)")
            else:
                yield path


def read_notes(
    root: Path,
    *,
    include: Sequence[str] = DEFAULT_INCLUDE,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> Iterator[Note | SkippedFile]:
    """Yield each note under `root`, or a SkippedFile saying why it was not read."""
    real_root = root.resolve()
    for path in iter_note_paths(root, include):
        yield read_note(path, root, max_file_bytes=max_file_bytes, real_root=real_root)


def read_note(path: Path, root: Path, *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
              real_root: Path | None = None, limits: ReadLimits | None = None) -> Note | SkippedFile:
    """One note under `root`, or a SkippedFile saying why it was not read. Markdown and text go to
    `documents.parse_note`; other formats to their reader (`formats.reader_for`), PDF and Word files
    in a worker process within `limits.seconds`."""
    from .documents import UnreadableNoteError  # ftfy, yaml: off the query path
    from .formats import read_with_reader
    from .limits import ReadLimits as Limits

    source = shown_source(path, root)
    if not valid_name(path, root):
        return SkippedFile(source, "its name is not valid UTF-8; rename the file to index it")
    limits = limits or Limits()
    cap = limits.max_bytes if path.suffix.lower() in DOCUMENT_SUFFIXES else max_file_bytes
    skipped = _refusal(path, real_root or root.resolve(), cap)
    if skipped:
        logger.info("skipping %s: %s", source, skipped)
        return SkippedFile(source, skipped)
    try:
        return read_with_reader(path.read_bytes(), source=source, suffix=path.suffix, limits=limits)
    except UnreadableNoteError as exc:
        return SkippedFile(source, str(exc))
    except OSError as exc:
        return SkippedFile(source, f"could not be read ({exc.strerror or exc})")


def _refusal(path: Path, real_root: Path, max_file_bytes: int) -> str | None:
    """Why `path` must not be read, or None."""
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return "broken symlink" if path.is_symlink() else "no longer exists (deleted or moved while indexing)"
    if not real.is_relative_to(real_root):
        return "symlink points outside the notes folder"
    if not real.is_file():
        return "not a regular file"
    try:
        size = real.stat().st_size
    except OSError:
        return "no longer exists (deleted or moved while indexing)"
    if size == 0:
        return "empty file"
    if size > max_file_bytes:
        return f"too large ({_human_size(size)}; the limit is {_human_size(max_file_bytes)})"
    return None


def _human_size(size: int) -> str:
    for unit, scale in (("MB", 2**20), ("KB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"
