"""Sentence-level matching: the splitter, the stored sentence vectors and the third fusion signal."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

import semsearch.index.sentences as sentences
from semsearch.embedders.hashing import HashingEmbedder
from semsearch.errors import IndexCorruptError
from semsearch.index.format import Manifest, current_build_dir, read_manifest
from semsearch.index.loader import load_current
from semsearch.index.segments import file_in_build
from semsearch.index.sentences import SENTENCES_FILE, SentenceIndex, split_sentences
from semsearch.indexing.build import build_index
from semsearch.ranking.fusion import RetrievalConfig
from semsearch.search import Searcher

QUERY = "quarterly invoice reconciliation runs every friday afternoon"
FILLER = ["Tomatoes need water early in the morning.", "The garden shed holds the spare hoses.",
          "Compost turns faster when it is kept moist.", "Basil grows well beside the tomatoes.",
          "Mulch keeps the beds cool in the summer.", "The rain barrel fills up in the spring.",
          "Seedlings move outside after the last frost.", "Prune the roses before the buds open."]


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    """`exact.md`: one sentence answers the query, in a long chunk about other things; `loose.md`:
    a short chunk sharing words with the query in every line, none of them close to it."""
    root = tmp_path / "notes"
    root.mkdir()
    (root / "exact.md").write_text("# Garden and office\n\n" + " ".join(FILLER[:4])
                                   + " The quarterly invoice reconciliation runs every Friday afternoon. "
                                   + " ".join(FILLER[4:]) + "\n")
    (root / "loose.md").write_text("# Invoices\n\nInvoice templates live in the shared drive.\n"
                                   "Reconciliation of expenses happens monthly in March.\n"
                                   "Quarterly reports are printed on Friday.\n")
    for i, line in enumerate(FILLER):
        (root / f"other{i}.txt").write_text(f"Notes {i}\n\n{line} Office plants need light.\n")
    return root


def searcher(index_dir: Path, **config: float) -> Searcher:
    return Searcher.open(index_dir, HashingEmbedder(), retrieval=RetrievalConfig(**config))  # type: ignore[arg-type]


def ranking(s: Searcher, query: str = QUERY) -> list[tuple[str, float | None]]:
    return [(h.chunk.id, h.raw_score) for h in s.search(query, top_k=10).hits]


def _stored(manifest: Manifest) -> bool:
    """Whether the build holds sentence vectors."""
    return any(name.endswith(SENTENCES_FILE) for name in manifest.files)


def test_split_sentences_by_line_and_sentence_end_keeping_three_words_or_more() -> None:
    text = "Heading path\nFirst one is here. second stays joined. Third one here!\nok then\nWhy ask this? Yes."
    assert split_sentences(text) == ["First one is here. second stays joined.", "Third one here!", "Why ask this?"]


@pytest.mark.parametrize("full_scan_ratio", [0, 1000], ids=["gathering-rows", "scanning-all"])
def test_best_sentence_is_the_max_over_the_candidates_sentences(
        full_scan_ratio: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sentences, "FULL_SCAN_RATIO", full_scan_ratio)
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(7, 4)).astype(np.float16)
    owner = np.asarray([0, 0, 2, 2, 2, 3, 5], dtype=np.int32)
    index = SentenceIndex.from_arrays(vectors, owner, chunks=6)
    query = rng.normal(size=4).astype(np.float32)
    ids = np.asarray([5, 1, 2, 0, 3], dtype=np.int64)
    fallback = np.full(len(ids), -7.0, dtype=np.float32)
    cos = vectors.astype(np.float32) @ query
    expected = [cos[6], -7.0, cos[2:5].max(), cos[0:2].max(), cos[5]]
    np.testing.assert_allclose(index.best(ids, query, fallback), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="do not match"):  # the loader turns it into IndexCorruptError
        SentenceIndex.from_arrays(vectors, owner[::-1].copy(), chunks=6)


def test_one_closely_matching_sentence_outranks_a_loosely_related_chunk(notes: Path, tmp_path: Path) -> None:
    build_index(notes, tmp_path / "index", HashingEmbedder())
    sentence_stage = searcher(tmp_path / "index")
    assert sentence_stage.search(QUERY, top_k=1).hits[0].chunk.source == "exact.md"
    # the same chunk : BM25 ratio (0.2 : 0.4) without the sentence stage, and today's 0.5 blend
    for dense_weight in (1 / 3, 0.5):
        without = searcher(tmp_path / "index", sentence_weight=0.0, dense_weight=dense_weight)
        assert without.search(QUERY, top_k=1).hits[0].chunk.source == "loose.md"


def test_sentence_weight_0_ranks_as_a_build_without_sentence_vectors(notes: Path, tmp_path: Path) -> None:
    build_index(notes, tmp_path / "new", HashingEmbedder())
    build_index(notes, tmp_path / "old", HashingEmbedder(), store_sentences=False)
    old = load_current(tmp_path / "old")
    assert not _stored(old.manifest) and old.sentences is None
    queries = [QUERY, "tomatoes water", "invoice templates shared drive", "roses"]
    for query in queries:  # a build without sentence vectors ranks as the stage-off configuration
        today = ranking(searcher(tmp_path / "old"), query)
        assert today and ranking(searcher(tmp_path / "old", sentence_weight=0.0), query) == today
        assert ranking(searcher(tmp_path / "new", sentence_weight=0.0), query) == today
    assert ranking(searcher(tmp_path / "new")) != ranking(searcher(tmp_path / "old"))


def test_turning_the_sentence_stage_on_embeds_the_sentences_only(notes: Path, tmp_path: Path) -> None:
    fresh = build_index(notes, tmp_path / "fresh", HashingEmbedder())
    build_index(notes, tmp_path / "index", HashingEmbedder(), store_sentences=False)
    report = build_index(notes, tmp_path / "index", HashingEmbedder())
    assert report.embedded == 0 and report.sentences_embedded == fresh.sentences_embedded > 0
    assert load_current(tmp_path / "index").sentences is not None


def test_a_corrupted_sentence_file_is_detected(notes: Path, tmp_path: Path) -> None:
    first = build_index(notes, tmp_path / "index", HashingEmbedder())
    build_dir = current_build_dir(tmp_path / "index")
    path = build_dir / file_in_build(read_manifest(build_dir), SENTENCES_FILE)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match="checksum"):
        searcher(tmp_path / "index")
    report = build_index(notes, tmp_path / "index", HashingEmbedder())  # not reused: all re-embedded
    assert report.embedded == 0 and report.sentences_embedded == first.sentences_embedded > 0
    assert searcher(tmp_path / "index").search(QUERY, top_k=1).hits[0].chunk.source == "exact.md"


def test_weights_over_1_are_refused() -> None:
    with pytest.raises(ValueError, match="sum to at most 1"):
        RetrievalConfig(chunk_weight=0.7, sentence_weight=0.4)


def test_settings_refuse_weights_over_1(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from semsearch.settings import Settings
    from semsearch.wiring import retrieval_config

    assert (retrieval_config(Settings()).chunk_weight, retrieval_config(Settings()).sentence_weight) == (0.2, 0.4)
    monkeypatch.setenv("SEMSEARCH_CHUNK_WEIGHT", "0.7")
    monkeypatch.setenv("SEMSEARCH_SENTENCE_WEIGHT", "0.4")
    with pytest.raises(ValidationError, match="at most 1"):
        Settings()


def test_a_build_without_the_sentence_stage_stores_no_sentence_vectors(notes: Path, tmp_path: Path) -> None:
    embedded: list[str] = []

    class Counting(HashingEmbedder):
        def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
            embedded.extend(texts)
            return super().embed_documents(texts)

    report = build_index(notes, tmp_path / "index", Counting(), store_sentences=False)
    build = load_current(tmp_path / "index")
    assert not _stored(build.manifest) and build.sentences is None
    assert report.sentences == 0 and len(embedded) == len({c.embed_text for c in build.chunks})  # passages only


def test_semsearch_index_skips_sentence_vectors_when_the_stage_is_off(
        notes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from semsearch.settings import get_settings
    from services.cli import main

    monkeypatch.setenv("SEMSEARCH_MODEL", "hashing")
    for weight, stored in (("0", False), ("0.4", True)):
        get_settings.cache_clear()
        index_dir = tmp_path / f"index-{weight}"
        monkeypatch.setenv("SEMSEARCH_SENTENCE_WEIGHT", weight)
        monkeypatch.setenv("SEMSEARCH_INDEX_DIR", str(index_dir))
        result = CliRunner().invoke(main, ["index", str(notes)])
        assert result.exit_code == 0, result.output
        assert _stored(load_current(index_dir).manifest) is stored


def test_settings_refuse_a_default_top_k_above_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from semsearch.settings import Settings

    monkeypatch.setenv("SEMSEARCH_MAX_TOP_K", "3")
    with pytest.raises(ValidationError, match="SEMSEARCH_TOP_K .5. must be at most SEMSEARCH_MAX_TOP_K .3."):
        Settings()
    monkeypatch.setenv("SEMSEARCH_TOP_K", "3")
    assert Settings().top_k == 3
