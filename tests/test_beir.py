"""BEIR evaluation: folder reading, the run, and the metrics against hand-computed values."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.evaluation.beir import build_beir_index, doc_run, evaluate, load_dataset, score, score_numpy
from semsearch.evaluation.fitting import beir_set, choose_threshold, fit_sets, notes_set
from semsearch.evaluation.queries import EvalQuery
from semsearch.ranking.fusion import RetrievalConfig
from semsearch.search import Searcher

QRELS = {"q1": {"a": 1, "c": 1}, "q2": {"z": 1}}
RUN = {"q1": {"a": 3.0, "b": 2.0, "c": 1.0}, "q2": {"x": 1.0}}
# q1: DCG = 1/log2(2) + 1/log2(4) = 1.5, ideal DCG = 1 + 1/log2(3); q2 finds nothing
EXPECTED = {"ndcg@10": 1.5 / (1 + 1 / math.log2(3)) / 2, "recall@100": 0.5}


def test_ndcg_at_10_matches_a_hand_computed_example() -> None:
    assert score_numpy(QRELS, RUN) == pytest.approx(EXPECTED)


@pytest.mark.slow  # ranx compiles its numba kernels on first use (40 s on 2 cores)
def test_ranx_gives_the_hand_computed_figures() -> None:
    pytest.importorskip("ranx")
    assert score(QRELS, RUN) == pytest.approx(EXPECTED)


def test_doc_run_keeps_each_documents_best_chunk_in_order() -> None:
    run = doc_run({"q": [("d1", 0.9), ("d2", 0.8), ("d1", 0.7), ("d3", 0.7)]}, depth=2)
    assert list(run["q"]) == ["d1", "d2"]
    assert run["q"]["d1"] > run["q"]["d2"]


def _beir(root: Path) -> Path:
    (root / "qrels").mkdir(parents=True)
    docs = [("d1", "Dropout", "Dropout randomly zeroes units during training."),
            ("d2", "Tomatoes", "Water tomatoes early in the morning."),
            ("d3", "Keys", "Rotate API keys every 90 days.")]
    (root / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": i, "title": t, "text": x}) + "\n" for i, t, x in docs))
    queries = [("1", "what does dropout zero during training"), ("2", "when to water tomatoes"),
               ("3", "unjudged query")]
    (root / "queries.jsonl").write_text("".join(json.dumps({"_id": i, "text": t}) + "\n" for i, t in queries))
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n1\td1\t1\n2\td2\t1\n")
    return root


def test_evaluate_a_tiny_beir_folder(tmp_path: Path) -> None:
    folder = _beir(tmp_path / "tiny")
    assert set(load_dataset(folder).queries) == {"1", "2"}
    for chunking in ("whole", "split"):
        metrics = evaluate(folder, HashingEmbedder(), tmp_path / "cache", chunking=chunking,  # type: ignore[arg-type]
                           retrieval=RetrievalConfig(fusion="rrf"), engine="python")
        assert metrics["ndcg@10"] == pytest.approx(1.0)
        assert metrics["recall@100"] == pytest.approx(1.0)
    assert list((tmp_path / "cache" / "beir").glob("vectors-*.npy"))  # cached for the next run


def test_calibration_data_pairs_each_query_with_its_answers_removed(tmp_path: Path) -> None:
    folder = _beir(tmp_path / "tiny")
    dataset = load_dataset(folder)
    index_dir = build_beir_index(dataset, HashingEmbedder(), tmp_path / "cache")  # type: ignore[arg-type]
    searcher = Searcher.open(index_dir, HashingEmbedder(), retrieval=RetrievalConfig())  # type: ignore[arg-type]
    rows = beir_set(dataset, searcher)
    features, labels = rows.features, rows.labels
    assert labels == [1, 0, 1, 0] and rows.as_asked == [True, False, True, False]
    # with its answer removed, the best passage left holds fewer of the query's terms
    assert features[0][2] > 0.4 and features[1][2] == 0.0
    assert features[2][2] > 0.4 and features[3][2] == 0.0
    assert all(len(row) == 4 for row in features)  # gap, agree, coverage, sentence gap
    assert len(rows.below) == 2  # ranks 2.. of each answerable query, for the decay


def test_a_calibration_fitted_on_beir_and_notes_sets_weighs_each_set_alike(tmp_path: Path) -> None:
    from semsearch.indexing.build import build_index

    folder = _beir(tmp_path / "tiny")
    dataset = load_dataset(folder)
    embedder = HashingEmbedder()
    beir_searcher = Searcher.open(build_beir_index(dataset, embedder, tmp_path / "cache"), embedder)  # type: ignore[arg-type]
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "ssh.md").write_text("# SSH\n\nKeep the private key readable by you alone: chmod 600.\n")
    (notes / "git.md").write_text("# Git\n\nStash your edits before you switch branches.\n")
    build_index(notes, tmp_path / "nidx", embedder)  # type: ignore[arg-type]
    queries = [EvalQuery("a", "what mode should my private key have", ("chmod 600",), "question"),
               EvalQuery("b", "stash edits before switching branches", ("Stash your edits",), "keyword"),
               EvalQuery("u", "how do I bake sourdough bread", (), "unanswerable")]
    notes_rows = notes_set(queries, Searcher.open(tmp_path / "nidx", embedder), "tiny-notes")  # type: ignore[arg-type]
    assert notes_rows.labels == [1, 0, 1, 0, 0] and notes_rows.as_asked == [True, False, True, False, True]
    sets = [beir_set(dataset, beir_searcher), notes_rows]
    calibration = fit_sets(sets, fitted_on="tiny")
    assert calibration.w_coverage > 0 and calibration.decay >= 0 and calibration.fitted_on == "tiny"
    threshold = choose_threshold(sets, calibration)
    assert 0 <= threshold <= 1


def test_the_sentence_stage_off_builds_no_sentence_vectors(tmp_path: Path) -> None:
    from semsearch.index.loader import load_current
    from semsearch.index.sentences import SENTENCES_FILE

    dataset = load_dataset(_beir(tmp_path / "tiny"))
    with_stage = build_beir_index(dataset, HashingEmbedder(), tmp_path / "cache")  # type: ignore[arg-type]
    without = build_beir_index(dataset, HashingEmbedder(), tmp_path / "cache", sentences=False)  # type: ignore[arg-type]
    assert with_stage != without
    assert any(name.endswith(SENTENCES_FILE) for name in load_current(with_stage).manifest.files)
    assert not any(name.endswith(SENTENCES_FILE) for name in load_current(without).manifest.files)
    metrics = evaluate(tmp_path / "tiny", HashingEmbedder(), tmp_path / "cache",  # type: ignore[arg-type]
                       retrieval=RetrievalConfig(sentence_weight=0.0), engine="python")
    assert metrics["ndcg@10"] == pytest.approx(1.0)
