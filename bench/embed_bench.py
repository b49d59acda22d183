"""Embedding speed: ingest throughput (chunks/s) per backend against the plain baseline
(sentence-transformers `encode` + IndexFlatIP) in the same run, in-process query latency, and
`ask` cold-start time.

    SEMSEARCH_MODEL_CACHE=/tmp/sscache python bench/embed_bench.py --scifact 1000 --ask-runs 10 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import faiss
import numpy as np

from semsearch.embedders import Embedder, SupportsBulk, load_embedder
from semsearch.embedders.bulk import BULK_BATCH_SIZE
from semsearch.embedders.models import resolve_model
from semsearch.embedders.sentence_transformer import SentenceTransformerEmbedder
from semsearch.indexing.build import collect_chunks, embed_in_batches
from semsearch.reading.files import DEFAULT_INCLUDE, DEFAULT_MAX_FILE_BYTES
from semsearch.settings import bundled_notes_dir

RESULTS = Path(__file__).resolve().parent / "results"
SCIFACT = Path(__file__).resolve().parents[2] / "shared/benchmarks/scifact/corpus.jsonl"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
QUERIES = ["what is inverted dropout", "how do we rotate api keys", "gradient clipping",
           "difference between precision and recall", "why normalize embeddings"]


def corpora(scifact: int) -> dict[str, list[str]]:
    onnx = load_embedder(MODEL, backend="onnx")
    chunks, _, _ = collect_chunks(bundled_notes_dir(), onnx, include=DEFAULT_INCLUDE,
                                  max_file_bytes=DEFAULT_MAX_FILE_BYTES, overlap_tokens=32)
    out = {"notes": [c.embed_text for c in chunks]}
    if scifact and SCIFACT.is_file():
        rows = [json.loads(line) for line in SCIFACT.read_text().splitlines()[:scifact]]
        out[f"scifact[:{scifact}]"] = [f"{r.get('title', '')}\n{r['text']}" for r in rows]
    return out


def baseline(texts: list[str]) -> float:
    """Plain sentence-transformers encode + IndexFlatIP: seconds."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(resolve_model(MODEL).model_dir()), device="cpu")
    started = time.perf_counter()
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    faiss.IndexFlatIP(vectors.shape[1]).add(vectors)
    return time.perf_counter() - started


def make_embedder(backend: str) -> Embedder:
    """`torch-fp32` / `torch-bf16`: sentence-transformers in that precision; otherwise a
    `load_embedder` backend (`auto` is what `semsearch index` uses: ONNX, with jobs over
    bulk.BULK_MIN_CHARS handed to torch-bf16 on a CPU with native bf16)."""
    if backend.startswith("torch-"):
        return SentenceTransformerEmbedder(resolve_model(MODEL), device="cpu", precision=backend[6:],
                                           batch_size=BULK_BATCH_SIZE if backend == "torch-bf16" else 64)
    return load_embedder(MODEL, backend=backend)


def ours(backend: str, texts: list[str]) -> float:
    embedder = make_embedder(backend)
    if isinstance(embedder, SupportsBulk):  # load what the job will use before the clock starts
        embedder.for_bulk(texts)
    started = time.perf_counter()
    vectors = embed_in_batches(embedder, texts, 64)
    faiss.IndexFlatIP(vectors.shape[1]).add(vectors)
    return time.perf_counter() - started


def query_latency(backend: str, n: int = 100) -> tuple[float, float]:
    embedder = make_embedder(backend)
    index = faiss.IndexFlatIP(embedder.dim)
    index.add(np.random.default_rng(0).normal(size=(400, embedder.dim)).astype(np.float32))
    times = []
    for i in range(n):
        started = time.perf_counter()
        index.search(embedder.embed_queries([QUERIES[i % len(QUERIES)]]), 5)
        times.append((time.perf_counter() - started) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def search_latency(index_dir: Path, n: int = 200) -> dict[str, float]:
    """The whole in-process query (embed + hybrid search + rank + collapse) on a built index, next
    to the plain baseline (sentence-transformers encode + IndexFlatIP over the same vectors)."""
    from sentence_transformers import SentenceTransformer

    from semsearch import Searcher
    from semsearch.index.loader import load_current

    searcher = Searcher.open(index_dir, load_embedder(MODEL, backend="auto"))
    texts = eval_queries()
    for q in texts[:10]:
        searcher.search(q)
    ours = []
    for i in range(n):
        started = time.perf_counter()
        searcher.search(texts[i % len(texts)])
        ours.append((time.perf_counter() - started) * 1000)
    stored = load_current(index_dir).vectors
    flat = faiss.IndexFlatIP(stored.dim)
    flat.add(stored.vectors(np.arange(stored.count(), dtype=np.int64)))
    model = SentenceTransformer(str(resolve_model(MODEL).model_dir()), device="cpu")
    plain = []
    for i in range(n):
        started = time.perf_counter()
        flat.search(model.encode([texts[i % len(texts)]], normalize_embeddings=True, convert_to_numpy=True), 5)
        plain.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": float(np.percentile(ours, 50)), "p99_ms": float(np.percentile(ours, 99)),
            "baseline_p50_ms": float(np.percentile(plain, 50)), "baseline_p99_ms": float(np.percentile(plain, 99))}


