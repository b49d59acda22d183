"""Reader throughput per format (files/s, MB/s, through `reading.files.read_note`, the way a build
reads) on generated files of realistic size, and the build time of a mixed folder with the hashing
embedder (full build, then an unchanged re-sync).

    python bench/readers.py [--copies 5] [--runs 5]

Files: a 30-page PDF (fpdf2, an outline entry per section), a 20-page Word file (python-docx,
headings and a table), a 40-cell notebook (nbformat, code cells with outputs), a ~100 KB HTML page,
and ~50 KB org, rst and markdown notes; `--copies` of each, with different words. Needs the `dev` extra.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from semsearch.embedders.hashing import HashingEmbedder  # noqa: E402
from semsearch.indexing.build import build_index  # noqa: E402
from semsearch.reading.files import read_note  # noqa: E402
from semsearch.records import Note  # noqa: E402
from tests.formats.documents import write_docx, write_notebook, write_pdf  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
WORDS = ("salamander regeneration blastema limb axolotl gradient descent optimizer learning rate batch "
         "normalization dropout kernel vector index query passage citation page cell notebook survey "
         "commute bridge median river tomato garden compost water morning evening sourdough starter flour "
         "oven router firewall snapshot storage pool backup nightly rotate key vault the a of and to in is "
         "for with on by that this from as are was be it at or").split()


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 16))]
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random, sentences: int = 4) -> str:
    return " ".join(sentence(rng) for _ in range(sentences))


def write_all(root: Path, copy: int) -> None:
    rng = random.Random(copy)
    pages = [[sentence(rng)[:95] for _ in range(38)] for _ in range(30)]
    write_pdf(root / f"paper-{copy}.pdf", pages, headings=[f"Section {i + 1}" if i % 3 == 0 else None
                                                           for i in range(30)])
    blocks: list[tuple[str, str]] = [("Title", f"Report {copy}")]
    for section in range(20):  # about a page each
        blocks.append(("Heading 1", f"Part {section + 1}"))
        blocks += [("Normal", paragraph(rng, 5)) for _ in range(5)]
    table = [[rng.choice(WORDS) for _ in range(4)] for _ in range(10)]
    write_docx(root / f"report-{copy}.docx", blocks, table=table)
    cells: list[tuple[str, str]] = []
    for i in range(20):
        cells.append(("markdown", f"## Step {i + 1}\n\n{paragraph(rng, 3)}"))
        cells.append(("code", "\n".join(f"value_{j} = compute('{rng.choice(WORDS)}', {j})" for j in range(8))))
    write_notebook(root / f"analysis-{copy}.ipynb", cells)
    body = "".join(f"<h2>Topic {i}</h2>\n<p>{paragraph(rng, 5)}</p>\n<ul><li>{sentence(rng)}</li></ul>\n"
                   for i in range(200))
    (root / f"page-{copy}.html").write_text(
        f"<!DOCTYPE html><html><head><title>Page {copy}</title><script>var x = 1;</script></head><body>"
        f"<nav>Home</nav><main><h1>Page {copy}</h1>{body}</main><footer>(c)</footer></body></html>")
    org = "".join(f"* Topic {i}\n{paragraph(rng)}\n** Detail\n{paragraph(rng)}\n" for i in range(45))
    (root / f"notes-{copy}.org").write_text(f"#+TITLE: Notes {copy}\n{org}")
    rst = "".join(f"Topic {i}\n{'=' * len(f'Topic {i}')}\n\n{paragraph(rng)}\n\nDetail\n------\n\n"
                  f"{paragraph(rng)}\n\n" for i in range(45))
    (root / f"docs-{copy}.rst").write_text(rst)
    md = "".join(f"## Topic {i}\n\n{paragraph(rng)}\n\n### Detail\n\n{paragraph(rng)}\n\n" for i in range(45))
    (root / f"note-{copy}.md").write_text(f"# Note {copy}\n\n{md}")


def time_reads(paths: list[Path], root: Path, runs: int) -> tuple[float, float]:
    """Median seconds to read all `paths` once, over `runs` runs (after one warm-up read)."""
    for path in paths[:1]:
        read_note(path, root)  # starts the worker process for PDF and Word files
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        for path in paths:
            note = read_note(path, root)
            assert isinstance(note, Note), (path, note)
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="readers-bench-"))
    try:
        for copy in range(args.copies):
            write_all(root, copy)
        rows = []
        for suffix in (".pdf", ".docx", ".ipynb", ".html", ".org", ".rst", ".md"):
            paths = sorted(root.glob(f"*{suffix}"))
            size = sum(p.stat().st_size for p in paths)
            median, _ = time_reads(paths, root, args.runs)
            rows.append({"format": suffix, "files": len(paths), "mean_kb": size / len(paths) / 1024,
                         "files_per_s": len(paths) / median, "mb_per_s": size / 2**20 / median,
                         "ms_per_file": 1000 * median / len(paths)})
        builds, resyncs = [], []
        for _ in range(args.runs):
            index = Path(tempfile.mkdtemp(prefix="readers-index-"))
            started = time.perf_counter()
            report = build_index(root, index, HashingEmbedder())
            builds.append(time.perf_counter() - started)
            started = time.perf_counter()
            again = build_index(root, index, HashingEmbedder())
            resyncs.append(time.perf_counter() - started)
            assert again.embedded == 0
            shutil.rmtree(index)
        files = sum(1 for _ in root.iterdir())
        mixed = {"files": files, "mb": sum(p.stat().st_size for p in root.iterdir()) / 2**20,
                 "chunks": report.chunks, "build_s": statistics.median(builds),
                 "resync_s": statistics.median(resyncs)}
    finally:
        shutil.rmtree(root)
    sys.stdout.write(f"{'format':<7} {'files':>5} {'KB/file':>8} {'files/s':>8} {'MB/s':>6} {'ms/file':>8}\n")
    for r in rows:
        sys.stdout.write(f"{r['format']:<7} {r['files']:>5} {r['mean_kb']:>8.0f} {r['files_per_s']:>8.1f} "
                         f"{r['mb_per_s']:>6.2f} {r['ms_per_file']:>8.1f}\n")
    sys.stdout.write(f"mixed folder: {mixed['files']} files, {mixed['mb']:.1f} MB, {mixed['chunks']} chunks: "
                     f"build {mixed['build_s']:.2f} s, unchanged re-sync {mixed['resync_s']:.2f} s "
                     f"(medians of {args.runs})\n")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"readers-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"machine": platform.processor() or platform.machine(), "runs": args.runs,
                               "readers": rows, "mixed": mixed}, indent=1))
    sys.stdout.write(f"wrote {out}\n")


if __name__ == "__main__":
    main()
