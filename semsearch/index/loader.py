"""`Index`: one opened, checked build, immutable; `load_index` is the one loader of every build file.

Opening costs what the small files cost, not what the corpus does: the large files (passages,
vectors, BM25 arrays, sentence vectors) are memory-mapped after a check of their size and first and
last blocks, and small ones are hashed whole (`index.verify` says what is verified when). Passages
are parsed when shown (`chunk_table.ChunkTable`); what filters need of every row comes from the
build's columns. Anything that does not parse or does not fit the rest of the build is an
`IndexCorruptError` naming the file. Values derived from the build (rows per source here;
exact-match texts and shingles in `ranking.memo`) are computed on first use and belong to the
build's objects, so a new build never sees an old build's.
"""

from __future__ import annotations

import logging
import time
import zipfile
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from ..errors import IndexCorruptError, IndexMismatchError
from ..records import Chunk
from .chunk_table import COLUMNS_FILE, ChunkColumns
from .combined import CombinedChunks, CombinedSentences, CombinedStore, RowMap
from .format import REBUILD, Manifest, current_build_dir, read_manifest
from .glossary import Glossary, GlossaryCounts, mine_glossary, read_glossary
from .lexical import LEXICAL_FILE, LexicalIndex, LexicalPart, read_lexical
from .segments import SEGMENT_FILES, SENTENCE_FILES, Segment, open_segment, read_deletions, segment_path
from .sentences import SentenceIndex
from .status import FILES_FILE, BuildFiles
from .vectors import VectorSearch
from .verify import check_on_open, hashed_on_open, read_checked

logger = logging.getLogger(__name__)

GLOSSARY_FILE = "glossary.json"
GLOSSARY_COUNTS_FILE = "glossary_counts.json"
DELETED_FILE = "deleted.npz"
REQUIRED_FILES = (COLUMNS_FILE, LEXICAL_FILE, GLOSSARY_FILE, GLOSSARY_COUNTS_FILE, DELETED_FILE, FILES_FILE)
IdArray = npt.NDArray[np.int64]
K = TypeVar("K", bound=Hashable)
Sentences = SentenceIndex | CombinedSentences


