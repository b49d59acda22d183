"""Hybrid ranking: fusion modes, duplicate collapse, calibrated scores and abstention."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.evaluation.fitting import fit_logistic
from semsearch.index.lexical import LexicalIndex, tokenize
from semsearch.indexing.build import build_index
from semsearch.ranking.calibration import Calibration, term_coverage
from semsearch.ranking.collapse import containment, shingles
from semsearch.ranking.fusion import RetrievalConfig
from semsearch.records import Chunk
from semsearch.search import Searcher

PASSAGE = ("Batch normalization does not help recurrent networks much, because the statistics "
           "change at every time step and must be kept per step during training.")


def _searcher(root: Path, tmp_path: Path, **config: object) -> Searcher:
    embedder = HashingEmbedder()
    build_index(root, tmp_path / "index", embedder)
    return Searcher.open(tmp_path / "index", embedder, retrieval=RetrievalConfig(**config))  # type: ignore[arg-type]


@pytest.fixture
def duplicated(tmp_path: Path) -> Path:
    root = tmp_path / "notes"
    root.mkdir()
    (root / "list.md").write_text(f"# Reading list\n\n- {PASSAGE}\n")
    (root / "list.txt").write_text(f"Reading list\n\n{PASSAGE}\n")
    (root / "other.md").write_text("# Recurrent nets\n\nLayer normalization suits recurrent networks.\n")
    return root


def test_the_same_passage_in_two_files_is_one_hit(duplicated: Path, tmp_path: Path) -> None:
    hits = _searcher(duplicated, tmp_path).search("batch normalization recurrent networks", top_k=3).hits
    sources = [h.chunk.source for h in hits]
    assert len(hits) == 2 and "other.md" in sources
    assert sources.count("list.md") + sources.count("list.txt") == 1
    (listed,) = [h for h in hits if h.chunk.source != "other.md"]
    other = "list.txt" if listed.chunk.source == "list.md" else "list.md"
    assert [place.split(":")[0] for place in listed.also_in] == [other]
    assert listed.to_dict()["also_in"] == list(listed.also_in)


def test_collapse_can_be_switched_off(duplicated: Path, tmp_path: Path) -> None:
    hits = _searcher(duplicated, tmp_path, collapse=False).search("batch normalization recurrent", top_k=3).hits
    assert {h.chunk.source for h in hits} == {"list.md", "list.txt", "other.md"}
    assert all(h.also_in == () for h in hits)


def test_containment_sees_a_copy_inside_a_longer_chunk() -> None:
    def chunk(text: str) -> Chunk:
        return Chunk(id=str(hash(text)), source="x", heading_path=(), start_line=1, end_line=1,
                     text=text, embed_text=text)
    short, longer = chunk(PASSAGE), chunk(PASSAGE + " Layer norm is the usual fix, per time step.")
    assert containment(shingles(short), shingles(longer)) == 1.0
    assert containment(shingles(short), shingles(chunk("Completely different words here now"))) == 0.0


def test_a_numbered_list_and_its_rendering_without_numbers_are_one_passage() -> None:
    def chunk(text: str) -> Chunk:
        return Chunk(id=str(hash(text)), source="x", heading_path=(), start_line=1, end_line=1,
                     text=text, embed_text=text)

    items = ["Unread - Simple explanation", "Pixel art VAE", "Pixel GAN VAE", "Disentangled VAE - improves VAE"]
    numbered = chunk("Variational AE\n" + "\n".join(f"{i}. {item}" for i, item in enumerate(items, 1)))
    bulleted = chunk("Variational AE\n" + "\n".join(f"  * {item}" for item in items))
    rendered = chunk("Variational AE\n" + "\n".join(items))
    assert containment(shingles(numbered), shingles(rendered)) == 1.0
    assert containment(shingles(bulleted), shingles(rendered)) == 1.0
    assert containment(shingles(chunk("2.5 million rows\nmore")), shingles(chunk("million rows more"))) < 1


@pytest.mark.parametrize("fusion", ["rrf", "blend", "dense", "lexical"])
def test_every_fusion_mode_ranks_and_scores_in_0_1(duplicated: Path, tmp_path: Path, fusion: str) -> None:
    hits = _searcher(duplicated, tmp_path, fusion=fusion).search("layer normalization", top_k=5).hits
    assert hits[0].chunk.source == "other.md"
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert all(0.0 <= h.score <= 1.0 and h.raw_score is not None for h in hits)
    raw = [h.raw_score for h in hits]
    assert raw == sorted(raw, reverse=True)  # type: ignore[type-var]


@pytest.mark.parametrize("normalization", ["zscore", "minmax"])
def test_both_blend_normalizations_rank(duplicated: Path, tmp_path: Path, normalization: str) -> None:
    hits = _searcher(duplicated, tmp_path, normalization=normalization).search("layer normalization", top_k=5).hits
    assert hits[0].chunk.source == "other.md"
    raw = [h.raw_score for h in hits]
    assert raw == sorted(raw, reverse=True)  # type: ignore[type-var]


def test_zscore_centres_and_scales_and_gives_no_spread_no_say() -> None:
    from semsearch.ranking.fusion import _minmax, _zscore

    z = _zscore(np.array([1.0, 2.0, 3.0]))
    assert np.allclose(z, [-math.sqrt(1.5), 0.0, math.sqrt(1.5)])  # population std of 1, 2, 3 is sqrt(2/3)
    assert not _zscore(np.array([0.5, 0.5])).any() and not _minmax(np.array([0.5, 0.5])).any()
    # min-max gives the top of each list 1.0 whatever the gap to the rest; z-scores keep the gap
    dense, bm25 = np.array([0.5, 0.4, 0.3, 0.2]), np.array([0.0, 0.2, 0.25, 1.0])
    assert np.allclose(_minmax(dense) + _minmax(bm25), [1.0, 0.8667, 0.5833, 1.0], atol=1e-4)
    assert np.argmax(_zscore(dense) + _zscore(bm25)) == 0


def test_abstains_under_the_threshold(duplicated: Path, tmp_path: Path) -> None:
    strict = _searcher(duplicated, tmp_path, abstain_threshold=0.999)
    weak = strict.search("quantum chromodynamics lattice", top_k=3).hits
    assert weak and not any(h.confident for h in weak)
    assert weak[0].to_dict()["confident"] is False
    lenient = Searcher(strict.index, strict.embedder, retrieval=RetrievalConfig(abstain_threshold=0.0))
    assert all(h.confident for h in lenient.search("quantum chromodynamics lattice", top_k=3).hits)


def test_calibration_is_a_monotone_probability() -> None:
    cal = Calibration(bias=-3.0, w_gap=5.0, w_agree=1.0, w_coverage=3.0)
    p = cal.probability(np.array([0.0, 0.2, 0.2, 0.2]), np.array([0.0, 0.0, 1.0, 1.0]),
                        np.array([0.0, 0.0, 0.0, 1.0]))
    assert 0 < p[0] < p[1] < p[2] < p[3] < 1
    assert math.isclose(float(cal.probability(np.array([0.6]), np.zeros(1), np.zeros(1))[0]), 0.5)
    with_sentence = Calibration(bias=-3.0, w_gap=5.0, w_agree=1.0, w_coverage=3.0, w_sentence_gap=2.0)
    gaps = np.array([0.0, 0.0]), np.zeros(2), np.zeros(2)
    assert math.isclose(float(with_sentence.probability(*gaps, np.array([1.5, 0.0]))[0]), 0.5)
    assert with_sentence.probability(*gaps)[1] == pytest.approx(cal.probability(*gaps)[1])  # no sentence gap: 0


def test_term_coverage_weighs_terms_by_idf_and_counts_unknown_terms_as_missing() -> None:
    texts = ["dropout regularizes networks", "batch normalization networks", "networks everywhere"]
    lexical = LexicalIndex.from_tokens(tokenize(texts))
    # n = 3; "dropout" is in 1 chunk: idf = ln(1 + 2.5 / 1.5); "nccl" is in none: idf = ln(1 + 3.5 / 0.5)
    dropout, nccl = math.log(1 + 2.5 / 1.5), math.log(8.0)
    coverage = term_coverage(lexical, "dropout with NCCL", np.array([0, 1]))
    assert coverage == pytest.approx([dropout / (dropout + nccl), 0.0])
    assert term_coverage(lexical, "the of and", np.array([0])) == pytest.approx([0.0])  # no terms: covers nothing


def test_default_threshold_abstains_on_what_the_notes_never_mention(duplicated: Path, tmp_path: Path) -> None:
    searcher = _searcher(duplicated, tmp_path)
    answered = searcher.search("batch normalization recurrent networks", top_k=3).hits
    assert answered[0].confident and answered[0].score >= RetrievalConfig().abstain_threshold
    unanswered = searcher.search("quantum chromodynamics lattice", top_k=3).hits
    assert unanswered and not any(h.confident for h in unanswered)
    scores = [h.score for h in unanswered]
    assert scores == sorted(scores, reverse=True)


def test_fit_logistic_recovers_a_separating_direction() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(400, 2))
    y = (rng.uniform(size=400) < 1 / (1 + np.exp(-(-4 + 6 * x[:, 0] + 2 * x[:, 1])))).astype(int)
    bias, (w0, w1) = fit_logistic(x.tolist(), y.tolist())
    assert w0 > w1 > 0 and bias < 0


def test_a_query_keeps_bm25s_weight_when_bm25_matches_it_well_or_it_is_technical() -> None:
    from semsearch.ranking.fusion import lexical_share

    assert lexical_share("how do I stop tracking a file", 0.3, 0.2) == 1.0  # a good BM25 match
    assert lexical_share("how do I stop tracking a file", 0.1, 0.2) == pytest.approx(0.5)  # words only brushed
    assert lexical_share("how do I stop tracking a file", 0.1, 0.0) == 1.0  # 0: fixed weights
    for technical in ("APOE4 carriers", "keras.layers.Dropout", 'the "exact phrase"', "IL-10 levels",
                      "snake_case names", "a myVariable"):
        assert lexical_share(technical, 0.05, 0.2) == 1.0, technical


def test_scores_follow_the_ranking_without_ties_and_exact_matches_are_lifted_in_order(tmp_path: Path) -> None:
    root = tmp_path / "notes"
    root.mkdir()
    for i in range(6):
        (root / f"n{i}.md").write_text(f"# Note {i}\n\nThe flag ami-a96285c{i} appears in note {i} with "
                                       f"{' '.join(['batch normalization'] * (i + 1))} text.\n")
    searcher = _searcher(root, tmp_path)
    hits = searcher.search("batch normalization in recurrent networks", top_k=5).hits
    scores = [h.score for h in hits]
    assert len(scores) == 5 and all(a > b for a, b in zip(scores, scores[1:], strict=False))  # no ties
    exact = searcher.search('where does "ami-a96285c3" appear', top_k=5).hits
    assert exact[0].chunk.source == "n3.md" and exact[0].score >= searcher.retrieval.abstain_threshold
    lifted = [h.score for h in exact]
    assert lifted == sorted(lifted, reverse=True) and len(set(lifted)) == len(lifted)


def test_the_sentence_gap_is_measured_from_the_10th_best_sentence_score(tmp_path: Path) -> None:
    from semsearch.ranking.fusion import candidates

    root = tmp_path / "notes"
    root.mkdir()
    for i in range(14):
        (root / f"n{i}.md").write_text(f"# Note {i}\n\nBatch normalization note {i}.\n\n"
                                       f"{' '.join(['recurrent networks'] * (i % 4 + 1))} and layers {i}.\n")
    searcher = _searcher(root, tmp_path)
    query = "batch normalization in recurrent networks"
    vector = np.asarray(searcher.embedder.embed_queries([query])[0], dtype=np.float32)
    cand = candidates(searcher.index, query, vector, 100, searcher.retrieval)
    assert searcher.index.sentences is not None
    best = searcher.index.sentences.best(cand.ids, vector, cand.dense)
    np.testing.assert_allclose(cand.sentence, best)
    assert cand.sentence_reference == pytest.approx(float(np.sort(best)[::-1][9]))
    # without the sentence stage the chunk cosine stands in
    plain = candidates(searcher.index, query, vector, 100, RetrievalConfig(sentence_weight=0.0))
    np.testing.assert_allclose(plain.sentence, plain.dense)
