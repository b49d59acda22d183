"""Writing builds: a full build (`write_build`, one segment) or a sync's (`write_sync`: the previous
build's segments, linked, less the rows it deleted, plus one segment of what it read), each written
durably, verified and published atomically.

The writer derives what the build holds of its passages (term counts, glossary counts, metadata
columns) or takes it from the caller (vectors, sentence vectors, the per-file record), writes each
new file durably, then reads the build back (every new file hashed whole by `verify_build`, the
build opened by the one loader, `load_index`) before `CURRENT` names it. A sync keeps the number of
segments and the share of deleted rows bounded by merging (`compaction_plan`).
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexBuildError
from ..records import Chunk
from ..version import __version__
from . import verify
from .chunk_table import COLUMNS_FILE, ColumnValues, chunk_line
from .format import (
    BUILDS,
    MANIFEST_FILE,
    Manifest,
    fsync_dir,
    new_build_id,
    prune_builds,
    publish,
    sha256,
    write_array_durably,
    write_durably,
)
from .glossary import GlossaryCounts
from .lexical import LEXICAL_FILE, LexicalIndex, TermCounts, lexical_parameters, tokenize, tokenize_as
from .loader import DELETED_FILE, GLOSSARY_COUNTS_FILE, GLOSSARY_FILE, Index, load_index
from .segments import SEGMENTS, Segment, SegmentData, deletions_file, gather, new_segment_name, segment_path
from .status import FILES_FILE, BuildFiles
from .vectors import VectorStore
from .verify import edges_digest, verify_build

logger = logging.getLogger(__name__)

SETTLED_ROWS = 32_768  # a segment this large (with at most MAX_DELETED_SHARE deleted) is left as it is
MAX_DELETED_SHARE = 0.25  # more of a segment deleted, and it is merged with every later one
MAX_SMALL = 4  # more segments after the settled ones, and they are merged into one
# A sync that defers compaction (`semsearch index --watch`) still merges past these: search looks at
# no more than 4x the segments, and deleted rows hold no more than half of a segment, when the
# folder is never quiet long enough for the idle compaction.
DEFERRED_MAX_SMALL = 4 * MAX_SMALL
DEFERRED_DELETED_SHARE = 0.5


@dataclass(slots=True)
class BuildMeta:
    """What a build's manifest says besides its files."""

    model_name: str
    chunking: dict[str, Any]
    file_count: int
    files: BuildFiles | None = None
    notes_dir: str = ""
    collections: dict[str, str] | None = None


def segment_of(chunks: Sequence[Chunk], vectors: np.ndarray, sentences: tuple[np.ndarray, np.ndarray] | None,
               like: LexicalIndex | None = None) -> SegmentData:
    """A new segment's data for `chunks` (row i has vector `vectors[i]`): their lines and term counts
    (tokenized as `like` tokenizes, when given: a sync's)."""
    texts = [c.embed_text for c in chunks]
    counts = TermCounts.from_tokens(tokenize(texts) if like is None else tokenize_as(texts, like))
    return SegmentData([chunk_line(c) for c in chunks], np.asarray(vectors, dtype=np.float32), counts, sentences)


def write_build(
    index_dir: Path,
    chunks: list[Chunk],
    vectors: np.ndarray,
    *,
    model_name: str,
    chunking: dict[str, Any],
    file_count: int,
    files: BuildFiles | None = None,
    sentences: tuple[np.ndarray, np.ndarray] | None = None,
    notes_dir: str = "",
    store: VectorStore | None = None,
    collections: dict[str, str] | None = None,
) -> Manifest:
    """Write, verify and publish a build of `chunks` (row i has vector `vectors[i]`), one segment.
    `sentences`: (sentence vectors, owning chunk row of each), for the sentence stage. `store`: an
    empty vector store to fill instead of the one chosen by size. On any failure nothing is
    published and the partial build directory is removed."""
    if len(chunks) != len(vectors):
        raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
    dim = int(vectors.shape[1]) if vectors.ndim == 2 else 0
    meta = BuildMeta(model_name, chunking, file_count, files, notes_dir, collections)
    return _write(index_dir, None, [], [(segment_of(chunks, vectors, sentences), store)], {},
                  lambda: (ColumnValues.of(chunks), GlossaryCounts.of(c.text for c in chunks), meta), dim)


