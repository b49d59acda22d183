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
from dataclasses import dataclass, field
from pathlib import Path

from ..embedders import Embedder
from ..errors import IndexBuildError, IndexLockedError, SemsearchError
from ..index.format import CURRENT, Manifest, build_dirs, remove_partial_builds
from ..index.loader import Index, load_current, load_index
from ..index.sentences import sentence_units
from ..index.status import BuildFiles, FileState, FileStatus
from ..index.writer import write_build
from ..reading.chunking import TooManyPassagesError, chunk_note
from ..reading.files import DEFAULT_INCLUDE, DEFAULT_MAX_FILE_BYTES, iter_note_paths, read_note, shown_source
from ..records import Chunk, SkippedFile
from .reuse import EmbeddingCache, embed_in_batches, sentence_cache, text_key

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (chunks embedded so far, chunks to embed)

__all__ = ["BuildReport", "build_index", "collect_chunks", "embed_in_batches", "index_lock"]


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


@dataclass(slots=True)
class _FileResult:
    source: str
    chunks: list[Chunk] = field(default_factory=list)
    sha256: str = ""
    reason: str = ""  # skipped
    error: str = ""  # failed
    folder: bool = False  # `source` is a folder (`dir/`) that could not be listed


def read_files(notes_dir: Path, embedder: Embedder, *, include: Sequence[str], max_file_bytes: int,
               overlap_tokens: int) -> list[_FileResult]:
    """Read and chunk every note; a file that cannot be read or chunked is recorded, not raised."""
    real_root = notes_dir.resolve()
    unreadable: list[SkippedFile] = []
    skipped: list[SkippedFile] = []  # tool folders, the index, hidden files: said in status, never kept
    results = [read_file(path, notes_dir, embedder, max_file_bytes=max_file_bytes, overlap_tokens=overlap_tokens,
                         real_root=real_root)
               for path in iter_note_paths(notes_dir, include, unreadable=unreadable, skipped=skipped)]
    return (results + [_FileResult(folder.source, reason=folder.reason, folder=True) for folder in unreadable]
            + [_FileResult(item.source, reason=item.reason) for item in skipped])


def read_file(path: Path, notes_dir: Path, embedder: Embedder, *, max_file_bytes: int, overlap_tokens: int,
              real_root: Path | None = None) -> _FileResult:
    """Read and chunk one note (also a Ray task, `indexing/ray.py`); a failure is recorded, not raised."""
    budget = embedder.max_tokens - 2  # the model adds [CLS] and [SEP]
    result = _FileResult(shown_source(path, notes_dir))
    try:
        item = read_note(path, notes_dir, max_file_bytes=max_file_bytes, real_root=real_root)
        if isinstance(item, SkippedFile):
            result.reason = item.reason
        else:
            result.sha256 = hashlib.sha256(item.text.encode("utf-8")).hexdigest()
            result.chunks = chunk_note(item, max_tokens=budget, overlap_tokens=overlap_tokens,
                                       count_tokens=embedder.count_tokens)
    except TooManyPassagesError as exc:
        result.reason = str(exc)
    except Exception as exc:  # one bad file must not stop the build
        logger.warning("could not index %s: %s", result.source, exc, exc_info=True)
        result.error, result.chunks = f"{type(exc).__name__}: {exc}", []
    return result


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
    overlap_tokens: int = 32,
    batch_size: int = 64,
    progress: Progress | None = None,
    wait: bool = False,
    on_wait: Callable[[], None] | None = None,
    reader: Callable[..., list[_FileResult]] = read_files,  # read and chunk; Ray's: indexing/ray.py
    store_sentences: bool = True,
) -> BuildReport:
    """Build an index of `notes_dir` and publish it under `index_dir`, embedding only the chunks
    the previous build does not already hold. `wait`: wait for another build instead of failing.
    `store_sentences`: also store sentence vectors for the sentence stage (False: a faster build that
    ranks as the stage-off configuration does)."""
    started = time.perf_counter()
    if not notes_dir.is_dir():
        raise IndexBuildError(f"The notes folder {notes_dir} does not exist.")
    with index_lock(index_dir, wait=wait, on_wait=on_wait):
        remove_partial_builds(index_dir)
        results = reader(notes_dir, embedder, include=include, max_file_bytes=max_file_bytes,
                         overlap_tokens=overlap_tokens)
        chunks = [c for r in results for c in r.chunks]
        if not chunks:
            raise IndexBuildError(
                f"No notes to index in {notes_dir} (looked for {', '.join(include)}); "
                "the previous index is unchanged."
            )
        previous = previous_build(index_dir, sentences=store_sentences)
        results = keep_unreadable_folders(results, previous)
        chunks = [c for r in results for c in r.chunks]
        cache = EmbeddingCache.from_build(previous, embedder)
        new = {r.source: sum(cache.get(text_key(c.embed_text)) is None for c in r.chunks) for r in results}
        sentences, owner = sentence_units(chunks if store_sentences else [])
        sentence_vectors = sentence_cache(previous if store_sentences else None, embedder)
        chunk_total = cache.missing([c.embed_text for c in chunks])
        total = chunk_total + sentence_vectors.missing(sentences)
        vectors, embedded = cache.embed(embedder, [c.embed_text for c in chunks], batch_size=batch_size,
                                        progress=_offset(progress, 0, total))
        sentence_array, sentences_embedded = sentence_vectors.embed(
            embedder, sentences, batch_size=batch_size, progress=_offset(progress, chunk_total, total))
        record = file_record(results, previous, new, embedded=embedded,
                             reused=len(chunks) - sum(new.values()))
        skipped = [SkippedFile(f.source, f.reason or f.error) for f in record.files
                   if f.status in ("skipped", "failed")]
        manifest = write_build(
            index_dir, chunks, vectors,
            model_name=embedder.model_name,
            chunking={"max_tokens": embedder.max_tokens - 2, "overlap_tokens": overlap_tokens},
            file_count=len(results) - len(skipped),
            files=record,
            sentences=(sentence_array, owner) if store_sentences else None,
            notes_dir=str(notes_dir.absolute()),  # `get` and status read it from anywhere
        )
    seconds = time.perf_counter() - started
    logger.info("indexed %d files into %d chunks (%d embedded, %d reused) and %d sentences (%d embedded) "
                "in %.1fs", manifest.file_count, len(chunks), record.embedded, record.reused, len(sentences),
                sentences_embedded, seconds)
    return BuildReport(manifest, manifest.file_count, skipped, len(chunks), seconds,
                       embedded=record.embedded, reused=record.reused, files=record.files,
                       removed=record.removed, sentences=len(sentences), sentences_embedded=sentences_embedded)


