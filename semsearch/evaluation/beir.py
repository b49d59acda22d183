"""BEIR evaluation: index a BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv) with the
same pipeline as the notes and score nDCG@10 and Recall@100 with ranx, as BEIR does.

Each document is `title + " " + text` (BEIR's convention), as one chunk (`whole`, truncated by the
model like BEIR's own runs) or split into model-sized chunks (`split`); a document scores the max
over its chunks. Corpus vectors are cached as .npy keyed by model and the exact embedded texts, and
the build itself is cached under the same key, so re-runs with other fusion settings take seconds.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np

from ..embedders import Embedder
from ..errors import SemsearchError
from ..index.format import CURRENT, FORMAT_VERSION
from ..index.glossary import GLOSSARY_VERSION
from ..index.lexical import K1, B
from ..index.sentences import sentence_units
from ..index.writer import write_build
from ..indexing.reuse import embed_in_batches
from ..ranking.fusion import RetrievalConfig
from ..reading.chunking import chunk_note
from ..records import Chunk, Note
from ..search import QueryLimits, Searcher
from .queries import EvalQuery

logger = logging.getLogger(__name__)

DocChunking = Literal["whole", "split"]
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class BeirDataset:
    corpus: dict[str, tuple[str, str]]  # doc id -> (title, text)
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]  # query id -> doc id -> relevance (> 0 only)


def _read_jsonl(path: Path) -> list[dict[str, object]]:
    try:
        with path.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]
    except OSError as exc:
        raise SemsearchError(f"Cannot read {path}: {exc.strerror or exc}.") from None


def load_dataset(folder: Path, *, split: str = "test") -> BeirDataset:
    """The corpus, the queries that have judgements in `split`, and those judgements."""
    corpus = {str(d["_id"]): (str(d.get("title") or ""), str(d.get("text") or ""))
              for d in _read_jsonl(folder / "corpus.jsonl")}
    qrels_path = folder / "qrels" / f"{split}.tsv"
    qrels: dict[str, dict[str, int]] = {}
    try:
        with qrels_path.open(encoding="utf-8") as handle:
            reader = csv.reader(handle, delimiter="\t")
            for row in reader:
                if len(row) < 3 or row[0] == "query-id":
                    continue
                if int(row[2]) > 0:
                    qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    except OSError as exc:
        raise SemsearchError(f"Cannot read {qrels_path}: {exc.strerror or exc}.") from None
    all_queries = {str(q["_id"]): str(q["text"]) for q in _read_jsonl(folder / "queries.jsonl")}
    queries = {qid: all_queries[qid] for qid in qrels if qid in all_queries}
    return BeirDataset(corpus, queries, qrels)


def corpus_chunks(corpus: dict[str, tuple[str, str]], embedder: Embedder,
                  *, chunking: DocChunking = "whole") -> list[Chunk]:
    """The chunks to index; `source` is the document id."""
    chunks: list[Chunk] = []
    for doc_id, (title, text) in corpus.items():
        if chunking == "whole":
            full = f"{title} {text}".strip()
            chunks.append(Chunk(id=doc_id, source=doc_id, heading_path=(), start_line=1, end_line=1,
                                text=full, embed_text=full, title=title or None))
            continue
        note = Note(source=doc_id, text=f"{title}\n{text}" if title else text, format="text",
                    body_start_line=1, title=title or None)
        chunks += chunk_note(note, max_tokens=embedder.max_tokens - 2, overlap_tokens=32,
                             count_tokens=embedder.count_tokens)
    return chunks


def _key(model_name: str, texts: Sequence[str]) -> str:
    digest = hashlib.sha256(model_name.encode() + b"\0")
    for text in texts:
        digest.update(text.encode() + b"\0")
    return digest.hexdigest()[:20]


def cached_vectors(chunks: Sequence[Chunk], embedder: Embedder, cache_dir: Path,
                   *, batch_size: int = 64, progress: Progress | None = None) -> np.ndarray:
    """Vectors of the chunks' embed_text, from `cache_dir` when the same model embedded the same
    texts before."""
    return cached_text_vectors([c.embed_text for c in chunks], embedder, cache_dir, batch_size=batch_size,
                               progress=progress)


def cached_text_vectors(texts: Sequence[str], embedder: Embedder, cache_dir: Path,
                        *, batch_size: int = 64, progress: Progress | None = None) -> np.ndarray:
    """Vectors of `texts` (chunks or their sentences), cached in `cache_dir` by model and texts."""
    path = cache_dir / f"vectors-{_key(embedder.model_name, texts)}.npy"
    if path.is_file():
        vectors: np.ndarray = np.load(path)
        if vectors.shape == (len(texts), embedder.dim):
            logger.info("loaded %d cached vectors from %s", len(texts), path)
            return vectors
    started = time.perf_counter()
    vectors = embed_in_batches(embedder, list(texts), batch_size, progress)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    tmp.replace(path)
    logger.info("embedded %d texts in %.1fs (cached at %s)", len(texts), time.perf_counter() - started,
                path)
    return vectors


def build_beir_index(dataset: BeirDataset, embedder: Embedder, cache_dir: Path,
                     *, chunking: DocChunking = "whole", progress: Progress | None = None,
                     sentences: bool = True) -> Path:
    """An index directory for the corpus (built once per model, chunking and corpus); without
    `sentences`, a build without sentence vectors (like `semsearch index` with the stage off)."""
    chunks = corpus_chunks(dataset.corpus, embedder, chunking=chunking)
    # the build format, BM25's parameters and the sentence stage are part of the key: cached builds
    # made otherwise are not reused
    key = _key(embedder.model_name, [c.embed_text for c in chunks] + [f"format:{FORMAT_VERSION}",
                                                                      f"bm25:{K1}:{B}",
                                                                      f"glossary:{GLOSSARY_VERSION}"]
               + (["sentences"] if sentences else []))
    index_dir = cache_dir / f"index-{key}"
    if (index_dir / CURRENT).is_file():
        return index_dir
    vectors = cached_vectors(chunks, embedder, cache_dir, progress=progress)
    sentence_part = None
    if sentences:
        texts, owner = sentence_units(chunks)
        sentence_part = (cached_text_vectors(texts, embedder, cache_dir, progress=progress), owner)
    write_build(index_dir, chunks, vectors, model_name=embedder.model_name,
                chunking={"beir": chunking, "max_tokens": embedder.max_tokens - 2},
                file_count=len(dataset.corpus), sentences=sentence_part)
    return index_dir


def doc_run(hits_per_query: Mapping[str, Sequence[tuple[str, float]]],
            depth: int = 100) -> dict[str, dict[str, float]]:
    """query id -> doc id -> score, from ranked (doc id, score) chunk lists: each document keeps
    its best chunk; scores are replaced by strictly decreasing ones so that any evaluator (ranx,
    pytrec_eval) sees exactly this order, whatever its tie-breaking."""
    run: dict[str, dict[str, float]] = {}
    for qid, ranked in hits_per_query.items():
        docs: dict[str, float] = {}
        for doc_id, _score in ranked:
            if doc_id not in docs and len(docs) < depth:
                docs[doc_id] = float(depth - len(docs))
        run[qid] = docs or {"__none__": 0.0}
    return run


def score_numpy(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]],
                metrics: Sequence[str] = ("ndcg@10", "recall@100")) -> dict[str, float]:
    """The same trec_eval definitions in plain Python (no numba compile; for tests and checks):
    nDCG@k with linear gains over the judged documents, recall@k = judged found / judged."""
    out: dict[str, float] = {}
    judged = {q: d for q, d in qrels.items() if d}
    for metric in metrics:
        name, _, k_text = metric.partition("@")
        k = int(k_text)
        values = []
        for qid, rels in judged.items():
            ranked = sorted((run.get(qid) or {}).items(), key=lambda item: -item[1])[:k]
            if name == "ndcg":
                dcg = sum(rels.get(d, 0) / math.log2(i + 2) for i, (d, _) in enumerate(ranked))
                ideal = sorted(rels.values(), reverse=True)[:k]
                idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
                values.append(dcg / idcg if idcg else 0.0)
            elif name == "recall":
                values.append(sum(d in rels for d, _ in ranked) / len(rels))
            else:
                raise ValueError(f"unknown metric {metric!r}")
        out[metric] = sum(values) / len(values) if values else 0.0
    return out


def score(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]],
          metrics: Sequence[str] = ("ndcg@10", "recall@100"), *, engine: str = "ranx") -> dict[str, float]:
    """BEIR's metrics with ranx (trec_eval definitions, as pytrec_eval computes them);
    `engine="python"` uses `score_numpy` instead (the same numbers, without ranx's compile time)."""
    if engine == "python":
        return score_numpy(qrels, run, metrics)
    try:
        from ranx import Qrels, Run, evaluate
    except ImportError as exc:
        raise SemsearchError("BEIR scoring needs ranx: pip install 'semsearch[eval]'.") from exc
    judged = {q: d for q, d in qrels.items() if d}
    full_run = {q: run.get(q) or {"__none__": 0.0} for q in judged}
    with warnings.catch_warnings():  # ranx's numba kernels warn about int casts on first compile
        warnings.filterwarnings("ignore", message="unsafe cast")
        result = evaluate(Qrels(judged), Run(full_run), list(metrics), make_comparable=True)
    if isinstance(result, dict):
        return {k: float(v) for k, v in result.items()}
    return {metrics[0]: float(result)}


def retrieve(dataset: BeirDataset, searcher: Searcher, *, depth: int = 100,
             chunk_depth: int | None = None) -> dict[str, dict[str, float]]:
    """The run: each query's top `depth` documents, through `Searcher.search_many`."""
    qids = list(dataset.queries)
    started = time.perf_counter()
    results = searcher.search_many([dataset.queries[q] for q in qids], top_k=chunk_depth or depth)
    logger.info("searched %d queries in %.1fs", len(qids), time.perf_counter() - started)
    ranked = {q: [(h.chunk.source, h.score) for h in result.hits]
              for q, result in zip(qids, results, strict=True)}
    return doc_run(ranked, depth)


def evaluate(folder: Path, embedder: Embedder, cache_dir: Path, *, split: str = "test",
             chunking: DocChunking = "whole", retrieval: RetrievalConfig | None = None,
             progress: Progress | None = None, engine: str = "ranx") -> dict[str, float]:
    """nDCG@10 and Recall@100 of the pipeline on a BEIR folder (duplicate collapse is off: every
    document is judged on its own)."""
    dataset = load_dataset(folder, split=split)
    config = replace(retrieval or RetrievalConfig(), collapse=False)
    index_dir = build_beir_index(dataset, embedder, cache_dir / "beir", chunking=chunking,
                                 progress=progress, sentences=config.sentence_weight > 0)
    chunk_depth = 100 if chunking == "whole" else 300
    searcher = Searcher.open(index_dir, embedder, retrieval=config, limits=QueryLimits(max_top_k=chunk_depth))
    metrics = score(dataset.qrels, retrieve(dataset, searcher, chunk_depth=chunk_depth), engine=engine)
    metrics["queries"] = float(len(dataset.queries))
    return metrics


def run_cli(folder: Path, embedder: Embedder, cache_dir: Path, *, split: str, chunking: DocChunking,
            retrieval: RetrievalConfig, fit: bool,
            notes: Sequence[tuple[Searcher, Sequence[EvalQuery], str]] = ()) -> str:
    """What `semsearch eval --beir` prints; with `fit`, the calibration fitted on the split's queries
    and the `notes` query sets (searcher, queries, name), and how it does on each."""
    if fit:
        from .fitting import fit_calibration

        calibration, report = fit_calibration(folder, embedder, cache_dir, split=split, chunking=chunking,
                                              retrieval=retrieval, notes=notes)
        return f"{embedder.model_name}: {calibration!r}\n{report}"
    metrics = evaluate(folder, embedder, cache_dir, split=split, chunking=chunking, retrieval=retrieval)
    return (f"{folder.name} {split} ({int(metrics['queries'])} queries, {embedder.model_name}, "
            f"fusion {retrieval.fusion}, docs {chunking}): nDCG@10 {metrics['ndcg@10']:.4f} "
            f"Recall@100 {metrics['recall@100']:.4f}")
