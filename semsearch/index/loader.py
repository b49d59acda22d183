"""`Index`: one loaded, verified build, immutable; `load_index` is the one loader of every build file.

Every file is checked against the manifest's sha256 before it is parsed, and anything that does not
parse or does not fit the rest of the build is an `IndexCorruptError` naming the file. Values
derived from the build (rows per source here; exact-match texts and shingles in
`ranking.memo`) are computed on first use and belong to the build's objects, so a new build
never sees an old build's.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from ..errors import IndexCorruptError, IndexMismatchError
from ..records import Chunk
from .format import REBUILD, Manifest, current_build_dir, read_manifest, read_verified
from .glossary import Glossary, mine_glossary, read_glossary
from .lexical import LEXICAL_FILE, MATRIX_FILE, LexicalIndex, read_lexical
from .sentences import SENTENCE_OWNER_FILE, SENTENCES_FILE, SentenceIndex, read_sentences
from .status import FILES_FILE, BuildFiles
from .vectors import VectorStore, load_store

logger = logging.getLogger(__name__)
K = TypeVar("K", bound=Hashable)

VECTORS_FILE = "vectors.faiss"
CHUNKS_FILE = "chunks.jsonl"
GLOSSARY_FILE = "glossary.json"
REQUIRED_FILES = (VECTORS_FILE, CHUNKS_FILE, LEXICAL_FILE, MATRIX_FILE, GLOSSARY_FILE, FILES_FILE)
SENTENCE_FILES = (SENTENCES_FILE, SENTENCE_OWNER_FILE)


@dataclass(frozen=True, eq=False)
class Index:
    """A verified build in memory: its chunks (row i = vector id i), dense vectors, BM25 index,
    sentence vectors (None when the build has none or they were not asked for), acronym glossary
    and per-file record."""

    path: Path
    manifest: Manifest
    chunks: list[Chunk]
    vectors: VectorStore
    lexical: LexicalIndex
    sentences: SentenceIndex | None
    glossary: Glossary
    files: BuildFiles

    @property
    def build_id(self) -> str:
        return self.manifest.build_id

    @cached_property
    def rows_by_source(self) -> dict[str, npt.NDArray[np.int64]]:
        """The chunk rows of each source path, in every collection (evaluation's documents; filters
        use `rows_by_place`)."""
        return _group((row, chunk.source) for row, chunk in enumerate(self.chunks))

    @cached_property
    def rows_by_place(self) -> dict[tuple[str, str], npt.NDArray[np.int64]]:
        """The chunk rows of each (collection, source): a source is unique only within its collection."""
        return _group((row, (chunk.collection, chunk.source)) for row, chunk in enumerate(self.chunks))

    @cached_property
    def rows_by_collection(self) -> dict[str, npt.NDArray[np.int64]]:
        """The chunk rows of each collection, for filters."""
        return _group((row, chunk.collection) for row, chunk in enumerate(self.chunks))

    @cached_property
    def rows_by_tag(self) -> dict[str, npt.NDArray[np.int64]]:
        """The chunk rows carrying each tag, for filters."""
        return _group((row, tag) for row, chunk in enumerate(self.chunks) for tag in chunk.tags)

    @cached_property
    def chunk_dates(self) -> npt.NDArray[np.str_]:
        """Each chunk's ISO date ("" when it has none), for date filters (ISO dates sort as text)."""
        return np.asarray([chunk.date or "" for chunk in self.chunks], dtype="<U10")

    @cached_property
    def chunks_per_collection(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in self.rows_by_collection.items()}

    @cached_property
    def _scoped_glossaries(self) -> dict[frozenset[str], Glossary]:
        return {}

    def glossary_for(self, collections: frozenset[str] | None) -> Glossary:
        """The acronyms the notes of `collections` define (None, or every collection: the build's
        glossary), so that a scoped caller's query is never spelled out from notes it may not see.
        Mined on first use per scope and kept (a race mines twice, harmlessly)."""
        if collections is None or set(self.rows_by_collection) <= collections:
            return self.glossary
        found = self._scoped_glossaries.get(collections)
        if found is None:
            found = mine_glossary(chunk.text for chunk in self.chunks if chunk.collection in collections)
            self._scoped_glossaries[collections] = found
        return found


