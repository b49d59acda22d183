"""BM25 over the chunks, stored with the build, and exact phrase / identifier matching."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.index.lexical import K1, LEXICAL_FILE, B, LexicalIndex, tokenize
from semsearch.index.loader import load_current
from semsearch.indexing.build import build_index
from semsearch.ranking.exact import exact_match_counts, exact_terms
from semsearch.ranking.fusion import RetrievalConfig
from semsearch.search import Searcher


def test_tokenize_stems_and_drops_stop_words() -> None:
    assert tokenize(["The networks are training"]) == [["network", "train"]]


def test_bm25_prefers_the_passage_with_the_rare_term() -> None:
    index = LexicalIndex.from_tokens(tokenize(["dropout regularizes networks", "networks train slowly",
                                               "gardening in spring"]))
    scores, ceiling = index.scores("what does dropout do to networks")
    assert scores.argmax() == 0 and scores[2] == 0
    assert 0 < scores.max() <= ceiling
    assert index.scores("zebra")[1] == 0.0  # unknown words: no score, no error


def test_a_build_keeps_the_bm25_parameters_it_was_scored_with() -> None:
    import json

    tokens = tokenize(["dropout regularizes networks", "networks train slowly"])
    earlier = LexicalIndex.from_tokens(tokens, k1=1.5, b=0.75)
    assert json.loads(earlier.parameters_json())["k1"] == 1.5
    current = LexicalIndex.from_tokens(tokens)
    assert (current.k1, current.b) == (K1, B) == (0.9, 0.4)
    # the ceiling (the most a passage could score) follows each index's own k1
    assert earlier.scores("dropout")[1] / current.scores("dropout")[1] == pytest.approx((1.5 + 1) / (0.9 + 1))


_WORDS = st.sampled_from(["dropout", "Dropout", "networks", "network", "training", "the", "of", "and", "x1",
                           "keras", "layers", "relu", "élan", "über", "ab", "a", "42", "it's", "rate-limit"])
_TEXT = st.lists(_WORDS, max_size=12).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(corpus=st.lists(_TEXT, min_size=1, max_size=6), query=_TEXT)
def test_query_scores_equal_bm25s_own_scores(corpus: list[str], query: str) -> None:
    """The query path (numpy over the stored term counts, no bm25s import) scores exactly as bm25s,
    to the bit."""
    import bm25s

    tokens = tokenize(corpus)
    index = LexicalIndex.from_tokens(tokens)
    ours, _ = index.scores(query)
    if not any(tokens):
        assert not ours.any()
        return
    reference = bm25s.BM25(k1=K1, b=B)
    reference.index(tokens, show_progress=False)
    ids = [reference.vocab_dict[t] for t in tokenize([query])[0] if t in reference.vocab_dict]
    expected = reference.get_scores_from_ids(ids) if ids else np.zeros(len(corpus))
    np.testing.assert_array_equal(ours, np.asarray(expected, dtype=np.float32))
    assert index.query_stems(query) == tokenize([query])[0]


def test_querying_a_stored_build_does_not_import_bm25s(tiny_index: Path) -> None:
    code = ("import sys; from pathlib import Path; from semsearch.embedders.hashing import HashingEmbedder; "
            f"from semsearch import Searcher; s = Searcher.open(Path({str(tiny_index)!r}), HashingEmbedder()); "
            "s.search('dropout networks'); "
            "print(sorted(m for m in ('bm25s', 'scipy', 'numba', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(("query", "terms"), [
    ('what is "inverse dropout" for', ["inverse dropout"]),
    ("launch ami-a96285c4 on ec2", ["ami-a96285c4"]),
    ("keras.layers.Dropout rate", ["keras.layers.dropout"]),
    ("use batch_norm here", ["batchnorm"]),
    ("how does dropout work", []),
    ("state-of-the-art self-normalizing nets", []),
])
def test_exact_terms(query: str, terms: list[str]) -> None:
    assert exact_terms(query) == terms


def test_without_identifiers_only_quoted_phrases_are_exact_terms() -> None:
    assert exact_terms('run "inverse dropout" in keras.layers.Dropout', identifiers=False) == ["inverse dropout"]
    assert exact_terms("launch ami-a96285c4 with batch_norm", identifiers=False) == []


def test_exact_match_counts_ignore_markup_and_case() -> None:
    texts = ["Use `keras.layers.Dropout` here", "**Inverse  dropout** and keras", "nothing"]
    assert exact_match_counts(texts, ["keras.layers.dropout", "inverse dropout"]) == [1, 1, 0]


def test_the_build_stores_the_lexical_index(tiny_index: Path) -> None:
    build = load_current(tiny_index)
    assert LEXICAL_FILE in build.manifest.files
    assert build.lexical.size == len(build.chunks) and build.lexical.parts[0].counts.vocab


def _corpus(root: Path) -> Path:
    root.mkdir()
    (root / "a.md").write_text("# Dropout\n\nDropout inverse scaling of dropout units, dropout dropout.\n")
    (root / "b.md").write_text("# Inverse\n\nThe inverse dropout trick rescales at training time.\n")
    (root / "c.md").write_text("# Servers\n\nLaunch instances of ami-b12345 or ami-a96285c4 in us-east.\n")
    (root / "d.md").write_text("# Servers again\n\nThe ami list: ami ami ami instances launch servers.\n")
    (root / "e.md").write_text("# Keras\n\nCall keras.layers.Dropout(0.5) after dense layers.\n")
    (root / "f.md").write_text("# Layers\n\nKeras layers: dropout layers, dense layers, keras keras.\n")
    return root


@pytest.mark.parametrize(("query", "source", "identifiers"), [
    ('"inverse dropout"', "b.md", False),
    ('"keras.layers.Dropout"', "e.md", False),
    ("which servers use ami-a96285c4", "c.md", True),
    ("keras.layers.Dropout", "e.md", True),
])
def test_exact_phrases_and_identifiers_come_first(tmp_path: Path, query: str, source: str, identifiers: bool) -> None:
    """Quoted phrases by default; identifiers with `exact_identifiers` (by default an identifier
    keeps BM25's full weight instead)."""
    embedder = HashingEmbedder()
    build_index(_corpus(tmp_path / "notes"), tmp_path / "index", embedder)
    retrieval = RetrievalConfig(exact_identifiers=identifiers)
    hits = Searcher.open(tmp_path / "index", embedder, retrieval=retrieval).search(query, top_k=3).hits
    assert hits[0].chunk.source == source
    assert hits[0].confident
