"""Filters through `Searcher.search` (Hypothesis): every hit satisfies the filter, `top_k` come back
whenever that many passages match, and the dense ranking of a filtered search equals brute force
over only the matching passages (a NumPy oracle) for the Flat store the build picks and for an
HNSW store of the same vectors. (Here at most a few hundred ids match, so HNSW takes its exact
path for allowed ids, `EXACT_ALLOWED_LIMIT`; the graph path is checked by recall in
tests/contracts/test_filtered_stores.py.)"""

from __future__ import annotations

import dataclasses
import fnmatch
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, target
from hypothesis import strategies as st

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.filters import Filter, source_matches
from semsearch.index.vectors import FaissStore, choose_store_type
from semsearch.indexing.build import build_index
from semsearch.ranking.fusion import RetrievalConfig
from semsearch.records import Chunk
from semsearch.search import QueryLimits, Searcher

COLLECTIONS = ("work", "home", "reading")
TAGS = ("ops", "ml", "garden", "k8s", "security", "travel")
FOLDERS = ("a", "b", "c/d")
VOCAB = [f"w{i}" for i in range(300)] + ("rotate keys vault dropout tomatoes deploy canary budget trip "
                                         "kubernetes gradient soil passport").split()
DATES = ("2023", "2023-06", "2024-01-15", "2024-07", "2025", "2025-03-31")
PATHS = ("a/*", "b/", "c/d/n1*", "*.md", "*/n2?.md", "zzz/")
QUERIES = ("rotate keys vault", "dropout gradient", "tomatoes soil", "w1 w2 w3", "deploy canary kubernetes",
           "passport trip budget")
DENSE = RetrievalConfig(fusion="dense", exact_boost=False, collapse=False, spell_out_acronyms=False,
                        sentence_weight=0.0)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three collections of 70 distinct notes each, with random tags, folders and dates."""
    rng = random.Random(5)
    root = tmp_path_factory.mktemp("filters")
    index = root / "index"
    for collection in COLLECTIONS:
        folder = root / collection
        for n in range(70):
            path = folder / rng.choice(FOLDERS) / f"n{n}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            tags = rng.sample(TAGS, rng.randint(0, 3))
            day = f"20{rng.randint(23, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            words = " ".join(rng.choices(VOCAB, k=24))
            path.write_text(f"---\ntags: [{', '.join(tags)}]\ndate: {day}\n---\n# Note {collection} {n}\n\n"
                            f"uniq{collection}{n} {words}\n", encoding="utf-8")
        build_index(folder, index, HashingEmbedder(), collection=collection, store_sentences=False)
    return index


@pytest.fixture(scope="module")
def searchers(built: Path) -> dict[str, Searcher]:
    """The build's own (Flat) store, and the same vectors in HNSW, both ranking dense-only."""
    embedder = HashingEmbedder()
    flat = Searcher.open(built, embedder, retrieval=DENSE, limits=QueryLimits(max_top_k=50))
    n = len(flat.index.chunks)
    hnsw = FaissStore(flat.index.manifest.dim, choose_store_type(n, flat_limit=0), use_gpu=False)
    hnsw.add(np.arange(n, dtype=np.int64), flat.index.vectors.vectors(np.arange(n, dtype=np.int64)))
    graph = Searcher(dataclasses.replace(flat.index, vectors=hnsw), embedder, DENSE, QueryLimits(max_top_k=50))
    blend = Searcher.open(built, embedder, limits=QueryLimits(max_top_k=50))
    return {"flat": flat, "hnsw": graph, "blend": blend}


def holds(chunk: Chunk, f: Filter) -> bool:
    """The filter's meaning, written out independently of `semsearch.filters`."""
    low, high = f.date_range
    return ((f.collections is None or chunk.collection in f.collections)
            and set(f.tags_all) <= set(chunk.tags)
            and (not f.tags_any or bool(set(f.tags_any) & set(chunk.tags)))
            and (f.path is None or (fnmatch.fnmatchcase(chunk.source, f.path) if set("*?[") & set(f.path)
                                    else chunk.source.startswith(f.path)))
            and (not (low or high) or (chunk.date is not None and (not low or chunk.date >= low)
                                       and (not high or chunk.date <= high))))


