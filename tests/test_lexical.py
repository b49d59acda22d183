"""BM25 over the chunks, stored with the build, and exact phrase / identifier matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.indexing import build_index
from semsearch.lexical import LEXICAL_FILE, LexicalIndex, exact_match_counts, exact_terms, tokenize
from semsearch.search import Searcher
from semsearch.store import load_current


def test_tokenize_stems_and_drops_stop_words() -> None:
    assert tokenize(["The networks are training"]) == [["network", "train"]]


def test_bm25_prefers_the_passage_with_the_rare_term() -> None:
    index = LexicalIndex.from_tokens(tokenize(["dropout regularizes networks", "networks train slowly",
                                               "gardening in spring"]))
    scores, ceiling = index.scores("what does dropout do to networks")
    assert scores.argmax() == 0 and scores[2] == 0
    assert 0 < scores.max() <= ceiling
    assert index.scores("zebra")[1] == 0.0  # unknown words: no score, no error


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


def test_exact_match_counts_ignore_markup_and_case() -> None:
    texts = ["Use `keras.layers.Dropout` here", "**Inverse  dropout** and keras", "nothing"]
    assert exact_match_counts(texts, ["keras.layers.dropout", "inverse dropout"]) == [1, 1, 0]


def test_the_build_stores_the_lexical_index(tiny_index: Path) -> None:
    build = load_current(tiny_index)
    assert LEXICAL_FILE in build.manifest.files
    assert build.read_extra(LEXICAL_FILE)


def _corpus(root: Path) -> Path:
    root.mkdir()
    (root / "a.md").write_text("# Dropout\n\nDropout inverse scaling of dropout units, dropout dropout.\n")
    (root / "b.md").write_text("# Inverse\n\nThe inverse dropout trick rescales at training time.\n")
    (root / "c.md").write_text("# Servers\n\nLaunch instances of ami-b12345 or ami-a96285c4 in us-east.\n")
    (root / "d.md").write_text("# Servers again\n\nThe ami list: ami ami ami instances launch servers.\n")
    (root / "e.md").write_text("# Keras\n\nCall keras.layers.Dropout(0.5) after dense layers.\n")
    (root / "f.md").write_text("# Layers\n\nKeras layers: dropout layers, dense layers, keras keras.\n")
    return root


@pytest.mark.parametrize(("query", "source"), [
    ('"inverse dropout"', "b.md"),
    ("which servers use ami-a96285c4", "c.md"),
    ("keras.layers.Dropout", "e.md"),
])
def test_exact_phrases_and_identifiers_come_first(tmp_path: Path, query: str, source: str) -> None:
    embedder = HashingEmbedder()
    build_index(_corpus(tmp_path / "notes"), tmp_path / "index", embedder)
    hits = Searcher.open(tmp_path / "index", embedder).search(query, top_k=3)
    assert hits[0].chunk.source == source
    assert hits[0].confident
