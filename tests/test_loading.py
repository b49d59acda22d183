"""Opening a build without reading it (issue 23): the mapped, lazy path ranks exactly as the eager
one, and what is verified when (small files on open, large ones by size and edges, everything by
`verify_build`, in the background of a server, and by `semsearch status --verify`)."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.errors import IndexCorruptError
from semsearch.filters import Filter
from semsearch.index import verify
from semsearch.index.chunk_table import CHUNKS_FILE, ChunkTable
from semsearch.index.format import BUILDS, read_manifest
from semsearch.index.lexical import LexicalIndex, LexicalPart, TermCounts
from semsearch.index.loader import Index, load_current, load_index
from semsearch.index.segments import VECTORS_FILE, file_in_build, segment_path
from semsearch.index.sentences import SENTENCES_FILE, SentenceIndex
from semsearch.index.vectors import load_store
from semsearch.index.verify import verify_build
from semsearch.indexing.build import build_index
from semsearch.live import LiveIndex
from semsearch.search import Searcher
from services.main import main

WORDS = ("vault rotate keys dropout keras tomatoes water cluster deploy rollback latency shard replica "
         "cache eviction retry backoff schema migration snapshot backup certificate gradient optimizer").split()
QUERIES = ["rotate the vault keys", "inverted dropout", '"cache eviction"', "water tomatoes early",
           "cluster rollback latency", "certificate backup snapshot", "gradient optimizer keras", "shard"]


def _notes(root: Path, files: int = 40) -> Path:
    rng = random.Random(23)
    for n in range(files):
        tags = rng.sample(["ops", "ml", "garden", "db"], k=rng.randint(0, 2))
        body = "\n\n".join(" ".join(rng.choices(WORDS, k=rng.randint(8, 30))).capitalize() + "."
                           for _ in range(rng.randint(1, 4)))
        (root / f"area{n % 3}").mkdir(parents=True, exist_ok=True)
        (root / f"area{n % 3}" / f"note{n}.md").write_text(
            f"---\ntags: [{', '.join(tags)}]\ndate: 2025-0{1 + n % 9}-1{n % 10}\n---\n"
            f"# {rng.choice(WORDS).title()}\n\n{body}\n\n## {rng.choice(WORDS).title()}\n\n{body[::-1]}\n")
    return root


def _eager(index: Index) -> Index:
    """The same build held the way format 2 loaded it: chunks in a list, arrays in memory."""
    sentences = index.sentences
    lexical = index.lexical
    store = load_store((index.path / file_in_build(index.manifest, VECTORS_FILE)).read_bytes(),
                       index.manifest.vector_store)
    counts = lexical.parts[0].counts
    copied = TermCounts(dict(counts.vocab), np.array(counts.tf), np.array(counts.rows), np.array(counts.indptr),
                        np.array(counts.lengths))
    return dataclasses.replace(
        index, chunks=list(index.chunks), vectors=store,
        lexical=LexicalIndex([LexicalPart(copied)], lexical.stopwords, lexical.k1, lexical.b),
        sentences=None if sentences is None else SentenceIndex(np.asarray(sentences.vectors, dtype=np.float32),
                                                               sentences.starts))


def _grouped(pairs: list[tuple[int, object]]) -> dict[object, list[int]]:
    found: dict[object, list[int]] = {}
    for row, key in pairs:
        found.setdefault(key, []).append(row)
    return found


def test_the_mapped_lazy_build_ranks_exactly_as_the_eager_one(tmp_path: Path, embedder: HashingEmbedder) -> None:
    build_index(_notes(tmp_path / "notes"), tmp_path / "index", embedder)
    lazy = load_current(tmp_path / "index")
    assert isinstance(lazy.chunks, ChunkTable)
    eager = _eager(lazy)
    chunks = list(lazy.chunks)
    # the columns give what iterating every chunk gave, in the same order
    assert {k: list(v) for k, v in lazy.rows_by_tag.items()} == _grouped(
        [(r, t) for r, c in enumerate(chunks) for t in c.tags])
    assert {k: list(v) for k, v in lazy.rows_by_place.items()} == _grouped(
        [(r, (c.collection, c.source)) for r, c in enumerate(chunks)])
    assert list(lazy.rows_by_collection) == list(_grouped([(r, c.collection) for r, c in enumerate(chunks)]))
    assert lazy.chunk_dates.tolist() == [c.date or "" for c in chunks]
    filters = [None, Filter(tags_any=("ops", "db")), Filter(tags_all=("ml",)), Filter(path="area1/*"),
               Filter(since="2025-03", until="2025-06")]
    a, b = Searcher(lazy, embedder), Searcher(eager, embedder)
    for query in QUERIES:
        for found in filters:
            for top_k in (1, 5, 20):
                x, y = a.search(query, top_k=top_k, filter=found), b.search(query, top_k=top_k, filter=found)
                assert x.hits == y.hits, (query, found)  # chunks, scores, ranks, copies: all identical
                assert x.abstained == y.abstained


def _small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every file but the tiniest count as large, so opening checks only sizes and edges."""
    monkeypatch.setattr(verify, "FULL_CHECK_BYTES", 256)
    monkeypatch.setattr(verify, "EDGE_BYTES", 64)


