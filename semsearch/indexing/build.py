"""Notes folder -> published index: read, chunk, embed what changed, store.

Every build is a full, self-contained build published atomically (`index.write_build`), but only
chunks whose embedded text is new are embedded: the others take their vectors from the previous
build (`reuse`). One bad file never stops a build; it is recorded as skipped or failed in
the build's `files.json` (`status`).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..embedders import Embedder
from ..errors import IndexBuildError, IndexLockedError, SemsearchError
from ..index.collections import check_collection_name, read_registry, write_registry
from ..index.format import CURRENT, Manifest, build_dirs, remove_partial_builds
from ..index.loader import Index, load_current, load_index
from ..index.status import BuildFiles, FileStatus
from ..reading.chunking import TooManyPassagesError, chunk_note
from ..reading.files import DEFAULT_INCLUDE, DEFAULT_MAX_FILE_BYTES, iter_note_paths, read_note, shown_source
from ..reading.formats import reader_name
from ..reading.limits import ReadLimits
from ..reading.metadata import mtime_date
from ..records import DEFAULT_COLLECTION, Chunk, SkippedFile
from .file_record import (
    FileResult,
    file_record,
    in_collection,
    keep_unreadable_folders,
)
from .jobs import SEGMENT_ROWS, BuildJob, Compaction, PendingBuild, syncable
from .reuse import embed_in_batches
from .unchanged import Reuse, file_stat, reuse_unchanged, sync_options, up_to_date

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (chunks embedded so far, chunks to embed)

__all__ = ["BuildReport", "build_index", "collect_chunks", "embed_in_batches", "file_record", "index_lock",
           "keep_unreadable_folders"]


@dataclass(slots=True)
class BuildReport:
    """What a build did, for the summary line and `semsearch status`."""

    manifest: Manifest
    files_read: int
    skipped: list[SkippedFile] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0
    embedded: int = 0  # chunks embedded by this build
    reused: int = 0  # chunks whose vectors came from the previous build
    files: list[FileStatus] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    sentences: int = 0  # sentences stored for sentence-level matching (`sentences.py`)
    sentences_embedded: int = 0  # of them, embedded by this build (the others were reused)
    up_to_date: bool = False  # nothing changed: no build was written (`manifest` is the published one)


@contextmanager
def index_lock(index_dir: Path, *, wait: bool = False, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the index directory's build lock. If another process holds it, raise IndexLockedError
    at once, or with `wait` call `on_wait` and block until it is released."""
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / ".lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise IndexLockedError(
                    f"Another `semsearch index` is building {index_dir}; wait for it to finish "
                    "(or pass --wait)."
                ) from None
            if on_wait:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock (the kernel also does when the process dies)


_FileResult = FileResult  # the name `indexing/ray.py` imports


def read_files(notes_dir: Path, embedder: Embedder, *, include: Sequence[str], max_file_bytes: int,
               overlap_tokens: int, read_limits: ReadLimits | None = None,
               reuse: Reuse | None = None) -> list[_FileResult]:
    """Read and chunk every note; a file that cannot be read or chunked is recorded, not raised.
    `reuse`: the previous build's result of a file whose stat says it is unchanged (not read)."""
    return list(iter_files(notes_dir, embedder, include=include, max_file_bytes=max_file_bytes,
                           overlap_tokens=overlap_tokens, read_limits=read_limits, reuse=reuse))


def iter_files(notes_dir: Path, embedder: Embedder, *, include: Sequence[str], max_file_bytes: int,
               overlap_tokens: int, read_limits: ReadLimits | None = None,
               reuse: Reuse | None = None) -> Iterator[_FileResult]:
    """`read_files`, one file at a time (a first build writes its segments as it reads)."""
    real_root = notes_dir.resolve()
    unreadable: list[SkippedFile] = []
    skipped: list[SkippedFile] = []  # tool folders, the index, hidden files: said in status, never kept
    for path in iter_note_paths(notes_dir, include, unreadable=unreadable, skipped=skipped):
        kept = reuse(shown_source(path, notes_dir), file_stat(path)) if reuse is not None else None
        yield kept or read_file(path, notes_dir, embedder, max_file_bytes=max_file_bytes,
                                overlap_tokens=overlap_tokens, real_root=real_root, read_limits=read_limits)
    yield from (_FileResult(folder.source, reason=folder.reason, folder=True) for folder in unreadable)
    yield from (_FileResult(item.source, reason=item.reason) for item in skipped)