def eval_queries() -> list[str]:
    path = SCIFACT.parents[2] / "eval/notes-dev.jsonl"
    if path.is_file():
        return [json.loads(line)["query"] for line in path.read_text().splitlines() if line.strip()]
    return QUERIES


def ask_cold(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(["ask", "what is inverted dropout"], check=True, capture_output=True, env=os.environ)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scifact", type=int, default=1000, help="SciFact abstracts (0: none)")
    parser.add_argument("--backends", nargs="+", default=["torch-fp32", "torch-bf16", "onnx", "onnx-int8", "auto"])
    parser.add_argument("--ask-runs", type=int, default=10)
    parser.add_argument("--runs", type=int, default=1, help="baseline/backend pairs per ingest row (median ratio)")
    parser.add_argument("--index", type=Path, help="a built index: time the whole in-process search() on it")
    parser.add_argument("--skip-ingest", action="store_true")
    args = parser.parse_args()
    out: dict[str, object] = {"load": os.getloadavg(), "ingest": [], "query": [], "ask": {}}
    write = sys.stdout.write
    write(f"{'corpus':<16}{'backend':<12}{'chunks':>7}{'chunks/s':>10}{'baseline/s':>12}{'ratio':>7}\n")
    for name, texts in ({} if args.skip_ingest else corpora(args.scifact)).items():
        for backend in args.backends:
            # baseline and ours back to back, `--runs` times: the median ratio is what counts
            pairs = [(baseline(texts), ours(backend, texts)) for _ in range(args.runs)]
            ratios = [b / m for b, m in pairs]
            base = statistics.median(b for b, _ in pairs)
            mine = statistics.median(m for _, m in pairs)
            ratio = statistics.median(ratios)
            row = {"corpus": name, "backend": backend, "chunks": len(texts), "runs": args.runs,
                   "chunks_per_s": len(texts) / mine, "baseline_per_s": len(texts) / base,
                   "ratio_median": ratio, "ratios": ratios}
            out["ingest"].append(row)  # type: ignore[attr-defined]
            write(f"{name:<16}{backend:<12}{len(texts):>7}{len(texts) / mine:>10.1f}"
                  f"{len(texts) / base:>12.1f}{ratio:>7.2f}  ({' '.join(f'{r:.2f}' for r in ratios)})\n")
    write(f"\n{'backend':<12}{'query p50 ms':>14}{'p99 ms':>10}\n")
    for backend in args.backends:
        p50, p99 = query_latency(backend)
        out["query"].append({"backend": backend, "p50_ms": p50, "p99_ms": p99})  # type: ignore[attr-defined]
        write(f"{backend:<12}{p50:>14.2f}{p99:>10.2f}\n")
    if args.index:
        row = search_latency(args.index)
        out["search"] = row
        write(f"\nsearch() on {args.index}: p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms; "
              f"baseline (ST encode + IndexFlatIP) p50 {row['baseline_p50_ms']:.2f} ms, "
              f"p99 {row['baseline_p99_ms']:.2f} ms\n")
    if args.ask_runs:
        times = ask_cold(args.ask_runs)
        out["ask"] = {"runs": times, "median_s": statistics.median(times)}
        write(f"\nask cold start: median {statistics.median(times):.2f}s over {len(times)} runs "
              f"(min {min(times):.2f}, max {max(times):.2f}); load {os.getloadavg()[0]:.1f}\n")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"embed-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(out, indent=2))
    write(f"wrote {path}\n")


if __name__ == "__main__":
    main()
