"""Loading cost of two checkouts on one generated folder (issue 23, point 2), measured in one run.

    python bench/loading.py generate /tmp/scale-notes --files 8000
    python bench/loading.py build /tmp/scale-notes /tmp/idx-before --tree /tmp/base
    python bench/loading.py build /tmp/scale-notes /tmp/idx-after --tree .
    python bench/loading.py compare --tree before=/tmp/base:/tmp/idx-before --tree after=.:/tmp/idx-after

`compare` alternates the trees for `--rounds` rounds and reports medians: a cold `ask` (a new
process answering one question), `Searcher.open` in a new process, that process's peak RSS, the
RSS and PSS of the second of two processes holding the same build open, and `search()` p50. The
hashing embedder is used throughout, so the figures are semsearch's own overhead, not a model's.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

QUESTION = "how do I rotate the signing keys of the staging cluster"
WORDS = ("cluster deploy rollback kubernetes pod service latency budget index shard replica query "
         "vector embedding token cache eviction policy retry backoff timeout queue worker lease lock "
         "schema migration column table join partition snapshot backup restore certificate rotate "
         "signing key secret vault audit metric alert dashboard trace span sample gradient dropout "
         "optimizer learning rate batch epoch loss accuracy recall precision threshold calibration "
         "staging production canary release branch merge review commit pipeline runner artifact").split()
OPEN_SCRIPT = """
import json, resource, sys, time
from pathlib import Path
from semsearch import Searcher
from semsearch.embedders import load_embedder
started = time.perf_counter()
searcher = Searcher.open(Path(sys.argv[1]), load_embedder("hashing"))
opened = time.perf_counter() - started
searcher.search(sys.argv[2], top_k=5)
times = []
for i in range(int(sys.argv[3])):
    t = time.perf_counter()
    searcher.search(sys.argv[2] + " " + str(i), top_k=5)
    times.append((time.perf_counter() - t) * 1000)
times.sort()
print(json.dumps({"open_s": opened, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "p50_ms": times[len(times) // 2] if times else 0.0}), flush=True)
if len(sys.argv) > 4:
    sys.stdin.readline()  # held open for the RSS/PSS reading
"""


def sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(6, 18))
    return " ".join(words).capitalize() + "."


def generate(folder: Path, files: int, seed: int = 23) -> None:
    """`files` markdown notes in 50 folders: a title, 2-6 sections of 1-4 paragraphs each."""
    rng = random.Random(seed)
    for n in range(files):
        path = folder / f"area-{n % 50:02d}" / f"note-{n:05d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        parts = [f"# {' '.join(rng.choices(WORDS, k=4)).title()}", ""]
        for _ in range(rng.randint(2, 6)):
            parts += [f"## {' '.join(rng.choices(WORDS, k=3)).title()}", ""]
            for _ in range(rng.randint(1, 4)):
                parts += [" ".join(sentence(rng) for _ in range(rng.randint(2, 6))), ""]
        path.write_text("\n".join(parts), encoding="utf-8")


def env(tree: Path, index_dir: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree), "SEMSEARCH_INDEX_DIR": str(index_dir),
            "SEMSEARCH_MODEL": "hashing", "HF_HUB_OFFLINE": "1"}


def cold_ask(tree: Path, index_dir: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "services.main", "ask", QUESTION], env=env(tree, index_dir), cwd=tree,
                   check=True, capture_output=True)
    return time.perf_counter() - started


def memory(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of a process in MB, from /proc/PID/smaps_rollup."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("Rss", "Pss"):
            values[name] = int(rest.split()[0]) / 1024
    return values["Rss"], values["Pss"]


def open_pair(tree: Path, index_dir: Path, searches: int) -> dict[str, float]:
    """Two processes holding the build open: the first's open time, peak RSS and p50, and the
    second's RSS and PSS while both are alive."""
    args = [sys.executable, "-c", OPEN_SCRIPT, str(index_dir), QUESTION, str(searches), "hold"]
    procs, found = [], []
    for _ in range(2):  # one after the other: the second's searches do not overlap the first's
        procs.append(subprocess.Popen(args, env=env(tree, index_dir), cwd=tree, stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True))
        found.append(json.loads(procs[-1].stdout.readline()))  # type: ignore[union-attr]
    first = found[0]
    rss1, pss1 = memory(procs[0].pid)
    rss2, pss2 = memory(procs[1].pid)
    for proc in procs:
        proc.communicate("\n")
    return {**first, "rss_mb": rss1, "pss_two_mb": (pss1 + pss2) / 2, "rss_two_mb": (rss1 + rss2) / 2}


def compare(trees: list[tuple[str, Path, Path]], rounds: int, searches: int) -> None:
    results: dict[str, dict[str, list[float]]] = {name: {} for name, _, _ in trees}
    for _, tree, index_dir in trees:  # warm the page cache once
        cold_ask(tree, index_dir)
    for _ in range(rounds):
        for name, tree, index_dir in trees:
            found = {"cold_ask_s": cold_ask(tree, index_dir), **open_pair(tree, index_dir, searches)}
            for key, value in found.items():
                results[name].setdefault(key, []).append(value)
    base = {key: statistics.median(values) for key, values in results[trees[0][0]].items()}
    keys = list(base)
    sys.stdout.write("tree      " + "".join(f"{k:>20}" for k in keys) + "\n")
    for name, _, _ in trees:
        medians = {key: statistics.median(values) for key, values in results[name].items()}
        sys.stdout.write(f"{name:<10}" + "".join(f"{medians[k]:>12.3f} ({medians[k] / base[k]:.2f})" for k in keys)
                         + "\n")
    sys.stdout.write(json.dumps({"rounds": rounds, "results": results}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    gen = sub.add_parser("generate")
    gen.add_argument("folder", type=Path)
    gen.add_argument("--files", type=int, default=8000)
    build = sub.add_parser("build")
    build.add_argument("folder", type=Path)
    build.add_argument("index_dir", type=Path)
    build.add_argument("--tree", type=Path, default=Path("."))
    cmp = sub.add_parser("compare")
    cmp.add_argument("--tree", action="append", required=True, help="NAME=CHECKOUT:INDEX_DIR")
    cmp.add_argument("--rounds", type=int, default=5)
    cmp.add_argument("--searches", type=int, default=100)
    args = parser.parse_args()
    if args.what == "generate":
        generate(args.folder, args.files)
    elif args.what == "build":
        tree = args.tree.resolve()
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "services.main", "index", str(args.folder.resolve())],
                       env=env(tree, args.index_dir.resolve()), cwd=tree, check=True)
        sys.stdout.write(f"built in {time.perf_counter() - started:.1f}s\n")
    else:
        specs = []
        for spec in args.tree:
            name, _, rest = spec.partition("=")
            checkout, index_dir = rest.split(":")
            specs.append((name, Path(checkout).resolve(), Path(index_dir).resolve()))
        compare(specs, args.rounds, args.searches)


if __name__ == "__main__":
    main()
