"""Cold `ask` and in-process `Searcher.search()` latency of two checkouts, measured in one run.

Each tree is `NAME=CHECKOUT:INDEX_DIR:CLI_MODULE` (the module whose `ask` is the command, e.g.
`semsearch.cli` before the redesign of issue 17, `services.cli` after). Rounds alternate between
the trees, so both see the same machine load; medians over the rounds are reported, with the
ratio of each tree to the first.

    python bench/compare_trees.py --tree before=/tmp/base:/tmp/idx-old:semsearch.cli \\
        --tree after=.:/tmp/idx-new:services.cli --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

QUESTION = "what is inverted dropout"
QUERIES = Path(__file__).resolve().parents[2] / "shared/eval/notes-dev.jsonl"
SEARCH_SCRIPT = """
import json, statistics, sys, time
from pathlib import Path
from semsearch import Searcher
from semsearch.embedders import load_embedder
queries = [json.loads(line)["query"] for line in Path(sys.argv[2]).read_text().splitlines() if line.strip()]
searcher = Searcher.open(Path(sys.argv[1]), load_embedder("sentence-transformers/all-MiniLM-L6-v2"))
for q in queries[:10]:
    searcher.search(q, top_k=5)
times = []
for i in range(int(sys.argv[3])):
    started = time.perf_counter()
    searcher.search(queries[i % len(queries)], top_k=5)
    times.append((time.perf_counter() - started) * 1000)
print(json.dumps({"p50_ms": statistics.median(times)}))
"""


@dataclass(frozen=True)
class Tree:
    name: str
    checkout: Path
    index_dir: Path
    cli_module: str

    @classmethod
    def parse(cls, spec: str) -> Tree:
        name, _, rest = spec.partition("=")
        checkout, index_dir, module = rest.split(":")
        return cls(name, Path(checkout).resolve(), Path(index_dir).resolve(), module)

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(self.checkout), "SEMSEARCH_INDEX_DIR": str(self.index_dir),
                "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def cold_ask(tree: Tree) -> float:
    """Seconds of one `ask` in a new process, on an existing index."""
    code = f"import sys; from {tree.cli_module} import ask; sys.argv = ['ask', {QUESTION!r}]; ask()"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=tree.env(), cwd=tree.checkout, check=True,
                   capture_output=True)
    return time.perf_counter() - started


def search_p50(tree: Tree, n: int) -> float:
    """Median milliseconds of one in-process `search()` over the notes dev queries."""
    out = subprocess.run([sys.executable, "-c", SEARCH_SCRIPT, str(tree.index_dir), str(QUERIES), str(n)],
                         env=tree.env(), cwd=tree.checkout, check=True, capture_output=True, text=True)
    p50: float = json.loads(out.stdout.strip().splitlines()[-1])["p50_ms"]
    return p50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", action="append", required=True, type=Tree.parse)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--searches", type=int, default=200)
    args = parser.parse_args()
    trees: list[Tree] = args.tree
    asks: dict[str, list[float]] = {t.name: [] for t in trees}
    searches: dict[str, list[float]] = {t.name: [] for t in trees}
    for tree in trees:  # warm the page cache and the ONNX session files once
        cold_ask(tree)
    for _ in range(args.rounds):
        for tree in trees:
            asks[tree.name].append(cold_ask(tree))
            searches[tree.name].append(search_p50(tree, args.searches))
    first = trees[0].name
    base_ask, base_search = statistics.median(asks[first]), statistics.median(searches[first])
    sys.stdout.write(f"{'tree':<10}{'cold ask s (median)':>22}{'ratio':>8}{'search p50 ms (median)':>25}{'ratio':>8}\n")
    for tree in trees:
        ask_s, search_ms = statistics.median(asks[tree.name]), statistics.median(searches[tree.name])
        sys.stdout.write(f"{tree.name:<10}{ask_s:>22.3f}{ask_s / base_ask:>8.2f}{search_ms:>25.2f}"
                         f"{search_ms / base_search:>8.2f}\n")
    sys.stdout.write(json.dumps({"rounds": args.rounds, "ask_s": asks, "search_p50_ms": searches}) + "\n")


if __name__ == "__main__":
    main()