def read_file(path: Path, notes_dir: Path, embedder: Embedder, *, max_file_bytes: int, overlap_tokens: int,
              real_root: Path | None = None, read_limits: ReadLimits | None = None) -> _FileResult:
    """Read and chunk one note (also a Ray task, `indexing/ray.py`); a failure is recorded, not raised."""
    budget = embedder.max_tokens - 2  # the model adds [CLS] and [SEP]
    result = _FileResult(shown_source(path, notes_dir), reader=reader_name(path.suffix), stat=file_stat(path))
    try:
        item = read_note(path, notes_dir, max_file_bytes=max_file_bytes, real_root=real_root, limits=read_limits)
        if isinstance(item, SkippedFile):
            result.reason = item.reason
        else:
            result.sha256 = hashlib.sha256(item.text.encode("utf-8")).hexdigest()
            result.reader = item.reader or item.format
            chunks = chunk_note(item, max_tokens=budget, overlap_tokens=overlap_tokens,
                                count_tokens=embedder.count_tokens)
            when = item.date or _file_date(path)
            result.chunks = [replace(c, tags=item.tags, date=when) for c in chunks]
    except TooManyPassagesError as exc:
        result.reason = str(exc)
    except Exception as exc:  # one bad file must not stop the build
        logger.warning("could not index %s: %s", result.source, exc, exc_info=True)
        result.error, result.chunks = f"{type(exc).__name__}: {exc}", []
    return result


def _file_date(path: Path) -> str | None:
    """The file's modification date (UTC), or None when it is gone already."""
    try:
        return mtime_date(path.stat().st_mtime)
    except OSError:
        return None


def collect_chunks(
    notes_dir: Path, embedder: Embedder, *, include: Sequence[str], max_file_bytes: int,
    overlap_tokens: int,
) -> tuple[list[Chunk], int, list[SkippedFile]]:
    """Read and chunk every note; returns (chunks, files read, files skipped or failed)."""
    results = read_files(notes_dir, embedder, include=include, max_file_bytes=max_file_bytes,
                         overlap_tokens=overlap_tokens)
    chunks = [c for r in results for c in r.chunks]
    skipped = [SkippedFile(r.source, r.reason or r.error) for r in results if r.reason or r.error]
    return chunks, len(results) - len(skipped), skipped


def build_index(
    notes_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    *,
    include: Sequence[str] = DEFAULT_INCLUDE,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    read_limits: ReadLimits | None = None,  # PDF, Word, notebooks, HTML: size, pages, text, seconds per file
    overlap_tokens: int = 32,
    batch_size: int = 64,
    progress: Progress | None = None,
    wait: bool = False,
    on_wait: Callable[[], None] | None = None,
    reader: Callable[..., list[_FileResult]] = read_files,  # read and chunk; Ray's: indexing/ray.py
    store_sentences: bool = True,
    collection: str = DEFAULT_COLLECTION,
    segment_rows: int = SEGMENT_ROWS,
    compaction: Compaction = "inline",
) -> BuildReport:
    """Sync collection `collection` (default: the default collection) from `notes_dir` and publish
    the build under `index_dir`, embedding only the chunks the previous build does not already hold.
    Every other collection of the previous build is carried as it was: not read, not embedded.
    `wait`: wait for another build instead of failing. `store_sentences`: also store sentence vectors
    for the sentence stage (False: a faster build that ranks as the stage-off configuration does).
    `segment_rows`: a first build writes a segment each time it has read this many passages.
    `compaction`: "defer" leaves due segment merges to `compaction.compact_index` (within bounds)."""
    started = time.perf_counter()
    check_collection_name(collection)
    if not notes_dir.is_dir():
        raise IndexBuildError(f"The notes folder {notes_dir} does not exist.")
    options = sync_options(model=embedder.model_name, max_tokens=embedder.max_tokens - 2,
                           overlap_tokens=overlap_tokens, include=list(include), max_file_bytes=max_file_bytes,
                           read_limits=read_limits, sentences=store_sentences)
    with index_lock(index_dir, wait=wait, on_wait=on_wait):
        remove_partial_builds(index_dir)
        if reader is read_files:
            current = up_to_date(index_dir, notes_dir, collection, options, include=include)
            if current is not None:
                return _up_to_date_report(*current, started)
        read_at = time.time_ns()
        previous = previous_build(index_dir, sentences=store_sentences)
        job = BuildJob(index_dir, embedder, collection, batch_size, progress, store_sentences, overlap_tokens,
                       compaction)
        folders = {**(previous.manifest.collections if previous is not None else {}),
                   **({DEFAULT_COLLECTION: previous.manifest.notes_dir}
                      if previous is not None and not previous.manifest.collections and previous.chunks else {}),
                   collection: str(notes_dir.absolute())}
        before = previous.files if previous is not None else None

        def finish(record: BuildFiles) -> BuildFiles:
            return replace(record, options={**(before.options if before else {}), collection: options},
                           read_at_ns={**(before.read_at_ns if before else {}), collection: read_at})

        nothing = IndexBuildError(f"No notes to index in {notes_dir} (looked for {', '.join(include)}); "
                                  "the previous index is unchanged.")
        if previous is None and reader is read_files:  # a first build: a segment at a time, as it reads
            files = iter_files(notes_dir, embedder, include=include, max_file_bytes=max_file_bytes,
                               read_limits=read_limits, overlap_tokens=overlap_tokens)
            pending = job.stream(files, folders, segment_rows=segment_rows, nothing=nothing)
        else:
            pending = _read_and_plan(job, previous, reader, notes_dir, embedder, folders, nothing, include=include,
                                     max_file_bytes=max_file_bytes, read_limits=read_limits,
                                     overlap_tokens=overlap_tokens, options=options)
        manifest, record = pending.publish(finish)
        held = {name: folder for name, folder in manifest.collections.items() if folder}  # also older builds'
        write_registry(index_dir, {**held, **read_registry(index_dir), collection: folders[collection]})
        skipped = [SkippedFile(f.source, f.reason or f.error) for f in record.files
                   if f.status in ("skipped", "failed") and f.collection == collection]
        chunk_total = manifest.chunk_count
        sentences_total, sentences_embedded = pending.sentences, pending.sentences_embedded
    seconds = time.perf_counter() - started
    logger.info("indexed %d files into %d chunks (%d embedded, %d reused) and %d sentences (%d embedded) "
                "in %.1fs", manifest.file_count, chunk_total, record.embedded, record.reused, sentences_total,
                sentences_embedded, seconds)
    return BuildReport(manifest, manifest.file_count, skipped, chunk_total, seconds,
                       embedded=record.embedded, reused=record.reused, files=record.files,
                       removed=record.removed, sentences=sentences_total, sentences_embedded=sentences_embedded)


