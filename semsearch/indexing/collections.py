"""Removing a collection: publish a build without it (its passages, vectors and file records gone),
every other collection carried as it was, nothing read and nothing embedded: a sync that deletes
the collection's rows (its segments' other rows stay where they are until a merge)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..embedders import Embedder
from ..errors import IndexBuildError
from ..index.collections import read_registry, write_registry
from ..index.sentences import sentence_units
from ..index.status import BuildFiles
from ..index.writer import BuildMeta, write_build, write_sync
from ..records import DEFAULT_COLLECTION
from .build import BuildReport, index_lock, previous_build
from .file_record import carried_chunks, carried_files
from .jobs import syncable
from .reuse import EmbeddingCache, sentence_cache

logger = logging.getLogger(__name__)


def remove_collection(index_dir: Path, name: str, embedder: Embedder, *, store_sentences: bool = True,
                      batch_size: int = 64, wait: bool = False,
                      on_wait: Callable[[], None] | None = None) -> BuildReport | None:
    """Forget collection `name`: publish a build without its passages and drop it from the
    collections file. None when no build held it (it was only recorded). IndexBuildError for a
    collection that is not there, or the last one (an index needs passages)."""
    started = time.perf_counter()
    with index_lock(index_dir, wait=wait, on_wait=on_wait):
        registry = read_registry(index_dir)
        previous = previous_build(index_dir, sentences=store_sentences)
        held = previous is not None and name in previous.rows_by_collection
        if not held and name not in registry:
            names = sorted(set(registry) | set(previous.rows_by_collection if previous is not None else ()))
            raise IndexBuildError(f"There is no collection {name!r}; the collections are: "
                                  f"{', '.join(names) or 'none'}.")
        if previous is None or not held:
            write_registry(index_dir, {k: v for k, v in registry.items() if k != name})
            return None
        if set(previous.rows_by_collection) <= {name}:
            raise IndexBuildError(f"{name!r} is the only collection of the index; index another collection "
                                  "before removing it.")
        gone = sorted(f.source for f in previous.files.files
                      if f.collection == name and f.status in ("indexed", "unchanged"))
        folders = {k: v for k, v in previous.manifest.collections.items() if k != name}
        if not previous.manifest.collections and name != DEFAULT_COLLECTION:
            folders[DEFAULT_COLLECTION] = previous.manifest.notes_dir
        deleted = previous.rows_by_collection[name]
        kept = len(previous.chunks) - len(deleted)
        if syncable(previous, embedder, store_sentences):  # its rows deleted, nothing written again
            embedded = sentences_embedded = 0
            files = BuildFiles(carried_files(previous, name), reused=kept, removed=gone,
                               removed_from=[name] * len(gone))
            sentence_count = 0
            if store_sentences and previous.sentences is not None:
                sentence_count = previous.sentences.count() - int(previous.sentences.owned(deleted).sum())
            dim = previous.manifest.dim
            meta = BuildMeta(embedder.model_name, previous.manifest.chunking, _file_count(files), files,
                             folders.get(DEFAULT_COLLECTION, ""), folders)
            no_sentences = (np.zeros((0, dim), np.float32), np.zeros(0, np.int32)) if store_sentences else None
            manifest = write_sync(index_dir, previous, deleted, [], np.zeros((0, dim), np.float32), no_sentences,
                                  meta)
        else:  # another model's build: every other passage embedded again
            chunks = carried_chunks(previous, name)
            texts = [c.embed_text for c in chunks]
            vectors, embedded = EmbeddingCache.from_build(previous, embedder).embed(embedder, texts,
                                                                                    batch_size=batch_size)
            sentences, owner = sentence_units(chunks if store_sentences else [])
            sentence_array, sentences_embedded = sentence_cache(previous if store_sentences else None,
                                                                embedder).embed(embedder, sentences,
                                                                                batch_size=batch_size)
            sentence_count = len(sentences)
            files = BuildFiles(carried_files(previous, name), embedded=embedded, reused=len(chunks) - embedded,
                               removed=gone, removed_from=[name] * len(gone))
            manifest = write_build(
                index_dir, chunks, vectors, model_name=embedder.model_name, chunking=previous.manifest.chunking,
                file_count=_file_count(files), files=files,
                sentences=(sentence_array, owner) if store_sentences else None,
                notes_dir=folders.get(DEFAULT_COLLECTION, ""), collections=folders)
        write_registry(index_dir, {k: v for k, v in registry.items() if k != name})
    seconds = time.perf_counter() - started
    logger.info("removed collection %s (%d files) in %.1fs", name, len(gone), seconds)
    return BuildReport(manifest, manifest.file_count, [], kept, seconds, embedded=embedded,
                       reused=files.reused, files=files.files, removed=gone, sentences=sentence_count,
                       sentences_embedded=sentences_embedded)


def _file_count(files: BuildFiles) -> int:
    return sum(f.status in ("indexed", "unchanged") for f in files.files)
