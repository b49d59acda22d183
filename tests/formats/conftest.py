"""Fixtures of the formats tests: a folder of notes of every kind and a quick build of it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.index.loader import Index, load_current
from semsearch.indexing.build import build_index
from semsearch.records import Hit
from semsearch.search import Searcher

Build = Callable[[Path], Index]
Search = Callable[[Path, str], list[Hit]]


class SmallPassages(HashingEmbedder):
    """The hashing embedder with a small token budget: a test document of a few pages or cells is
    several passages (a document that fits in one passage is one, `chunking.join_sections`), so the
    tests see each page's, cell's and section's own citation."""

    max_tokens = 24


@pytest.fixture
def build(tmp_path: Path) -> Build:
    """Build an index of a folder with the hashing embedder and return the published build."""

    def run(folder: Path) -> Index:
        index_dir = tmp_path / "index"
        build_index(folder, index_dir, SmallPassages(), store_sentences=False, overlap_tokens=4)
        return load_current(index_dir, sentences=False)

    return run


@pytest.fixture
def search(tmp_path: Path, build: Build) -> Search:
    """Build an index of a folder, then search it: the hits of the query."""

    def run(folder: Path, query: str) -> list[Hit]:
        build(folder)
        return Searcher.open(tmp_path / "index", SmallPassages()).search(query, top_k=5).hits

    return run


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A notes folder with one markdown note (so that a build always has something to index)."""
    root = tmp_path / "notes"
    root.mkdir()
    (root / "garden.md").write_text("# Garden\n\nWater tomatoes early in the morning.\n", encoding="utf-8")
    return root
