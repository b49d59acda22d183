"""Notes folder -> published index: read, chunk, embed, store."""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from .chunking import chunk_note
from .embedders import Embedder
from .errors import IndexBuildError, IndexLockedError
from .ingest import DEFAULT_INCLUDE, DEFAULT_MAX_FILE_BYTES, read_notes
from .lexical import lexical_files
from .records import Chunk, SkippedFile
from .store import Manifest, write_build

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (chunks embedded so far, total chunks)


@dataclass(slots=True)
class BuildReport:
    """What a build did, for the summary line and `semsearch status`."""

    manifest: Manifest
    files_read: int
    skipped: list[SkippedFile] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0


@contextmanager
def index_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index directory's build lock, or raise IndexLockedError at once."""
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / ".lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexLockedError(
                f"Another `semsearch index` is building {index_dir}; wait for it to finish."
            ) from None
        yield
    finally:
        os.close(fd)


def collect_chunks(
    notes_dir: Path, embedder: Embedder, *, include: Sequence[str], max_file_bytes: int,
    overlap_tokens: int,
) -> tuple[list[Chunk], int, list[SkippedFile]]:
    """Read and chunk every note; returns (chunks, files read, files skipped)."""
    chunks: list[Chunk] = []
    skipped: list[SkippedFile] = []
    files = 0
    budget = embedder.max_tokens - 2  # the model adds [CLS] and [SEP]
    for item in read_notes(notes_dir, include=include, max_file_bytes=max_file_bytes):
        if isinstance(item, SkippedFile):
            skipped.append(item)
            continue
        files += 1
        chunks += chunk_note(item, max_tokens=budget, overlap_tokens=overlap_tokens,
                             count_tokens=embedder.count_tokens)
    return chunks, files, skipped


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
) -> BuildReport:
    """Build an index of `notes_dir` and publish it under `index_dir`."""
    started = time.perf_counter()
    if not notes_dir.is_dir():
        raise IndexBuildError(f"The notes folder {notes_dir} does not exist.")
    with index_lock(index_dir):
        chunks, files, skipped = collect_chunks(
            notes_dir, embedder, include=include, max_file_bytes=max_file_bytes,
            overlap_tokens=overlap_tokens,
        )
        if not chunks:
            raise IndexBuildError(
                f"No notes to index in {notes_dir} (looked for {', '.join(include)}); "
                "the previous index is unchanged."
            )
        vectors = embed_in_batches(embedder, [c.embed_text for c in chunks], batch_size, progress)
        manifest = write_build(
            index_dir, chunks, vectors,
            model_name=embedder.model_name,
            chunking={"max_tokens": embedder.max_tokens - 2, "overlap_tokens": overlap_tokens},
            file_count=files,
            notes_dir=str(notes_dir),
            skipped=[{"source": s.source, "reason": s.reason} for s in skipped],
            version=__version__,
            extra_files=lexical_files(chunks),
        )
    seconds = time.perf_counter() - started
    logger.info("indexed %d files into %d chunks in %.1fs", files, len(chunks), seconds)
    return BuildReport(manifest, files, skipped, len(chunks), seconds)


def embed_in_batches(embedder: Embedder, texts: list[str], batch_size: int,
                     progress: Progress | None = None) -> np.ndarray:
    """Embed longest-first in batches (less padding), returning vectors in the input order."""
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        ids = order[start : start + batch_size]
        out[ids] = embedder.embed_documents([texts[i] for i in ids])
        if progress:
            progress(min(start + batch_size, len(texts)), len(texts))
    return out