@st.composite
def filters(draw: st.DrawFn) -> Filter:
    collections = draw(st.none() | st.lists(st.sampled_from(COLLECTIONS), min_size=1, max_size=3, unique=True))
    since, until = draw(st.none() | st.sampled_from(DATES)), draw(st.none() | st.sampled_from(DATES))
    if since and until and since > until:
        since, until = until, since
    return Filter(collections=tuple(collections) if collections else None,
                  tags_all=tuple(draw(st.lists(st.sampled_from(TAGS), max_size=2, unique=True))),
                  tags_any=tuple(draw(st.lists(st.sampled_from(TAGS), max_size=3, unique=True))),
                  path=draw(st.none() | st.sampled_from(PATHS)), since=since, until=until)


@settings(max_examples=120, deadline=None)
@given(f=filters(), query=st.sampled_from(QUERIES), top_k=st.integers(1, 20))
def test_every_hit_satisfies_the_filter_and_top_k_come_back(searchers: dict[str, Searcher], f: Filter,
                                                             query: str, top_k: int) -> None:
    searcher = searchers["blend"]
    matching = sum(holds(c, f) for c in searcher.index.chunks)
    target(float(min(matching, 50)), label="matching passages")  # reach filters that match many, and few
    hits = searcher.search(query, top_k=top_k, filter=f).hits
    assert all(holds(h.chunk, f) for h in hits)
    assert len(hits) == min(top_k, matching)


@settings(max_examples=80, deadline=None)
@given(f=filters(), query=st.sampled_from(QUERIES), top_k=st.integers(1, 20), store=st.sampled_from(["flat", "hnsw"]))
def test_a_filtered_dense_search_is_brute_force_over_the_matching_passages(
        searchers: dict[str, Searcher], f: Filter, query: str, top_k: int, store: str) -> None:
    searcher = searchers[store]
    chunks = searcher.index.chunks
    rows = np.asarray([i for i, c in enumerate(chunks) if holds(c, f)], dtype=np.int64)
    vector = searcher.embedder.embed_queries([query])[0]
    every = searcher.index.vectors.vectors(np.arange(len(chunks), dtype=np.int64))
    scores = every[rows] @ vector if len(rows) else np.zeros(0)
    want = rows[np.argsort(-scores, kind="stable")[:top_k]]
    hits = searcher.search(query, top_k=top_k, filter=f).hits
    assert [h.raw_score for h in hits] == pytest.approx(sorted(scores, reverse=True)[:top_k], abs=1e-5)
    assert {chunks[int(i)].id for i in want} == {h.chunk.id for h in hits} or len(set(np.round(scores, 6))) < len(
        scores)  # equal ids unless two matching passages tie


def test_the_source_argument_is_a_path_filter(searchers: dict[str, Searcher]) -> None:
    searcher = searchers["blend"]
    by_source = searcher.search("rotate keys", top_k=10, source="a/").hits
    by_filter = searcher.search("rotate keys", top_k=10, filter=Filter(path="a/")).hits
    assert [h.chunk.id for h in by_source] == [h.chunk.id for h in by_filter]
    assert all(source_matches(h.chunk.source, "a/") for h in by_source)


def test_a_scope_bounds_every_filter(searchers: dict[str, Searcher]) -> None:
    searcher = searchers["blend"]
    hits = searcher.search("rotate keys", top_k=50, visible=frozenset({"home"})).hits
    assert hits and {h.chunk.collection for h in hits} == {"home"}
    assert all(not a.startswith(("work:", "reading:")) for h in hits for a in h.also_in)