def write_sync(index_dir: Path, previous: Index, deleted: np.ndarray, chunks: list[Chunk], vectors: np.ndarray,
               sentences: tuple[np.ndarray, np.ndarray] | None, meta: BuildMeta, *, compact: bool = False,
               defer: bool = False) -> Manifest:
    """Publish `previous` less its build rows `deleted`, plus `chunks` (with their vectors and
    sentence vectors) as a new segment: only the new segment and the build's small files are
    written; the previous segments are linked. Segments are merged when `compaction_plan` (or
    `compact`) says so; with `defer`, only past its hard bounds."""
    dim = previous.manifest.dim
    deleted = np.unique(np.asarray(deleted, dtype=np.int64))
    kept = np.setdiff1d(np.arange(len(previous.chunks), dtype=np.int64), deleted)
    gone = {s: local for s, _, local in previous.rows.split(deleted)}
    live = [np.setdiff1d(previous.rows.live_rows(s), gone.get(s, np.zeros(0, np.int64)))
            for s in range(len(previous.segments))]
    counts = previous.glossary_counts()
    counts.add((previous.chunks[int(r)].text for r in deleted), -1)
    counts.add(c.text for c in chunks)
    columns = previous.columns.values(kept) + ColumnValues.of(chunks)
    fresh = segment_of(chunks, vectors, sentences, previous.lexical) if chunks else None
    parts = [(segment, rows) for segment, rows in zip(previous.segments, live, strict=True) if len(rows)]
    merge_from = compaction_plan([(s.rows, len(rows)) for s, rows in parts], len(chunks), compact, defer=defer)
    linked = parts[:merge_from]
    new: list[tuple[SegmentData, VectorStore | None]] = []
    if merge_from < len(parts):
        merged = gather(parts[merge_from:], dim, sentences=sentences is not None)
        logger.info("merging %d segments (%d rows)", len(parts) - merge_from, len(merged.lines))
        new.append((_joined(merged, fresh) if fresh is not None else merged, None))
    elif fresh is not None:
        new.append((fresh, None))
    deletions = {s.name: np.setdiff1d(np.arange(s.rows), rows) for s, rows in linked if len(rows) < s.rows}
    return _write(index_dir, previous, [s for s, _ in linked], new, deletions, lambda: (columns, counts, meta), dim)


def compaction_plan(parts: Sequence[tuple[int, int]], adding: int, force: bool = False, *,
                    defer: bool = False) -> int:
    """Of the segments (stored rows, live rows) a sync keeps, before one of `adding` rows: how many
    to keep as they are; the rest are merged with the new rows into one segment (a size-tiered
    policy). The leading *settled* segments (SETTLED_ROWS live rows or more, at most
    MAX_DELETED_SHARE deleted) stay; the ones after them are merged when one of them has more than
    MAX_DELETED_SHARE deleted or when there would be more than MAX_SMALL of them. Everything is
    merged when forced. `defer`: nothing is merged unless a segment has more than
    DEFERRED_DELETED_SHARE deleted or there would be more than DEFERRED_MAX_SMALL unsettled ones."""
    if force:
        return 0
    settled = 0
    for stored, live in parts:
        if live < SETTLED_ROWS or stored - live > MAX_DELETED_SHARE * stored:
            break
        settled += 1
    rest = parts[settled:]
    if defer and len(rest) + (adding > 0) <= DEFERRED_MAX_SMALL and \
            all(stored - live <= DEFERRED_DELETED_SHARE * stored for stored, live in parts):
        return len(parts)
    if any(stored - live > MAX_DELETED_SHARE * stored for stored, live in rest) or \
            len(rest) + (adding > 0) > MAX_SMALL:
        return settled
    return len(parts)


def _joined(first: SegmentData, second: SegmentData) -> SegmentData:
    """One segment of `first`'s rows, then `second`'s."""
    counts = TermCounts.gather([(first.counts, np.arange(len(first.lines))),
                                (second.counts, np.arange(len(second.lines)))])
    sentences = None
    if first.sentences is not None and second.sentences is not None:
        sentences = (np.concatenate([first.sentences[0], second.sentences[0]]),
                     np.concatenate([first.sentences[1], second.sentences[1] + len(first.lines)]).astype(np.int32))
    return SegmentData(first.lines + second.lines, np.concatenate([first.vectors, second.vectors]), counts,
                       sentences)


Tail = Callable[[], tuple[ColumnValues, GlossaryCounts, BuildMeta]]


