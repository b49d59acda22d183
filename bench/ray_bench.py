"""Ingest throughput (chunks/s) of `semsearch index --ray` with 1 and 2 embedding actors against the
local path, in the same run and on the same corpus: the bundled notes, plus `--scifact N` documents
of the SciFact corpus written as one file each. Every build starts from an empty index (nothing
reused); each timing is end to end (model loads included), Ray's startup is reported apart.

    nice python bench/ray_bench.py --scifact 1000 --runs 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from semsearch.embedders import load_embedder
from semsearch.indexing.build import BuildReport, build_index
from semsearch.indexing.ray import ModelRef, build_index_ray
from semsearch.settings import bundled_notes_dir

RESULTS = Path(__file__).resolve().parent / "results"
SCIFACT = Path(__file__).resolve().parents[2] / "shared/benchmarks/scifact/corpus.jsonl"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def corpus(root: Path, scifact: int) -> Path:
    """The bundled notes and the first `scifact` SciFact documents, one .txt file each."""
    shutil.copytree(bundled_notes_dir(), root / "notes")
    if scifact:
        folder = root / "notes" / "scifact"
        folder.mkdir()
        with SCIFACT.open(encoding="utf-8") as lines:
            for _, line in zip(range(scifact), lines, strict=False):
                doc = json.loads(line)
                (folder / f"{doc['_id']}.txt").write_text(f"{doc['title']}\n\n{doc['text']}\n", encoding="utf-8")
    return root / "notes"


def timed(build: Callable[[Path], BuildReport], index_dir: Path) -> tuple[float, int]:
    shutil.rmtree(index_dir, ignore_errors=True)
    started = time.perf_counter()
    report = build(index_dir)
    return time.perf_counter() - started, report.chunks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scifact", type=int, default=1000, help="SciFact documents added to the notes")
    parser.add_argument("--runs", type=int, default=1, help="builds per configuration (median kept)")
    parser.add_argument("--backend", default="onnx", help="embedding backend (all configurations)")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    import ray

    cpus = os.cpu_count() or 1
    started = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    ray_start = time.perf_counter() - started
    ray.data.DataContext.get_current().enable_progress_bars = False
    ref = ModelRef(MODEL, backend=args.backend)
    configs: dict[str, Callable[[Path], BuildReport]] = {
        "local": lambda index: build_index(notes, index, load_embedder(MODEL, backend=args.backend),
                                           batch_size=args.batch_size),
        "ray-1-worker": lambda index: build_index_ray(notes, index, ref, workers=1, batch_size=args.batch_size),
        "ray-2-workers": lambda index: build_index_ray(notes, index, ref, workers=2, batch_size=args.batch_size),
    }
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        notes = corpus(Path(tmp), args.scifact)
        for _ in range(args.runs):
            for name, build in configs.items():  # interleaved, so load drifts hit every configuration
                seconds, chunks = timed(build, Path(tmp) / "index")
                rows.append({"config": name, "seconds": seconds, "chunks": chunks})
    ray.shutdown()
    summary = {}
    for name in configs:
        runs = [r for r in rows if r["config"] == name]
        seconds = statistics.median(float(r["seconds"]) for r in runs)
        chunks = int(runs[0]["chunks"])
        summary[name] = {"chunks": chunks, "seconds": round(seconds, 2), "chunks_per_s": round(chunks / seconds, 1)}
        print(f"{name:<15} {chunks:>6} chunks {seconds:>8.2f} s {chunks / seconds:>8.1f} chunks/s")  # noqa: T201
    print(f"ray.init: {ray_start:.1f} s")  # noqa: T201
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"ray-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps({"model": MODEL, "backend": args.backend, "scifact": args.scifact,
                               "runs": args.runs, "cpus": cpus, "machine": platform.machine(),
                               "ray_init_s": round(ray_start, 2), "summary": summary, "rows": rows}, indent=2))
    print(f"wrote {out}")  # noqa: T201


if __name__ == "__main__":
    main()
