"""Filtered vector search at scale: p50/p99 latency of a top-10 search within 1%, 10% and 100% of
the passages (the allowed ids a `semsearch.filters.Filter` resolves to), against unfiltered search
in the same run, for the store the index picks at this size (HNSW at 100k) and for Flat, on
clustered 384-d unit vectors. Each figure is the median over `--repeats` runs of `--queries`
queries, one query at a time; recall@10 of each filtered search is against brute force over the
allowed ids.

    python bench/filtered_search.py [--size 100000] [--queries 50] [--repeats 3]
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

import semsearch.index.vectors as vectors

RESULTS = Path(__file__).resolve().parent / "results"
SELECTIVITIES = (0.01, 0.1, 1.0)
K = 10


def timed(store: vectors.VectorStore, queries: np.ndarray,
          allowed: np.ndarray | None) -> tuple[list[float], np.ndarray]:
    """Milliseconds per query, and the ids found."""
    times, found = [], []
    for q in queries:
        started = time.perf_counter()
        found.append(store.search(q[None, :], K, allowed=allowed)[1][0])
        times.append((time.perf_counter() - started) * 1000)
    return times, np.asarray(found)


def exact(data: np.ndarray, queries: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    scores = queries @ data[allowed].T
    return allowed[np.argsort(-scores, axis=1)[:, :K]]


def run(size: int, dim: int, n_queries: int, repeats: int) -> list[dict[str, object]]:
    data = clustered(size, dim, seed=0)
    rng = np.random.default_rng(7)
    allowed_sets = {s: np.sort(rng.choice(size, size=int(s * size), replace=False)).astype(np.int64)
                    for s in SELECTIVITIES}
    rows: list[dict[str, object]] = []
    for description in dict.fromkeys([vectors.choose_store_type(size), vectors.FLAT]):
        started = time.perf_counter()
        store = vectors.FaissStore(dim, description, use_gpu=False)
        store.add(np.arange(size, dtype=np.int64), data)
        build_s = time.perf_counter() - started
        for label, allowed in [("unfiltered", None), *((f"{s:.0%}", allowed_sets[s]) for s in SELECTIVITIES)]:
            p50s, p99s, recalls = [], [], []
            for repeat in range(repeats):
                queries = clustered(n_queries, dim, seed=100 + repeat)
                times, found = timed(store, queries, allowed)
                p50s.append(float(np.percentile(times, 50)))
                p99s.append(float(np.percentile(times, 99)))
                want = exact(data, queries, allowed if allowed is not None else np.arange(size, dtype=np.int64))
                recalls.append(np.mean([len(set(a) & set(b)) / K for a, b in zip(found, want, strict=True)]))
            rows.append({"vectors": size, "store": description, "build_s": round(build_s, 1), "filter": label,
                         "allowed": size if allowed is None else len(allowed),
                         "path": "graph/flat" if allowed is None else (
                             "exact over allowed" if len(allowed) <= vectors.EXACT_ALLOWED_LIMIT
                             else "IDSelectorBatch"),
                         "p50_ms": round(float(np.median(p50s)), 3), "p99_ms": round(float(np.median(p99s)), 3),
                         "recall@10": round(float(np.median(recalls)), 4),
                         "chosen": description == vectors.choose_store_type(size)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = run(args.size, args.dim, args.queries, args.repeats)
    sys.stdout.write(f"{'store':<28}{'filter':>11}{'allowed':>9}  {'path':<20}{'p50 ms':>9}{'p99 ms':>9}"
                     f"{'recall@10':>11}\n")
    for r in rows:
        sys.stdout.write(f"{r['store']!s:<28}{r['filter']!s:>11}{r['allowed']!s:>9}  {r['path']!s:<20}"
                         f"{r['p50_ms']!s:>9}{r['p99_ms']!s:>9}{r['recall@10']!s:>11}{' *' if r['chosen'] else ''}\n")
    sys.stdout.write("* = the store semsearch picks at this size\n")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"filtered-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps({"machine": platform.processor() or platform.machine(), "args": vars(args),
                               "rows": rows}, indent=2))
    sys.stdout.write(f"wrote {out}\n")


if __name__ == "__main__":
    main()