def _flip_middle(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_large_file_is_checked_by_size_and_edges_on_open_and_whole_by_verify_build(
        tmp_path: Path, embedder: HashingEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    _small_limits(monkeypatch)
    build = build_index(_notes(tmp_path / "notes"), tmp_path / "index", embedder)
    folder = tmp_path / "index" / BUILDS / build.manifest.build_id
    manifest = read_manifest(folder)
    assert not verify.fully_checked_on_open(manifest)
    sentences = folder / file_in_build(manifest, SENTENCES_FILE)
    pristine = sentences.read_bytes()
    _flip_middle(sentences)
    load_index(folder)  # a flipped byte in the middle of a large file is not seen on open ...
    with pytest.raises(IndexCorruptError, match=r"sentences\.npy is corrupt \(checksum mismatch\)"):
        verify_build(folder)  # ... but by the full verification
    for damaged in (pristine[:-1], pristine + b"\0", bytes([pristine[0] ^ 1]) + pristine[1:],
                    pristine[:-1] + bytes([pristine[-1] ^ 1])):  # shorter, longer, first or last block changed
        sentences.write_bytes(damaged)
        with pytest.raises(IndexCorruptError, match=r"sentences\.npy is corrupt"):
            load_index(folder)


def test_a_served_build_that_fails_its_background_verification_is_dropped(
        tmp_path: Path, embedder: HashingEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    _small_limits(monkeypatch)
    notes = _notes(tmp_path / "notes")
    first = build_index(notes, tmp_path / "index", embedder).manifest.build_id
    (notes / "extra.md").write_text("# Sourdough\n\nFeed the starter flour and water daily.\n")
    second = build_index(notes, tmp_path / "index", embedder).manifest.build_id
    newest = tmp_path / "index" / BUILDS / second  # its own segment: the first one is the earlier build's too
    _flip_middle(newest / segment_path(read_manifest(newest).segments[-1]["name"], CHUNKS_FILE))
    live = LiveIndex(tmp_path / "index", embedder, reload_interval=0.0)
    live.refresh(force=True)
    live.wait_verified(timeout=30)
    assert live.searcher().index.build_id == first  # the earlier good build serves instead
    assert not live.refresh()  # and the damaged one is not retried
    live.wait_verified(timeout=30)
    assert live.searcher().index.build_id == first


def test_status_verify_hashes_every_file(tmp_path: Path, embedder: HashingEmbedder,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _small_limits(monkeypatch)
    build = build_index(_notes(tmp_path / "notes"), tmp_path / "index", embedder)
    args = ["status", "--verify", "--index-dir", str(tmp_path / "index")]
    ok = CliRunner().invoke(main, args)
    assert ok.exit_code == 0 and "every file matches its checksum" in ok.output
    _flip_middle(tmp_path / "index" / BUILDS / build.manifest.build_id / file_in_build(build.manifest, CHUNKS_FILE))
    assert CliRunner().invoke(main, args[:1] + args[2:]).exit_code == 0  # a plain status does not read it all
    bad = CliRunner().invoke(main, args)
    assert bad.exit_code == 1 and "chunks.jsonl is corrupt (checksum mismatch)" in bad.output


def test_a_large_files_json_is_checked_by_edges_on_open_and_hashed_whole_when_first_read(
        tmp_path: Path, embedder: HashingEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    _small_limits(monkeypatch)
    notes = _notes(tmp_path / "notes")
    build = build_index(notes, tmp_path / "index", embedder)
    folder = tmp_path / "index" / BUILDS / build.manifest.build_id
    _flip_middle(folder / "files.json")
    index = load_index(folder)  # a search never reads the per-file record
    with pytest.raises(IndexCorruptError, match=r"files\.json is corrupt \(checksum mismatch\)"):
        _ = index.files
    again = build_index(notes, tmp_path / "index", embedder)  # a sync does not trust the damaged record
    assert again.manifest.build_id != build.manifest.build_id
    published = load_current(tmp_path / "index")
    assert sorted(f.source for f in published.files.files) == sorted(p.relative_to(notes).as_posix()
                                                                      for p in notes.rglob("*.md"))


def test_damaged_per_row_columns_are_refused_on_open(tmp_path: Path, embedder: HashingEmbedder,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """`chunk_columns.npz` is read whole on open, so even a large one with a flipped byte in the
    middle (its edges intact) is refused: the archive's own CRC of each array catches it."""
    _small_limits(monkeypatch)
    build = build_index(_notes(tmp_path / "notes"), tmp_path / "index", embedder)
    folder = tmp_path / "index" / BUILDS / build.manifest.build_id
    _flip_middle(folder / "chunk_columns.npz")
    with pytest.raises(IndexCorruptError, match=r"chunk_columns\.npz is (unreadable|corrupt)"):
        load_index(folder)
