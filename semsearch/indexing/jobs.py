"""The two ways a read folder becomes a build: a sync of the previous build (`BuildJob.sync`: only
what changed is written, as a new segment and deleted rows) or a full build (`BuildJob.full`: one
segment of every passage, when there is no previous build to sync, another model made it, or
Ray reads the folder). Both embed only what the previous build does not already hold."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from ..embedders import Embedder
from ..index.chunk_table import ColumnValues
from ..index.format import Manifest
from ..index.glossary import GlossaryCounts
from ..index.loader import Index
from ..index.segments import SegmentData
from ..index.sentences import sentence_units
from ..index.status import BuildFiles
from ..index.writer import BuildMeta, segment_of, write_build, write_stream, write_sync
from ..records import DEFAULT_COLLECTION, Chunk
from .file_record import FileResult, carried_chunks, carried_files, file_record, in_collection
from .reuse import EmbeddingCache, sentence_cache, sentences_of_rows, text_key

logger = logging.getLogger(__name__)

SEGMENT_ROWS = 65_536  # a first build writes a segment each time it has read this many passages

Progress = Callable[[int, int], None]
Compaction = Literal["inline", "defer"]  # merge segments in the sync that trips the plan, or leave it for later


def syncable(previous: Index, embedder: Embedder, store_sentences: bool) -> bool:
    """Whether a sync can keep `previous`'s segments: the same model made it, and it holds sentence
    vectors when this build stores them."""
    m = previous.manifest
    return (m.model_name, m.dim) == (embedder.model_name, embedder.dim) and (
        not store_sentences or previous.sentences is not None)


Finish = Callable[[BuildFiles], BuildFiles]  # the file record as published, from the job's


@dataclass(slots=True)
class PendingBuild:
    """A build ready to write: `publish(finish)` writes and publishes it and returns its manifest
    and file record (a streamed build reads, embeds and counts its sentences as it writes)."""

    publish: Callable[[Finish], tuple[Manifest, BuildFiles]]
    sentences: int = 0  # sentences the build holds
    sentences_embedded: int = 0


def _offset(progress: Progress | None, start: int, total: int) -> Progress | None:
    """`progress` for one stage of the embedding: chunks first, then their sentences."""
    if progress is None:
        return None
    report = progress
    return lambda done, _total: report(start + done, total)


def _file_count(record: BuildFiles) -> int:
    return sum(f.status in ("indexed", "unchanged") for f in record.files)


@dataclass(slots=True)
class BuildJob:
    """One sync of `collection` into `index_dir`."""

    index_dir: Path
    embedder: Embedder
    collection: str
    batch_size: int
    progress: Progress | None
    store_sentences: bool
    overlap_tokens: int
    compaction: Compaction = "inline"  # "defer": a sync merges only past the writer's hard bounds

    def _meta(self, record: BuildFiles, folders: dict[str, str], names: set[str]) -> BuildMeta:
        return BuildMeta(self.embedder.model_name,
                         {"max_tokens": self.embedder.max_tokens - 2, "overlap_tokens": self.overlap_tokens},
                         _file_count(record), record, folders.get(DEFAULT_COLLECTION, ""),
                         {name: folders[name] for name in sorted(names | {self.collection})})

    def _embed(self, chunk_cache: EmbeddingCache, sentence_vectors: EmbeddingCache, chunks: list[Chunk]
               ) -> tuple[np.ndarray, int, list[str], np.ndarray, np.ndarray, int]:
        """Vectors of `chunks` and of their sentences, embedding what the caches lack."""
        sentences, owner = sentence_units(chunks if self.store_sentences else [])
        chunk_total = chunk_cache.missing([c.embed_text for c in chunks])
        total = chunk_total + sentence_vectors.missing(sentences)
        vectors, embedded = chunk_cache.embed(self.embedder, [c.embed_text for c in chunks],
                                              batch_size=self.batch_size, progress=_offset(self.progress, 0, total))
        sentence_array, sentences_embedded = sentence_vectors.embed(
            self.embedder, sentences, batch_size=self.batch_size,
            progress=_offset(self.progress, chunk_total, total))
        return vectors, embedded, sentences, sentence_array, owner, sentences_embedded

    def full(self, previous: Index | None, results: list[FileResult], folders: dict[str, str]) -> PendingBuild:
        """Every passage in one new segment (the other collections' carried as they were)."""
        for r in results:
            if r.rows is not None:
                r.chunks, r.rows = r.passages(previous), None
        carried = carried_chunks(previous, self.collection)
        chunks = [*carried, *(c for r in results for c in r.chunks)]
        cache = EmbeddingCache.from_build(previous, self.embedder)
        new = {r.source: sum(cache.get(text_key(c.embed_text)) is None for c in r.chunks) for r in results}
        carried_new = sum(cache.get(text_key(c.embed_text)) is None for c in carried)  # another model's
        vectors, embedded, sentences, sentence_array, owner, sentences_embedded = self._embed(
            cache, sentence_cache(previous if self.store_sentences else None, self.embedder), chunks)
        record = file_record(results, previous, new, embedded=embedded,
                             reused=len(chunks) - sum(new.values()) - carried_new,
                             collection=self.collection, carried=carried_files(previous, self.collection))
        names = {c.collection for c in chunks}

        def publish(finish: Finish) -> tuple[Manifest, BuildFiles]:
            files = finish(record)
            meta = self._meta(files, folders, names)
            return write_build(self.index_dir, chunks, vectors, model_name=meta.model_name, chunking=meta.chunking,
                               file_count=meta.file_count, files=files,
                               sentences=(sentence_array, owner) if self.store_sentences else None,
                               notes_dir=meta.notes_dir, collections=meta.collections), files

        return PendingBuild(publish, len(sentences), sentences_embedded)

    def sync(self, previous: Index, results: list[FileResult], folders: dict[str, str]) -> PendingBuild:
        """The previous build less the passages of files changed or gone, plus those files' new
        passages: a file read again whose passages are what they were keeps its rows."""
        places = previous.rows_by_place
        for r in results:
            old = places.get((self.collection, r.source)) if r.rows is None and r.chunks else None
            if old is not None and len(old) == len(r.chunks) and all(
                    previous.chunks[int(row)] == chunk for row, chunk in zip(old, r.chunks, strict=True)):
                r.rows, r.chunks = old, []
        kept = np.concatenate([r.rows for r in results if r.rows is not None] or [np.zeros(0, np.int64)])
        before = previous.rows_by_collection.get(self.collection, np.zeros(0, dtype=np.int64))
        deleted = np.setdiff1d(before, kept)
        chunks = [c for r in results if r.rows is None for c in r.chunks]
        cache = EmbeddingCache.from_rows(previous, deleted, self.embedder)
        new = {r.source: sum(cache.get(text_key(c.embed_text)) is None for c in r.chunks)
               for r in results if r.rows is None}
        sentence_vectors = (sentences_of_rows(previous, deleted, self.embedder) if self.store_sentences
                            else EmbeddingCache(self.embedder.model_name, self.embedder.dim))
        vectors, embedded, sentences, sentence_array, owner, sentences_embedded = self._embed(
            cache, sentence_vectors, chunks)
        total = len(previous.chunks) - len(deleted) + len(chunks)
        record = file_record(results, previous, new, embedded=embedded, reused=total - sum(new.values()),
                             collection=self.collection, carried=carried_files(previous, self.collection))
        names = set(previous.rows_by_collection)
        held = 0
        if self.store_sentences and previous.sentences is not None:
            held = previous.sentences.count() - int(previous.sentences.owned(deleted).sum())
        logger.info("sync: %d passages deleted, %d added", len(deleted), len(chunks))

        def publish(finish: Finish) -> tuple[Manifest, BuildFiles]:
            files = finish(record)
            return write_sync(self.index_dir, previous, deleted, chunks, vectors,
                              (sentence_array, owner) if self.store_sentences else None,
                              self._meta(files, folders, names), defer=self.compaction == "defer"), files

        return PendingBuild(publish, held + len(sentences), sentences_embedded)

    def stream(self, results: Iterable[FileResult], folders: dict[str, str], *, segment_rows: int,
               nothing: Exception) -> PendingBuild:
        """A first build written as it reads: a segment of each `segment_rows` passages, embedded
        and written before the next file is read, so what it holds is one segment's worth (and the
        small per-row and per-file records), whatever the folder's size. `nothing` is raised when
        no file has passages."""
        seen: list[FileResult] = []
        columns = ColumnValues([], [], [], [])
        counts = GlossaryCounts()
        embedded = 0

        def segment(batch: list[Chunk]) -> SegmentData:
            nonlocal columns, embedded
            empty = EmbeddingCache(self.embedder.model_name, self.embedder.dim)  # within the batch only
            vectors, done, sentences, sentence_array, owner, sentences_done = self._embed(
                empty, EmbeddingCache(self.embedder.model_name, self.embedder.dim), batch)
            embedded += done
            pending.sentences += len(sentences)
            pending.sentences_embedded += sentences_done
            counts.add(c.text for c in batch)
            columns = columns + ColumnValues.of(batch)
            return segment_of(batch, vectors, (sentence_array, owner) if self.store_sentences else None)

        def segments() -> Iterator[SegmentData]:
            batch: list[Chunk] = []
            for result in results:
                in_collection([result], self.collection)
                seen.append(result)
                batch += result.chunks
                result.written, result.chunks = len(result.chunks), []
                if len(batch) >= segment_rows:
                    yield segment(batch)
                    batch = []
            if batch:
                yield segment(batch)
            if not any(r.count for r in seen):
                raise nothing

        def publish(finish: Finish) -> tuple[Manifest, BuildFiles]:
            record: list[BuildFiles] = []

            def tail() -> tuple[ColumnValues, GlossaryCounts, BuildMeta]:
                new = {r.source: r.count for r in seen if not (r.reason or r.error)}
                record.append(finish(file_record(seen, None, new, embedded=embedded,
                                                 reused=len(columns.source) - embedded,
                                                 collection=self.collection)))
                return columns, counts, self._meta(record[0], folders, set())

            manifest = write_stream(self.index_dir, segments(), tail, self.embedder.dim)
            return manifest, record[0]

        pending = PendingBuild(publish)
        return pending
