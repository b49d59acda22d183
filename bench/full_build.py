"""A full build with the real model, sentence vectors included, against the plain baseline on the
same folder in the same process: sentence-transformers `encode` (fp32, batch 32) of the build's own
chunk texts + `IndexFlatIP`. The baseline is timed from texts already in memory (its reading and
chunking are free); ours is `build_index` from the files to a published build. Runs alternate
baseline / ours, and the median of the per-pair ratios is what counts (a shared, noisy machine).

    SEMSEARCH_MODEL_CACHE=/tmp/sscache python bench/full_build.py ../shared/benchmarks/til-dev/corpus --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import faiss

from semsearch.embedders import Embedder, SupportsBulk, load_embedder
from semsearch.embedders.models import resolve_model
from semsearch.index.sentences import sentence_units
from semsearch.indexing.build import build_index, collect_chunks
from semsearch.reading.files import DEFAULT_INCLUDE, DEFAULT_MAX_FILE_BYTES

RESULTS = Path(__file__).resolve().parent / "results"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def baseline(model: object, texts: list[str]) -> float:
    """Seconds for the plain baseline: encode `texts` and add them to an IndexFlatIP."""
    started = time.perf_counter()
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True,  # type: ignore[attr-defined]
                           convert_to_numpy=True)
    faiss.IndexFlatIP(vectors.shape[1]).add(vectors)
    return time.perf_counter() - started


def ours(embedder: Embedder, notes: Path, sentences: bool) -> tuple[float, int, int]:
    """Seconds for `build_index` into a fresh folder (nothing to reuse); (seconds, chunks, sentences)."""
    index_dir = Path(tempfile.mkdtemp(prefix="full-build-"))
    try:
        started = time.perf_counter()
        report = build_index(notes, index_dir, embedder, store_sentences=sentences)
        return time.perf_counter() - started, report.chunks, report.sentences
    finally:
        shutil.rmtree(index_dir, ignore_errors=True)


def first_files(notes: Path, count: int) -> Path:
    """A temp copy of the first `count` files under `notes` (sorted by path), folders kept."""
    copy = Path(tempfile.mkdtemp(prefix="full-build-notes-"))
    for path in sorted(p for p in notes.rglob("*") if p.is_file())[:count]:
        target = copy / path.relative_to(notes)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("notes", type=Path, help="the folder of notes to build")
    parser.add_argument("--runs", type=int, default=3, help="baseline / ours pairs (median ratio)")
    parser.add_argument("--no-sentences", action="store_true", help="build without sentence vectors")
    parser.add_argument("--max-files", type=int, help="only the first N files (by path), copied to a temp folder")
    args = parser.parse_args()
    if args.max_files:
        args.notes = first_files(args.notes, args.max_files)
    from sentence_transformers import SentenceTransformer

    embedder = load_embedder(MODEL)  # what `semsearch index` loads
    chunks, _, _ = collect_chunks(args.notes, embedder, include=DEFAULT_INCLUDE,
                                  max_file_bytes=DEFAULT_MAX_FILE_BYTES, overlap_tokens=32)
    texts = [c.embed_text for c in chunks]
    sentence_texts, _ = sentence_units(chunks)
    if isinstance(embedder, SupportsBulk):  # load the backend the build will use before any clock starts
        embedder.for_bulk(texts)
    model = SentenceTransformer(str(resolve_model(MODEL).model_dir()), device="cpu")
    model.encode(texts[:64], batch_size=32)  # warm both
    write = sys.stdout.write
    write(f"{args.notes}: {len(texts)} chunks, {len(sentence_texts)} sentences; load {os.getloadavg()[0]:.1f}\n")
    pairs = []
    for run in range(args.runs):
        base = baseline(model, texts)
        mine, chunk_count, sentence_count = ours(embedder, args.notes, sentences=not args.no_sentences)
        pairs.append((base, mine))
        write(f"run {run + 1}: baseline {base:.1f} s, build {mine:.1f} s ({chunk_count} chunks, "
              f"{sentence_count} sentences): {mine / base:.2f}x; load {os.getloadavg()[0]:.1f}\n")
    ratios = [m / b for b, m in pairs]
    row = {"notes": str(args.notes), "chunks": len(texts), "sentences": len(sentence_texts),
           "store_sentences": not args.no_sentences, "baseline_s": [b for b, _ in pairs],
           "build_s": [m for _, m in pairs], "ratios": ratios, "ratio_median": statistics.median(ratios),
           "load_end": os.getloadavg()}
    write(f"build / baseline: median {statistics.median(ratios):.2f}x over {len(ratios)} pairs "
          f"({' '.join(f'{r:.2f}' for r in ratios)})\n")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"full-build-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(row, indent=2))
    write(f"wrote {path}\n")


if __name__ == "__main__":
    main()
