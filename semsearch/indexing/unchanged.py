"""Recognizing unchanged files from their stat, as git's index does, so a sync costs what changed.

Each file's record in `files.json` keeps the stat it was read with (size, mtime, ctime, inode) and
the build keeps the options it read with (`sync_options`) and when its reading started. A file
whose stat is the same as then, and whose mtime was not within `RACY_SECONDS` of that start (a
file saved while it was being read, or on a coarse-clock file system, could change again within
the same tick), is not read again: its passages come from the previous build (`reuse_unchanged`).
When no file of the collection changed, none was added or removed and the options are the same,
the sync publishes nothing (`up_to_date`): the published build already is that folder's index.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import SemsearchError
from ..index.format import Manifest, current_build_dir, read_manifest
from ..index.loader import Index, load_index
from ..index.status import FILES_FILE, BuildFiles, FileStatus
from ..index.verify import read_checked
from ..reading.files import iter_note_paths, shown_source
from ..records import SkippedFile
from ..version import __version__
from .file_record import FileResult

logger = logging.getLogger(__name__)

Stat = tuple[int, int, int, int]  # (size, mtime_ns, ctime_ns, inode)
Reuse = Callable[[str, Stat | None], FileResult | None]
RACY_SECONDS = 2.0


def file_stat(path: Path) -> Stat | None:
    """The stat a file's record keeps; None when it cannot be had (then the file is read)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def sync_options(**options: Any) -> dict[str, Any]:
    """What a file's passages depend on besides its bytes (model, chunking, limits, semsearch's
    version), as the JSON the build records."""
    return {"semsearch": __version__, **{k: _plain(v) for k, v in sorted(options.items())}}


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain(getattr(value, k)) for k in value.__dataclass_fields__}
    return value


def _trusted(old: FileStatus, stat: Stat | None, read_at_ns: int) -> bool:
    """Whether `old` still describes the file with this stat."""
    return (stat is not None and read_at_ns > 0 and list(stat) == old.stat
            and stat[1] < read_at_ns - RACY_SECONDS * 1e9)


def reuse_unchanged(previous: Index | None, collection: str, options: dict[str, Any]) -> Reuse:
    """A function giving an unchanged file's result from `previous` (its passages, or its reason to
    be skipped), or None when the file must be read."""
    if previous is None or previous.files.options.get(collection) != options:
        return lambda source, stat: None
    files = previous.files.by_source(collection)
    rows = previous.rows_by_place
    read_at = previous.files.read_at_ns.get(collection, 0)

    def reuse(source: str, stat: Stat | None) -> FileResult | None:
        old = files.get(source)
        if old is None or not _trusted(old, stat, read_at):
            return None
        if old.status in ("indexed", "unchanged"):
            kept = rows.get((collection, source))
            if kept is None or len(kept) != old.chunks:
                return None
            return FileResult(source, rows=kept, sha256=old.sha256, collection=collection, reader=old.reader,
                              stat=stat)
        if old.status == "skipped" and old.chunks == 0:
            return FileResult(source, reason=old.reason, collection=collection, reader=old.reader, stat=stat)
        return None

    return reuse


def published_record(index_dir: Path) -> tuple[Manifest, BuildFiles] | None:
    """The published build's manifest and file record, read and verified without loading the
    build; None when there is none or it cannot be read (then the sync goes the long way)."""
    try:
        build_dir = current_build_dir(index_dir)
        manifest = read_manifest(build_dir)
        return manifest, BuildFiles.from_json(read_checked(build_dir, FILES_FILE, manifest))
    except (SemsearchError, OSError, ValueError, KeyError, TypeError):
        return None


def up_to_date(index_dir: Path, notes_dir: Path, collection: str, options: dict[str, Any], *,
               include: Sequence[str]) -> tuple[Manifest, BuildFiles] | None:
    """The published build when it already is the index of `notes_dir` as `collection`: the same
    options, folder and files, each with the stat it was read with; None otherwise."""
    found = published_record(index_dir)
    if found is None:
        return None
    manifest, record = found
    folder = manifest.collections.get(collection) or (manifest.notes_dir if not manifest.collections else "")
    if record.options.get(collection) != options or folder != str(notes_dir.absolute()):
        return None
    read_at = record.read_at_ns.get(collection, 0)
    before = record.by_source(collection)
    unreadable: list[SkippedFile] = []
    hidden: list[SkippedFile] = []
    seen: set[str] = set()
    for path in iter_note_paths(notes_dir, include, unreadable=unreadable, skipped=hidden):
        source = shown_source(path, notes_dir)
        old = before.get(source)
        if (old is None or old.status == "failed" or (old.status == "skipped" and old.chunks)
                or not _trusted(old, file_stat(path), read_at)):
            return None
        seen.add(source)
    if unreadable:
        return None
    seen.update(item.source for item in hidden)
    if seen != set(before):
        return None
    try:  # a build that does not open (a damaged file) is rebuilt, not reported up to date
        load_index(current_build_dir(index_dir), sentences=options.get("sentences", True))
    except SemsearchError as exc:
        logger.warning("the published build does not open (%s): syncing the long way", exc)
        return None
    logger.info("%s is unchanged since build %s", notes_dir, manifest.build_id)
    return manifest, record