def write_stream(index_dir: Path, segments: Iterable[SegmentData], tail: Tail, dim: int) -> Manifest:
    """Publish a build of the segments `segments` yields, each written before the next is asked
    for (a first build reads and embeds as it goes); `tail()`, called after the last, gives the
    build's columns, glossary counts and manifest facts."""
    def pairs() -> Iterator[tuple[SegmentData, VectorStore | None]]:
        for data in segments:
            yield data, None
            del data  # written: let it go before the next segment is made

    return _write(index_dir, None, [], pairs(), {}, tail, dim)


def _write(index_dir: Path, previous: Index | None, linked: list[Segment],
           new: Iterable[tuple[SegmentData, VectorStore | None]], deleted: dict[str, np.ndarray],
           tail: Tail, dim: int) -> Manifest:
    """Write the build: `linked` segments hard-linked from `previous`, `new` ones written, then the
    build's own files from `tail()`; verify and publish it."""
    build_id = new_build_id()
    build_dir = index_dir / BUILDS / build_id
    try:
        build_dir.mkdir(parents=True)
        written: dict[str, tuple[str, int, str]] = {}  # name -> (sha256, size, edges) of each new file

        def put(name: str, data: bytes | np.ndarray) -> None:  # one file at a time, arrays not copied
            if isinstance(data, np.ndarray):
                written[name] = write_array_durably(build_dir / name, data, verify.EDGE_BYTES)
            else:
                write_durably(build_dir / name, data)
                written[name] = (sha256(data), len(data), edges_digest(data))

        entries: list[dict[str, Any]] = []
        linked_names: list[str] = []
        for segment in linked:
            assert previous is not None
            entries.append(next(e for e in previous.manifest.segments if e["name"] == segment.name))
            prefix = segment_path(segment.name, "")
            names = [name for name in previous.manifest.files if name.startswith(prefix)]
            (build_dir / prefix).mkdir(parents=True)
            for name in names:
                _link(previous.path / name, build_dir / name)
            linked_names += names
        for data, store in new:
            name = new_segment_name()
            (build_dir / SEGMENTS / name).mkdir(parents=True)
            description, files = data.files(dim, store)
            for file, raw in files:
                put(segment_path(name, file), raw)
            entries.append({"name": name, "rows": len(data.lines), "vector_store": description})
            del data, files
        columns, counts, meta = tail()
        rows = len(columns.source)
        put(COLUMNS_FILE, columns.to_bytes())
        put(LEXICAL_FILE, previous.lexical.parameters_json() if previous is not None else lexical_parameters())
        put(GLOSSARY_FILE, counts.glossary().to_json())
        put(GLOSSARY_COUNTS_FILE, counts.to_json())
        put(DELETED_FILE, deletions_file(deleted))
        put(FILES_FILE, (meta.files or BuildFiles([])).to_json())
        old = previous.manifest if previous is not None else None

        def recorded(part: int) -> dict[str, Any]:
            return {**{n: getattr(old, ("files", "sizes", "edges")[part])[n] for n in linked_names if old},
                    **{n: facts[part] for n, facts in written.items()}}

        manifest = Manifest(
            build_id=build_id, created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            model_name=meta.model_name, dim=dim, chunk_count=rows, file_count=meta.file_count,
            chunking=meta.chunking, files=recorded(0),
            vector_store=entries[0]["vector_store"] if entries else "", notes_dir=meta.notes_dir,
            semsearch_version=__version__, collections=dict(meta.collections or {}),
            sizes=recorded(1), edges=recorded(2), segments=entries,
        )
        write_durably(build_dir / MANIFEST_FILE, manifest.to_json())
        for folder in {build_dir / SEGMENTS / e["name"] for e in entries}:
            fsync_dir(folder)
        fsync_dir(build_dir / SEGMENTS)
        fsync_dir(build_dir)
        verify_build(build_dir, only=set(written))  # read every new file back, whole, before anyone sees it
        load_index(build_dir)
        publish(index_dir, build_id)
    except BaseException as exc:
        shutil.rmtree(build_dir, ignore_errors=True)
        if isinstance(exc, OSError):
            raise IndexBuildError(
                f"Could not write the index to {index_dir}: {exc.strerror or exc}; "
                "the previous index is unchanged."
            ) from exc
        raise
    prune_builds(index_dir)
    logger.info("published build %s (%d chunks, %d segments)", build_id, rows, len(entries))
    return manifest


def _link(source: Path, target: Path) -> None:
    """`target` as a hard link to the build file `source` (a copy where links are not supported)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