@dataclass(frozen=True, eq=False)
class Index:
    """An opened build: its chunks (row i = vector id i; parsed on access), their metadata columns,
    dense vectors, BM25 index, sentence vectors (None when the build has none or they were not
    asked for), acronym glossary and per-file record."""

    path: Path
    manifest: Manifest
    chunks: Sequence[Chunk]
    vectors: VectorSearch
    lexical: LexicalIndex
    sentences: Sentences | None
    glossary: Glossary
    columns: ChunkColumns
    files_json: bytes | None = field(default=None, repr=False)  # files.json if verified on open (a small one)
    segments: tuple[Segment, ...] = ()
    rows: RowMap = field(default_factory=lambda: RowMap((), ()))

    @property
    def build_id(self) -> str:
        return self.manifest.build_id

    @cached_property
    def files(self) -> BuildFiles:
        """What became of each notes file (`files.json`), parsed on first use (status, a sync): it
        grows with the folder, and a search never needs it. A large one was checked by size and
        edges on open, and is read and hashed whole here."""
        try:
            raw = self.files_json if self.files_json is not None else read_checked(self.path, FILES_FILE,
                                                                                  self.manifest)
            return BuildFiles.from_json(raw)
        except IndexCorruptError:
            raise
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise IndexCorruptError(
                f"The index file {self.path / FILES_FILE} is unreadable ({exc}). {REBUILD}") from None

    def glossary_counts(self) -> GlossaryCounts:
        """What the glossary was mined from (`GlossaryCounts`), for a sync to update."""
        try:
            return GlossaryCounts.from_json(read_checked(self.path, GLOSSARY_COUNTS_FILE, self.manifest))
        except (ValueError, KeyError, TypeError) as exc:
            raise IndexCorruptError(
                f"The index file {self.path / GLOSSARY_COUNTS_FILE} is unreadable ({exc}). {REBUILD}") from None

    @cached_property
    def rows_by_source(self) -> dict[str, IdArray]:
        """The chunk rows of each source path, in every collection (evaluation's documents; filters
        use `rows_by_place`)."""
        c = self.columns
        return _group(c.source, np.arange(len(c.source)), c.source_names.__getitem__)

    @cached_property
    def rows_by_place(self) -> dict[tuple[str, str], IdArray]:
        """The chunk rows of each (collection, source): a source is unique only within its collection."""
        c = self.columns
        width = len(c.source_names)
        keys = c.collection.astype(np.int64) * width + c.source
        return _group(keys, np.arange(len(keys)),
                      lambda key: (c.collection_names[key // width], c.source_names[key % width]))

    @cached_property
    def rows_by_collection(self) -> dict[str, IdArray]:
        """The chunk rows of each collection, for filters."""
        c = self.columns
        return _group(c.collection, np.arange(len(c.collection)), c.collection_names.__getitem__)

    @cached_property
    def rows_by_tag(self) -> dict[str, IdArray]:
        """The chunk rows carrying each tag, for filters."""
        c = self.columns
        rows = np.repeat(np.arange(len(c.tag_starts) - 1), np.diff(c.tag_starts))
        return _group(c.tag, rows, c.tag_names.__getitem__)

    @cached_property
    def chunk_dates(self) -> npt.NDArray[np.str_]:
        """Each chunk's ISO date ("" when it has none), for date filters (ISO dates sort as text)."""
        return self.columns.date_names.array.astype("<U10")[self.columns.date] if len(self.columns.date) \
            else np.zeros(0, dtype="<U10")

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
            by_collection = self.rows_by_collection
            rows = np.sort(np.concatenate([by_collection[c] for c in collections if c in by_collection] or
                                          [np.zeros(0, dtype=np.int64)]))
            found = mine_glossary(self.chunks[int(row)].text for row in rows)
            self._scoped_glossaries[collections] = found
        return found


def _group(keys: np.ndarray, rows: np.ndarray, name: Callable[[int], K]) -> dict[K, IdArray]:
    """The rows of each key (rows[i] has keys[i]), ascending, keyed by `name(key)` in the order the
    keys first appear."""
    if not len(keys):
        return {}
    order = np.argsort(keys, kind="stable")
    groups = np.split(np.asarray(rows, dtype=np.int64)[order], np.flatnonzero(np.diff(keys[order])) + 1)
    firsts = np.split(order, np.flatnonzero(np.diff(keys[order])) + 1)
    ranked = sorted(zip((int(f[0]) for f in firsts), groups, strict=True), key=lambda pair: pair[0])
    return {name(int(keys[first])): group for first, group in ranked}


def load_index(build_dir: Path, *, sentences: bool = True) -> Index:
    """Open one build: the manifest and small files verified whole, the large files checked by size
    and edges and memory-mapped, or read (the per-row columns; a large `files.json` is read on first
    use) (`index.verify`). `sentences=False` leaves the sentence vectors
    unopened (for a ranking that does not use them)."""
    started = time.perf_counter()
    manifest = read_manifest(build_dir)
    present = set(manifest.files)
    with_sentences = sentences and all(segment_path(s["name"], f) in present
                                       for s in manifest.segments for f in SENTENCE_FILES)
    needed = [*REQUIRED_FILES, *(segment_path(s["name"], f) for s in manifest.segments for f in SEGMENT_FILES)]
    missing = [name for name in needed if name not in present]
    if missing or not manifest.segments:
        raise IndexCorruptError(f"{build_dir} lacks {', '.join(missing) or 'segments'}. {REBUILD}")

    def read(name: str) -> bytes:
        return read_checked(build_dir, name, manifest, on_open=True)

    def checked(name: str) -> Path:
        return check_on_open(build_dir, name, manifest)

    name = ""
    try:
        segments: list[Segment] = []
        for entry in manifest.segments:
            name = segment_path(entry["name"], "")
            segments.append(open_segment(entry["name"], entry["rows"], manifest.dim, entry["vector_store"],
                                         checked=checked, read=read, sentences=with_sentences))
        name = DELETED_FILE
        deleted = read_deletions(read(DELETED_FILE), {s.name: s.rows for s in segments})
        rows = RowMap.of([s.rows for s in segments], [deleted.get(s.name, np.zeros(0, np.int64)) for s in segments])
        name = COLUMNS_FILE
        columns = ChunkColumns.from_bytes(read(COLUMNS_FILE), rows.size)
        name = LEXICAL_FILE
        lexical = read_lexical(read(LEXICAL_FILE), [
            LexicalPart(s.counts, int(rows.offsets[i]), rows.to_global(i)) for i, s in enumerate(segments)])
        name = GLOSSARY_FILE
        glossary = read_glossary(read(GLOSSARY_FILE))
        name = FILES_FILE
        files_json = read(FILES_FILE) if hashed_on_open(manifest, FILES_FILE) else None
        if files_json is None:  # read, hashed and parsed on first use (`Index.files`)
            checked(FILES_FILE)
    except IndexCorruptError:
        raise
    except (ValueError, KeyError, TypeError, RuntimeError, UnicodeDecodeError, OSError, zipfile.BadZipFile) as exc:
        raise IndexCorruptError(f"The index file {build_dir / name} is unreadable ({exc}). {REBUILD}") from None
    if rows.size != manifest.chunk_count:
        raise IndexCorruptError(f"{build_dir} has {rows.size} rows for {manifest.chunk_count} chunks. {REBUILD}")
    whole = len(segments) == 1 and rows.live[0] is None
    chunks: Sequence[Chunk] = segments[0].chunks if whole else CombinedChunks(segments, rows)
    vectors: VectorSearch = segments[0].store if whole else CombinedStore(segments, rows)
    sentence_index: Sentences | None = None
    if with_sentences:
        sentence_index = segments[0].sentences if whole else CombinedSentences(segments, rows)
    logger.info("opened build %s (%d chunks in %d segments) in %.3fs", manifest.build_id, rows.size,
                len(segments), time.perf_counter() - started)
    return Index(build_dir, manifest, chunks, vectors, lexical, sentence_index, glossary, columns, files_json,
                 tuple(segments), rows)


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
