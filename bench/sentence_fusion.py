"""Experiment: a candidate's best *sentence* cosine as a third fusion signal (docs/quality.md).

Each chunk's lines are split into sentences of 3+ words and embedded with the index's model; a
candidate scores w_chunk * minmax(chunk cosine) + w_sentence * minmax(best sentence cosine) +
w_bm25 * minmax(BM25 / ceiling). Not wired into `Searcher`: it needs sentence vectors in the build.

    SEMSEARCH_INDEX_DIR=/tmp/nidx python bench/sentence_fusion.py notes
    SEMSEARCH_CACHE_DIR=/tmp/semcache python bench/sentence_fusion.py scifact train test
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import numpy as np

from semsearch.evaluation.beir import build_beir_index, doc_run, load_dataset, score
from semsearch.ranking.collapse import collapse
from semsearch.embedders import load_embedder
from semsearch.evaluation.queries import load_queries, score_by_kind
from semsearch.ranking.fusion import RetrievalConfig, _minmax, candidates
from semsearch.index.lexical import lexical_for
from semsearch.search import Searcher
from semsearch.index.format import LoadedBuild

SHARED = Path(__file__).resolve().parents[2] / "shared"
WEIGHTS = [(0.5, 0.0, 0.5), (0.25, 0.5, 0.25), (0.25, 0.25, 0.5), (0.0, 0.5, 0.5), (0.35, 0.35, 0.3),
           (0.2, 0.4, 0.4)]
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def sentence_vectors(build: LoadedBuild, embed: object, cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """(vectors, owning chunk row) of every sentence of the build, cached at `cache`."""
    units: list[str] = []
    owner: list[int] = []
    for row, chunk in enumerate(build.chunks):
        for line in chunk.embed_text.split("\n"):
            for sentence in _SENTENCE.split(line):
                if len(sentence.split()) >= 3:
                    units.append(sentence)
                    owner.append(row)
    if cache.is_file():
        return np.load(cache), np.asarray(owner)
    vectors = np.concatenate([embed.embed_documents(units[i:i + 256])  # type: ignore[attr-defined]
                              for i in range(0, len(units), 256)])
    np.save(cache, vectors)
    return vectors, np.asarray(owner)


def fused(build: LoadedBuild, query: str, vector: np.ndarray, sentences: tuple[np.ndarray, np.ndarray],
          weights: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """(candidate rows best first, their fused scores)."""
    cand = candidates(build, lexical_for(build), query, vector, 100, RetrievalConfig())
    best = np.full(len(build.chunks), -1.0, dtype=np.float32)
    np.maximum.at(best, sentences[1], sentences[0] @ vector)
    score_ = (weights[0] * _minmax(cand.dense) + weights[1] * _minmax(best[cand.ids])
              + weights[2] * _minmax(cand.lexical))
    order = np.argsort(-score_, kind="stable")
    return cand.ids[order], score_[order]


def main() -> None:
    embedder = load_embedder(os.environ.get("SEMSEARCH_MODEL", "all-MiniLM-L6-v2"))
    cache_dir = Path(os.environ.get("SEMSEARCH_CACHE_DIR", "/tmp"))
    if sys.argv[1] == "notes":
        searcher = Searcher.open(Path(os.environ.get("SEMSEARCH_INDEX_DIR", "index")), embedder)
        build = searcher.build
        sentences = sentence_vectors(build, embedder, cache_dir / f"sentvec-{build.manifest.build_id}.npy")
        queries = load_queries(SHARED / "eval" / "notes-dev.jsonl")
        vectors = embedder.embed_queries([q.query for q in queries])
        for weights in WEIGHTS:
            run = {}
            for q, vector in zip(queries, vectors, strict=True):
                rows, scores = fused(build, q.query, vector, sentences, weights)
                ranked = [build.chunks[int(r)] for r in rows]
                run[q.id] = [{"text": ranked[head].text, "score": float(scores[head])}
                             for head, _ in collapse(ranked, threshold=0.6, limit=10)]
            report = score_by_kind(queries, run)
            figures = " ".join(f"{m} {report['all'][m]:.3f}" for m in ("hit@1", "hit@5", "mrr@10", "span_recall@10"))
            sys.stdout.write(f"{weights} {figures}\n")
        return
    folder = SHARED / "benchmarks" / "scifact"
    index_dir = build_beir_index(load_dataset(folder, split="test"), embedder, cache_dir / "beir")
    build = Searcher.open(index_dir, embedder).build
    sentences = sentence_vectors(build, embedder, cache_dir / "sentvec-scifact.npy")
    for split in sys.argv[2:]:
        dataset = load_dataset(folder, split=split)
        qids = list(dataset.queries)
        vectors = embedder.embed_queries([dataset.queries[q] for q in qids])
        for weights in WEIGHTS:
            ranked_docs = {}
            for qid, vector in zip(qids, vectors, strict=True):
                rows, scores = fused(build, dataset.queries[qid], vector, sentences, weights)
                ranked_docs[qid] = [(build.chunks[int(r)].source, float(s)) for r, s in zip(rows, scores, strict=True)]
            metrics = score(dataset.qrels, doc_run(ranked_docs), engine="python")
            sys.stdout.write(f"{split} {weights} nDCG@10 {metrics['ndcg@10']:.4f} "
                             f"Recall@100 {metrics['recall@100']:.4f}\n")


if __name__ == "__main__":
    main()