def _offset(progress: Progress | None, start: int, total: int) -> Progress | None:
    """`progress` for one stage of the embedding: chunks first, then their sentences."""
    if progress is None:
        return None
    report = progress
    return lambda done, _total: report(start + done, total)


def previous_build(index_dir: Path, *, sentences: bool = True) -> Index | None:
    """The build to reuse vectors and file records from: the published one, else (damaged) the
    newest build that verifies; None when there is none (then all is embedded)."""
    if not (index_dir / CURRENT).exists() and not (index_dir / CURRENT).is_symlink():
        return None
    try:
        return load_current(index_dir, sentences=sentences)
    except SemsearchError as exc:
        logger.warning("not reusing the published build%s: %s", "'s sentence vectors" if sentences else "", exc)
    if sentences:  # damaged sentence files need not cost the chunk vectors
        return previous_build(index_dir, sentences=False)
    for path in build_dirs(index_dir):
        try:
            found = load_index(path, sentences=False)
        except SemsearchError:
            continue
        logger.warning("reusing the vectors of the earlier build %s", found.build_id)
        return found
    return None


def keep_unreadable_folders(results: list[_FileResult], previous: Index | None) -> list[_FileResult]:
    """The previous build's files under a folder that could not be listed this time stay in the
    index (skipped, with the reason, and their passages kept): an unreadable folder never makes its
    notes disappear."""
    folders = [r for r in results if r.folder]
    if not folders or previous is None:
        return results
    present = {r.source for r in results}
    by_source: dict[str, list[Chunk]] = {}
    for chunk in previous.chunks:
        by_source.setdefault(chunk.source, []).append(chunk)
    kept: list[_FileResult] = []
    for old in previous.files.files:
        folder = next((f for f in folders if f.source == "./" or old.source.startswith(f.source)), None)
        if folder is None or old.source in present or old.status not in ("indexed", "unchanged", "skipped"):
            continue
        if old.status == "skipped" and not by_source.get(old.source):
            continue
        kept.append(_FileResult(old.source, chunks=by_source.get(old.source, []), sha256=old.sha256,
                                reason=f"{folder.reason}; kept from the previous build"))
    return results + kept


def file_record(results: list[_FileResult], previous: Index | None, new: dict[str, int], *,
                embedded: int, reused: int) -> BuildFiles:
    """Each file's status against the previous build: same source and text is `unchanged`, the
    text of a file that is gone is `unchanged` with `renamed_from`, other readable files `indexed`."""
    before: dict[str, FileStatus] = {}
    if previous is not None:
        before = {s: f for s, f in previous.files.by_source().items() if f.sha256}
    present = {r.source for r in results}
    gone = {f.sha256: s for s, f in sorted(before.items(), reverse=True) if s not in present}
    files: list[FileStatus] = []
    for r in results:
        if r.error:
            files.append(FileStatus(r.source, "failed", error=r.error))
            continue
        if r.reason:
            files.append(FileStatus(r.source, "skipped", chunks=len(r.chunks), sha256=r.sha256, reason=r.reason))
            continue
        old = before.get(r.source)
        state: FileState = "unchanged"
        renamed_from = ""
        if old is None or old.sha256 != r.sha256:
            if r.sha256 in gone:
                renamed_from = gone.pop(r.sha256)
            else:
                state = "indexed"
        files.append(FileStatus(r.source, state, chunks=len(r.chunks), embedded=new[r.source],
                                sha256=r.sha256, renamed_from=renamed_from))
    renamed = {f.renamed_from for f in files}
    removed = sorted(s for s, f in before.items() if s not in present and s not in renamed
                     and f.status in ("indexed", "unchanged"))
    return BuildFiles(files, embedded=embedded, reused=reused, removed=removed)
