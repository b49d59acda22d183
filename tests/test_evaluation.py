from __future__ import annotations

import pytest

from semsearch.evaluation.queries import EvalQuery, normalize, score_by_kind, score_run


def test_normalize_matches_the_rules() -> None:
    assert normalize("[**Part 1**](http://x)") == "part 1http://x"
    assert normalize("  A\\_b  \n c ") == "ab c"


def test_metrics_on_a_hand_computed_example() -> None:
    queries = [
        EvalQuery("a", "q", ("alpha beta",), "question"),
        EvalQuery("b", "q", ("gamma", "delta"), "keyword"),
        EvalQuery("u", "q", (), "unanswerable"),
    ]
    run = {
        "a": [{"text": "nothing", "score": 0.9}, {"text": "**Alpha** beta here", "score": 0.8}],
        "b": [{"text": "gamma", "score": 0.5}],
        "u": [{"text": "x", "score": 0.7}],
    }
    m = score_run(queries, run)
    assert m["hit@1"] == 0.5  # b only
    assert m["hit@5"] == 1.0
    assert m["mrr@10"] == pytest.approx((1 / 2 + 1) / 2)
    assert m["span_recall@10"] == pytest.approx((1 + 0.5) / 2)
    assert m["separation"] == pytest.approx(0.5)  # 0.9 > 0.7, 0.5 < 0.7
    by_kind = score_by_kind(queries, run)
    assert by_kind["keyword"]["hit@1"] == 1.0 and by_kind["question"]["hit@1"] == 0.0


def test_missing_query_counts_as_zero() -> None:
    m = score_run([EvalQuery("a", "q", ("x y",), "question")], {})
    assert m["hit@5"] == 0.0 and m["mrr@10"] == 0.0
