"""Vector store choice at scale: build time, memory, p50/p99 search latency and recall@10 of the
FAISS store `semsearch.index.vectors` picks vs the exact Flat store, on clustered 384-d vectors.

    python bench/ann_bench.py --sizes 10000 100000 [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
from synthetic import clustered

import semsearch.index.vectors as ann
from semsearch.evaluation.recall import recall_at_k

RESULTS = Path(__file__).resolve().parent / "results"


def latencies(index: ann.VectorStore, queries: np.ndarray) -> tuple[float, float, np.ndarray]:
    times, ids = [], []
    for q in queries:
        started = time.perf_counter()
        ids.append(index.search(q[None, :], 10)[1][0])
        times.append(time.perf_counter() - started)
    ms = np.array(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), np.array(ids)


def run(size: int, dim: int, n_queries: int) -> list[dict[str, object]]:
    data = clustered(size, dim, seed=0)
    queries = clustered(n_queries, dim, seed=1)
    rows = []
    exact_ids = None
    for index_type in ["Flat", ann.choose_store_type(size, flat_limit=0)]:
        started = time.perf_counter()
        index = ann.FaissStore(dim, index_type)
        index.add(np.arange(len(data), dtype=np.int64), data)
        build_s = time.perf_counter() - started
        p50, p99, ids = latencies(index, queries)
        exact_ids = ids if exact_ids is None else exact_ids
        rows.append({"vectors": size, "index": index_type, "build_s": round(build_s, 2),
                     "memory_mb": round(len(index.to_bytes()) / 2**20, 1),
                     "p50_ms": round(p50, 3), "p99_ms": round(p99, 3),
                     "recall@10": round(recall_at_k(ids, exact_ids, 10), 4),
                     "chosen": index_type == ann.choose_store_type(size)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rows = [row for size in args.sizes for row in run(size, args.dim, args.queries)]
    head = f"{'vectors':>9} {'index':<28}{'build s':>9}{'MB':>8}{'p50 ms':>9}{'p99 ms':>9}{'recall@10':>11}"
    sys.stdout.write(head + "\n")
    for r in rows:
        sys.stdout.write(f"{r['vectors']:>9} {r['index']:<28}{r['build_s']:>9}{r['memory_mb']:>8}"
                         f"{r['p50_ms']:>9}{r['p99_ms']:>9}{r['recall@10']:>11}"
                         f"{' *' if r['chosen'] else ''}\n")
    sys.stdout.write("* = the index semsearch chooses at this size\n")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"ann-{time.strftime('%Y%m%dT%H%M%S')}.json"
    machine = platform.processor() or platform.machine()
    out.write_text(json.dumps({"machine": machine, "rows": rows}, indent=2))
    sys.stdout.write(f"wrote {out}\n")


if __name__ == "__main__":
    main()