def _read_and_plan(job: BuildJob, previous: Index | None, reader: Callable[..., list[_FileResult]], notes_dir: Path,
                   embedder: Embedder, folders: dict[str, str], nothing: IndexBuildError, *,
                   include: Sequence[str], max_file_bytes: int, read_limits: ReadLimits | None,
                   overlap_tokens: int, options: dict[str, Any]) -> PendingBuild:
    """Read the folder (only the files whose stat changed, with the plain reader) and plan a sync of
    `previous` or a full build."""
    collection = job.collection
    stat_reuse = {"reuse": reuse_unchanged(previous, collection, options)} if reader is read_files else {}
    results = in_collection(reader(notes_dir, embedder, include=include, max_file_bytes=max_file_bytes,
                                   read_limits=read_limits, overlap_tokens=overlap_tokens, **stat_reuse),
                            collection)
    if not any(r.count for r in results):
        raise nothing
    results = keep_unreadable_folders(results, previous, collection)
    if previous is not None and reader is read_files and syncable(previous, embedder, job.store_sentences):
        return job.sync(previous, results, folders)
    return job.full(previous, results, folders)


def _up_to_date_report(manifest: Manifest, record: BuildFiles, started: float) -> BuildReport:
    """The report of a sync that found nothing changed: the published build, nothing read."""
    files = [replace(f, status="unchanged", embedded=0, renamed_from="") if f.status == "indexed" else
             replace(f, embedded=0, renamed_from="") for f in record.files]
    skipped = [SkippedFile(f.source, f.reason or f.error) for f in files if f.status in ("skipped", "failed")]
    return BuildReport(manifest, manifest.file_count, skipped, manifest.chunk_count, time.perf_counter() - started,
                       reused=manifest.chunk_count, files=files, up_to_date=True)


def previous_build(index_dir: Path, *, sentences: bool = True) -> Index | None:
    """The build to reuse vectors and file records from: the published one, else (damaged) the
    newest build that verifies; None when there is none (then all is embedded)."""
    if not (index_dir / CURRENT).exists() and not (index_dir / CURRENT).is_symlink():
        return None
    try:
        index = load_current(index_dir, sentences=sentences)
        index.files  # noqa: B018 - read whole now: a sync reads every record, and a damaged one is not reused
        return index
    except SemsearchError as exc:
        logger.warning("not reusing the published build%s: %s", "'s sentence vectors" if sentences else "", exc)
    if sentences:  # damaged sentence files need not cost the chunk vectors
        return previous_build(index_dir, sentences=False)
    for path in build_dirs(index_dir):
        try:
            found = load_index(path, sentences=False)
            found.files  # noqa: B018 - as above
        except SemsearchError:
            continue
        logger.warning("reusing the vectors of the earlier build %s", found.build_id)
        return found
    return None
