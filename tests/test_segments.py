"""Segments (issue 23): a sync writes what changed as a new segment and deleted rows, links the
rest, merges segments within bounds, and searches exactly as a full rebuild of the same folder."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.index import writer
from semsearch.index.combined import CombinedStore, RowMap
from semsearch.index.format import BUILDS
from semsearch.index.glossary import GlossaryCounts, mine_glossary
from semsearch.index.lexical import LexicalIndex, LexicalPart, TermCounts, english_stopwords, tokenize
from semsearch.index.loader import load_current
from semsearch.index.vectors import FaissStore, exact_top_k
from semsearch.indexing.build import build_index
from semsearch.search import Searcher
from semsearch.settings import bundled_notes_dir
from tests.test_sync_unchanged import QUERIES, note, write


def _folder(root: Path, files: int, seed: int = 5) -> Path:
    rng = random.Random(seed)
    for i in range(files):
        write(root / f"t{i % 3}" / f"n{i}.md", note(rng))
    return root


def _ranking(index_dir: Path) -> list[list[tuple[str, int, float]]]:
    """The top 8 of each query with its score to 6 places (a store searched in several segments may
    differ from one store in the last float bits of a product)."""
    searcher = Searcher(load_current(index_dir), HashingEmbedder())  # type: ignore[arg-type]
    return [[(h.chunk.source, h.chunk.start_line, round(h.score, 6)) for h in searcher.search(q, top_k=8).hits]
            for q in QUERIES]


def test_a_one_file_edit_writes_one_small_segment_and_links_the_rest(tmp_path: Path) -> None:
    notes = _folder(tmp_path / "notes", 30)
    first = build_index(notes, tmp_path / "index", HashingEmbedder())
    target = notes / "t1" / "n4.md"
    write(target, target.read_text(encoding="utf-8") + "\nZebra crossings need sqlite vacuum.\n", age=100)
    second = build_index(notes, tmp_path / "index", HashingEmbedder())
    old_dir, new_dir = (tmp_path / "index" / BUILDS / r.manifest.build_id for r in (first, second))
    base = first.manifest.segments[0]["name"]
    assert [s["name"] for s in second.manifest.segments][0] == base and len(second.manifest.segments) == 2
    for name in first.manifest.files:  # the first segment is the previous build's files, linked
        if name.startswith(f"segments/{base}/"):
            assert (new_dir / name).stat().st_ino == (old_dir / name).stat().st_ino
    added = second.manifest.segments[1]["rows"]
    assert added == sum(1 for c in load_current(tmp_path / "index").chunks if c.source == "t1/n4.md")
    build = load_current(tmp_path / "index")
    assert build.rows.size == second.manifest.chunk_count == len(build.chunks)
    assert second.embedded <= added and second.reused == second.manifest.chunk_count - second.embedded
    fresh = build_index(notes, tmp_path / "fresh", HashingEmbedder())
    assert len(fresh.manifest.segments) == 1
    assert _ranking(tmp_path / "index") == _ranking(tmp_path / "fresh")
    assert sorted(build.chunks, key=lambda c: (c.source, c.start_line)) == sorted(
        load_current(tmp_path / "fresh").chunks, key=lambda c: (c.source, c.start_line))


def test_many_small_syncs_stay_within_the_segment_and_deletion_bounds(tmp_path: Path) -> None:
    notes = _folder(tmp_path / "notes", 40)
    build_index(notes, tmp_path / "index", HashingEmbedder())
    rng = random.Random(11)
    for step in range(3 * writer.MAX_SMALL):
        target = notes / f"t{step % 3}" / f"n{rng.randrange(40)}.md"
        write(target, note(rng), age=300 - step)
        report = build_index(notes, tmp_path / "index", HashingEmbedder())
        build = load_current(tmp_path / "index")
        assert len(report.manifest.segments) <= writer.MAX_SMALL  # none of these is large enough to settle
        for s, stored in enumerate(build.rows.sizes):
            assert stored - len(build.rows.live_rows(s)) <= writer.MAX_DELETED_SHARE * stored
    build_index(notes, tmp_path / "fresh", HashingEmbedder())
    assert _ranking(tmp_path / "index") == _ranking(tmp_path / "fresh")


def test_a_forced_compaction_is_one_segment_that_ranks_the_same(tmp_path: Path) -> None:
    notes = _folder(tmp_path / "notes", 20)
    build_index(notes, tmp_path / "index", HashingEmbedder())
    target = notes / "t0" / "n3.md"
    write(target, note(random.Random(3)), age=50)
    build_index(notes, tmp_path / "index", HashingEmbedder())
    before = _ranking(tmp_path / "index")
    previous = load_current(tmp_path / "index")
    meta = writer.BuildMeta(previous.manifest.model_name, previous.manifest.chunking, previous.manifest.file_count,
                            previous.files, previous.manifest.notes_dir, previous.manifest.collections)
    dim = previous.manifest.dim
    no_sentences = (np.zeros((0, dim), np.float32), np.zeros(0, np.int32))
    manifest = writer.write_sync(tmp_path / "index", previous, np.zeros(0, np.int64), [],
                                 np.zeros((0, dim), np.float32), no_sentences, meta, compact=True)
    assert len(manifest.segments) == 1 and manifest.chunk_count == previous.manifest.chunk_count
    assert _ranking(tmp_path / "index") == before


BIG = 40_000  # over SETTLED_ROWS


@pytest.mark.parametrize(("parts", "adding", "expected"), [
    ([], 5, 0),
    ([(100, 100)], 5, 1),  # a small sync: the segment kept, a new one added
    ([(100, 70)], 5, 0),  # 30% of it deleted: merged with the new rows
    ([(100, 100)] * 4, 5, 0),  # a fifth small segment: all merged into one
    ([(BIG, BIG)] + [(10, 10)] * 3, 5, 4),  # a large one settles; three small ones and a new one stay
    ([(BIG, BIG)] + [(10, 10)] * 4, 5, 1),  # a fifth after it: the small ones merged, the large one kept
    ([(BIG, BIG), (BIG, BIG - 100), (10, 10)], 5, 3),  # two settled segments
    ([(BIG, BIG), (BIG, BIG // 2), (10, 10)], 5, 1),  # half of the second deleted: it and those after merged
    ([(BIG, BIG // 2), (BIG, BIG)], 5, 0),
])
def test_compaction_plan(parts: list[tuple[int, int]], adding: int, expected: int) -> None:
    assert writer.compaction_plan(parts, adding) == expected
    assert writer.compaction_plan(parts, adding, force=True) == 0


_WORDS = st.sampled_from(["dropout", "networks", "network", "training", "the", "keras", "layers", "relu",
                          "vault", "keys", "rotate", "über", "a", "42"])
_TEXT = st.lists(_WORDS, max_size=10).map(" ".join)


@settings(max_examples=40, deadline=None)
@given(corpus=st.lists(_TEXT, min_size=2, max_size=8), split=st.integers(0, 8), query=_TEXT, data=st.data())
def test_bm25_over_segments_with_deletions_equals_bm25s_over_the_live_rows(
        corpus: list[str], split: int, query: str, data: st.DataObject) -> None:
    import bm25s

    split = min(split, len(corpus))
    deleted = data.draw(st.sets(st.integers(0, len(corpus) - 1), max_size=len(corpus) - 1))
    halves = [corpus[:split], corpus[split:]]
    gone = [np.asarray(sorted(d for d in deleted if d < split), np.int64),
            np.asarray(sorted(d - split for d in deleted if d >= split), np.int64)]
    rows = RowMap.of([len(h) for h in halves], gone)
    parts = [LexicalPart(TermCounts.from_tokens(tokenize(h)), int(rows.offsets[i]), rows.to_global(i))
             for i, h in enumerate(halves)]
    ours, _ = LexicalIndex(parts, english_stopwords()).scores(query)
    live = [text for i, text in enumerate(corpus) if i not in deleted]
    tokens = tokenize(live)
    if not any(tokens):
        assert not ours.any()
        return
    reference = bm25s.BM25(k1=0.9, b=0.4)
    reference.index(tokens, show_progress=False)
    ids = [reference.vocab_dict[t] for t in tokenize([query])[0] if t in reference.vocab_dict]
    expected = reference.get_scores_from_ids(ids) if ids else np.zeros(len(live))
    np.testing.assert_array_equal(ours, np.asarray(expected, dtype=np.float32))


def test_segments_searched_as_one_equal_one_exact_store_over_the_live_rows() -> None:
    from semsearch.index.segments import Segment

    rng = np.random.default_rng(3)
    dim, sizes = 16, [300, 40, 9]
    vectors = [rng.standard_normal((n, dim)).astype(np.float32) for n in sizes]
    gone = [np.sort(rng.choice(300, 270, replace=False)), np.arange(0, 40, 3), np.zeros(0, np.int64)]
    segments = []
    for n, v in zip(sizes, vectors, strict=True):
        store = FaissStore(dim)
        store.add(np.arange(n, dtype=np.int64), v)
        segments.append(Segment("s", None, store, None, None))  # type: ignore[arg-type]
    rows = RowMap.of(sizes, gone)
    combined = CombinedStore(segments, rows)
    live = np.concatenate([v[rows.live_rows(i)] for i, v in enumerate(vectors)])
    ids = np.arange(len(live), dtype=np.int64)
    assert combined.count() == len(live) == rows.size
    queries = rng.standard_normal((4, dim)).astype(np.float32)
    for allowed in (None, np.sort(rng.choice(len(live), 25, replace=False)).astype(np.int64)):
        pool = ids if allowed is None else allowed
        expected = exact_top_k(queries, live[pool], pool, 10)
        found = combined.search(queries, 10, allowed=allowed)
        np.testing.assert_array_equal(found[1], expected[1])
        np.testing.assert_allclose(found[0], expected[0], rtol=1e-5)
    np.testing.assert_array_equal(combined.vectors(np.asarray([0, len(live) - 1])), live[[0, -1]])


def test_glossary_counts_updated_by_a_sync_equal_mining_the_live_passages() -> None:
    texts = [p.read_text(encoding="utf-8") for p in sorted(bundled_notes_dir().rglob("*")) if p.is_file()]
    assert len(texts) >= 4
    counts = GlossaryCounts.of(texts)
    counts.add(texts[:2], -1)
    counts.add(["A variational autoencoder (VAE) and a VAE again."])
    expected = [*texts[2:], "A variational autoencoder (VAE) and a VAE again."]
    assert counts.glossary() == mine_glossary(expected)
    assert counts.to_json() == GlossaryCounts.of(expected).to_json()
    assert GlossaryCounts.from_json(counts.to_json()) == counts


def test_a_first_build_written_a_segment_at_a_time_ranks_as_one_segment(tmp_path: Path) -> None:
    notes = _folder(tmp_path / "notes", 30)
    streamed = build_index(notes, tmp_path / "index", HashingEmbedder(), segment_rows=7)
    whole = build_index(notes, tmp_path / "whole", HashingEmbedder())
    assert len(streamed.manifest.segments) > 3 and len(whole.manifest.segments) == 1
    assert all(s["rows"] >= 7 for s in streamed.manifest.segments[:-1])
    assert (streamed.chunks, streamed.sentences, streamed.embedded) == (whole.chunks, whole.sentences, whole.embedded)
    assert streamed.files == whole.files
    assert list(load_current(tmp_path / "index").chunks) == list(load_current(tmp_path / "whole").chunks)
    assert _ranking(tmp_path / "index") == _ranking(tmp_path / "whole")
    assert load_current(tmp_path / "index").glossary == load_current(tmp_path / "whole").glossary


def test_a_first_build_of_a_folder_without_notes_writes_nothing(tmp_path: Path) -> None:
    from semsearch.errors import IndexBuildError

    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "empty.md").write_text("")
    with pytest.raises(IndexBuildError, match="No notes to index"):
        build_index(tmp_path / "notes", tmp_path / "index", HashingEmbedder())
    assert not any((tmp_path / "index" / BUILDS).iterdir()) if (tmp_path / "index" / BUILDS).exists() else True