def _group(pairs: Iterable[tuple[int, K]]) -> dict[K, npt.NDArray[np.int64]]:
    """Row numbers grouped by key, from (row, key) pairs."""
    found: dict[K, list[int]] = {}
    for row, key in pairs:
        found.setdefault(key, []).append(row)
    return {key: np.asarray(group, dtype=np.int64) for key, group in found.items()}


def _parse_chunks(raw: bytes, where: Path) -> list[Chunk]:
    # one JSON object per "\n": not `splitlines()`, which also splits at U+2028 and friends,
    # characters JSON writes unescaped with ensure_ascii=False
    text = raw.decode("utf-8")
    return [Chunk.from_dict(json.loads(line)) for line in text.split("\n") if line]


def load_index(build_dir: Path, *, sentences: bool = True) -> Index:
    """Load one build, verifying every file before it is parsed. `sentences=False` leaves the
    sentence vectors on disk (for a ranking that does not use them)."""
    started = time.perf_counter()
    manifest = read_manifest(build_dir)
    present = set(manifest.files)
    missing = [name for name in REQUIRED_FILES if name not in present]
    if missing:
        raise IndexCorruptError(f"{build_dir} lacks {', '.join(missing)}. {REBUILD}")

    def read(name: str) -> bytes:
        return read_verified(build_dir, name, manifest)

    name = ""
    try:
        name = CHUNKS_FILE
        chunks = _parse_chunks(read(CHUNKS_FILE), build_dir / CHUNKS_FILE)
        name = VECTORS_FILE
        store = load_store(read(VECTORS_FILE), manifest.vector_store)
        name = LEXICAL_FILE
        lexical = read_lexical(read(LEXICAL_FILE), read(MATRIX_FILE), len(chunks))
        name = GLOSSARY_FILE
        glossary = read_glossary(read(GLOSSARY_FILE))
        name = FILES_FILE
        files = BuildFiles.from_json(read(FILES_FILE))
        name = SENTENCES_FILE
        sentence_index = None
        if sentences and SENTENCES_FILE in present:
            sentence_index = read_sentences(read(SENTENCES_FILE), read(SENTENCE_OWNER_FILE),
                                            chunks=len(chunks), dim=manifest.dim)
    except IndexCorruptError:
        raise
    except (ValueError, KeyError, TypeError, RuntimeError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"The index file {build_dir / name} is unreadable ({exc}). {REBUILD}") from None
    if store.count() != len(chunks) or len(chunks) != manifest.chunk_count or store.dim != manifest.dim:
        raise IndexCorruptError(f"{build_dir} has {store.count()} vectors for {len(chunks)} chunks. {REBUILD}")
    logger.info("loaded build %s (%d chunks) in %.3fs", manifest.build_id, len(chunks),
                time.perf_counter() - started)
    return Index(build_dir, manifest, chunks, store, lexical, sentence_index, glossary, files)


def check_model(index: Index, model_name: str, dim: int) -> None:
    """IndexMismatchError unless `index` was built by the model (and dimension) that will query it."""
    m = index.manifest
    if (m.model_name, m.dim) != (model_name, dim):
        raise IndexMismatchError(
            f"The index at {index.path.parent.parent} was built with {m.model_name} ({m.dim}-d) but the "
            f"configured model is {model_name}; rebuild it with `semsearch index` or set SEMSEARCH_MODEL.")


def load_current(index_dir: Path, *, model_name: str | None = None, dim: int | None = None,
                 sentences: bool = True) -> Index:
    """Load the published build; with `model_name`, check it was made by that model."""
    index = load_index(current_build_dir(index_dir), sentences=sentences)
    if model_name is not None:
        check_model(index, model_name, index.manifest.dim if dim is None else dim)
    return index
