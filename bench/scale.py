"""Scale benchmark (issue 23): generate a large, realistic markdown notes folder and measure
semsearch on it, each step in a fresh subprocess so that memory and cold starts are real.

Measured, with the hashing embedder (`SEMSEARCH_MODEL=hashing`) so that the figures are
semsearch's own overhead and not the model's:

- build     first build: wall time, peak RSS
- resync    the same `semsearch index` again (nothing changed): wall, peak RSS, new build written?
- edit      a sentence with a unique token appended to one file, sync, then `ask` the token:
            sync time, total to searchable, whether the file is the top hit
- cold_ask  `semsearch ask` in a new process: median wall over --repeats runs, peak RSS
- search    one process: `Searcher.open`, then 200 `search()` calls: p50/p99/mean
- serve1, serve4   `semsearch serve --workers 1` / `4` on 127.0.0.1: RSS (and PSS) summed over
            the server's process tree once every worker has loaded the index and answered
- disk      size of the published build, per file and in total
- cold_ask_model   cold `ask` with the default ONNX model (offline) loading and embedding each
            question, on a stand-in build of the same folder: its vectors are hashing vectors of
            the model's width filed under the model's name (`StandInEmbedder`), so that a build
            takes minutes; the vectors mean nothing, the work of answering is the real model's
- real      (only with --real-model) the default ONNX model, `HF_HUB_OFFLINE=1`: a build of the
            same folder with it (slow: it embeds every chunk and sentence), then cold `ask`

Generation is deterministic for a --seed (and a Python version: the vocabulary is taken from the
standard library's docstrings): front matter on some files, `#`/`##`/`###` headings, paragraphs
of Zipf-distributed words with topic words mixed in, lists, code fences, links, 100 topic
folders with subfolders; about 4.5 KB a file.

    python bench/scale.py --files 10000 --json bench/results/scale-10k.json
    python bench/scale.py --files 2000 --skip serve4,search --keep --workdir /tmp/scale

Peak RSS comes from `/usr/bin/time -v` when present, else from `getrusage(RUSAGE_CHILDREN)` of a
wrapper process. Every subprocess has a timeout (--timeout); servers are always stopped.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
STEPS = ("build", "resync", "edit", "cold_ask", "cold_ask_model", "search", "serve1", "serve4", "disk")
TIME_BIN = Path("/usr/bin/time")
MTIME_EPOCH = 1_735_689_600  # 2025-01-01: the generated files' mtimes start here, a minute apart

# Modules whose docstrings give the vocabulary (stable, offline, a few thousand distinct words).
VOCAB_MODULES = (
    "abc", "argparse", "ast", "asyncio", "base64", "bisect", "calendar", "cmd", "codecs", "collections",
    "concurrent.futures", "configparser", "contextlib", "copy", "csv", "dataclasses", "datetime", "decimal",
    "difflib", "doctest", "email", "email.message", "enum", "filecmp", "fnmatch", "fractions", "ftplib",
    "functools", "getopt", "gettext", "glob", "gzip", "hashlib", "heapq", "hmac", "html", "html.parser",
    "http.client", "http.cookiejar", "http.server", "imaplib", "importlib", "inspect", "io", "ipaddress",
    "itertools", "json", "locale", "logging", "logging.handlers", "lzma", "mailbox", "mimetypes",
    "multiprocessing", "netrc", "numbers", "operator", "optparse", "os", "pathlib", "pdb", "pickle",
    "pickletools", "pkgutil", "platform", "plistlib", "poplib", "pprint", "pydoc", "queue", "random", "re",
    "reprlib", "sched", "secrets", "selectors", "shelve", "shlex", "shutil", "signal", "smtplib", "socket",
    "socketserver", "sqlite3", "ssl", "statistics", "string", "struct", "subprocess", "sysconfig",
    "tarfile", "tempfile", "textwrap", "threading", "timeit", "tokenize", "trace", "traceback", "turtle",
    "types", "typing", "unittest", "unittest.mock", "urllib.parse", "urllib.request", "uuid", "warnings",
    "wave", "weakref", "xml.dom.minidom", "xml.etree.ElementTree", "xmlrpc.client", "zipfile", "zipimport",
)
TECH_WORDS = (
    "kubernetes docker terraform ansible postgres redis kafka nginx grafana prometheus latency throughput "
    "embedding transformer gradient dropout regularization tokenizer attention encoder decoder inference "
    "checkpoint quantization cluster replica shard index vector cosine retrieval ranking pipeline deploy "
    "rollback migration schema backup incident postmortem oncall alert dashboard budget roadmap sprint "
    "review refactor benchmark profiler allocator garbage compiler linker kernel scheduler container "
    "namespace ingress gateway certificate oauth token session cache eviction consistency partition quorum"
).split()
WORD = re.compile(r"(?<![\\\w])[a-z]{3,14}\b")


# ---------------------------------------------------------------- generation

@functools.cache
def vocabulary(size: int = 4000) -> list[str]:
    """The `size` most frequent words of the listed stdlib modules' docstrings, most frequent
    first (ties alphabetical), plus a fixed list of technical words."""
    counts: Counter[str] = Counter()
    for name in VOCAB_MODULES:
        try:
            module = importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module this Python lacks (turtle without tk) is skipped
            continue
        docs = [module.__doc__ or ""]
        with warnings.catch_warnings():  # typing.io and the like warn when touched
            warnings.simplefilter("ignore")
            for attr in sorted(vars(module)):  # what the module defines, whatever else is imported
                obj = vars(module)[attr]
                doc = getattr(obj, "__doc__", None)
                if getattr(obj, "__module__", None) == module.__name__ and isinstance(doc, str):
                    docs.append(doc)
        for doc in docs:
            counts.update(WORD.findall(doc.lower()))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    words = [word for word, _ in ranked[:size]]
    seen = set(words)
    return words + [w for w in TECH_WORDS if w not in seen]


class Corpus:
    """Text from a Zipf-distributed vocabulary: words drawn in bulk with NumPy, the structure
    (lengths, choices) with `random.Random`, both seeded."""

    TOPIC_WORDS = 30

    def __init__(self, words: list[str], seed: int) -> None:
        self.words = words
        self.cum = np.cumsum(1.0 / (np.arange(len(words)) + 2.7))  # Zipf weights, cumulative
        self.np_rng = np.random.default_rng(seed)
        self.rng = random.Random(seed)
        self.buffer: list[int] = []
        self.pos = 0

    def _refill(self) -> None:
        size = 1 << 20
        idx = np.searchsorted(self.cum, self.np_rng.random(size) * self.cum[-1])
        topical = self.np_rng.random(size) < 0.125  # one word in eight from the topic's own words
        picks = self.np_rng.integers(self.TOPIC_WORDS, size=size)
        self.buffer = np.where(topical, -1 - picks, idx).tolist()
        self.pos = 0

    def draw(self, n: int, topic: Sequence[str]) -> list[str]:
        """`n` words: Zipf over the vocabulary, one in eight from `topic` (TOPIC_WORDS words)."""
        if self.pos + n > len(self.buffer):
            self._refill()
        chosen = self.buffer[self.pos:self.pos + n]
        self.pos += n
        words = self.words
        return [words[i] if i >= 0 else topic[-1 - i] for i in chosen]

    def sentence(self, topic: Sequence[str]) -> str:
        words = self.draw(int(self.rng.randrange(7, 26)), topic)
        if len(words) > 9 and self.rng.random() < 0.3:
            words[int(self.rng.randrange(3, len(words) - 3))] += ","
        return " ".join(words).capitalize() + ("?" if self.rng.random() < 0.05 else ".")

    def paragraph(self, topic: Sequence[str], links: Sequence[str]) -> str:
        sentences = [self.sentence(topic) for _ in range(int(self.rng.randrange(2, 7)))]
        if links and self.rng.random() < 0.25:
            target = links[int(self.rng.randrange(len(links)))]
            sentences.append(f"See [{self.draw(1, topic)[0]}]({target}).")
        if self.rng.random() < 0.08:
            sentences.append(f"More at https://example.com/{'/'.join(self.draw(2, topic))}.")
        return " ".join(sentences)

    def bullet_list(self, topic: Sequence[str]) -> str:
        marker = "-" if self.rng.random() < 0.7 else "1."
        return "\n".join(f"{marker} {' '.join(self.draw(int(self.rng.randrange(2, 12)), topic))}"
                         for _ in range(int(self.rng.randrange(3, 7))))

    def code(self, topic: Sequence[str]) -> str:
        lang = ("python", "bash", "yaml", "")[int(self.rng.randrange(4))]
        lines = []
        for _ in range(int(self.rng.randrange(3, 10))):
            a, b, c = self.draw(3, topic)
            lines.append((f"{a}_{b} = {c}({a})", f"{a} --{b} {c}", f"{a}: {b}_{c}", f"{a} {b} {c}")
                         [int(self.rng.randrange(4))])
        return f"```{lang}\n" + "\n".join(lines) + "\n```"

    def title(self, topic: Sequence[str]) -> str:
        return " ".join(self.draw(int(self.rng.randrange(2, 6)), topic)).capitalize()


def note_text(corpus: Corpus, topic: Sequence[str], tags: Sequence[str], links: Sequence[str]) -> str:
    rng = corpus.rng
    title = corpus.title(topic)
    parts: list[str] = []
    if rng.random() < 0.4:
        picked = sorted({tags[i] for i in (rng.randrange(len(tags)) for _ in range(rng.randrange(1, 4)))})
        date = f"20{int(rng.randrange(19, 27)):02d}-{int(rng.randrange(1, 13)):02d}-{int(rng.randrange(1, 29)):02d}"
        parts.append(f"---\ntitle: {title}\ntags: [{', '.join(picked)}]\ndate: {date}\n---")
    parts.append(f"# {title}")
    parts.append(corpus.paragraph(topic, links))
    for _ in range(int(rng.randrange(2, 6))):
        parts.append(f"## {corpus.title(topic)}")
        for _ in range(int(rng.randrange(1, 5))):
            kind = rng.random()
            if kind < 0.15:
                parts.append(corpus.bullet_list(topic))
            elif kind < 0.23:
                parts.append(corpus.code(topic))
            else:
                parts.append(corpus.paragraph(topic, links))
        if rng.random() < 0.25:
            parts.append(f"### {corpus.title(topic)}")
            parts.append(corpus.paragraph(topic, links))
    return "\n\n".join(parts) + "\n"


def generate(notes: Path, files: int, seed: int) -> dict[str, Any]:
    """Write `files` markdown notes under `notes` (100 topic folders, some with subfolders)."""
    started = time.perf_counter()
    words = vocabulary()
    corpus = Corpus(words, seed)
    rng = corpus.rng
    topics = 100
    topic_words = [[words[rng.randrange(200, len(words))] for _ in range(Corpus.TOPIC_WORDS)] for _ in range(topics)]
    topic_names = [f"{t:03d}-{topic_words[t][0]}-{topic_words[t][1]}" for t in range(topics)]
    paths: list[Path] = []
    for n in range(files):
        t = n % topics
        sub = f"{topic_words[t][2 + n % 3]}/" if n % 10 < 3 else ""
        paths.append(Path(topic_names[t]) / f"{sub}{n:06d}-{topic_words[t][int(rng.randrange(30))]}.md")
    total = 0
    for n, rel in enumerate(paths):
        t = n % topics
        links = [os.path.relpath(paths[rng.randrange(files)], rel.parent) for _ in range(3)]
        text = note_text(corpus, topic_words[t], topic_words[t][:8], links)
        target = notes / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode()
        target.write_bytes(data)
        # an old mtime, as in a real folder: a file saved just before a sync reads as possibly
        # still changing (git's "racy" window) and would be read again by the next sync
        os.utime(target, (MTIME_EPOCH + n * 60, MTIME_EPOCH + n * 60))
        total += len(data)
    return {"files": files, "bytes": total, "mean_bytes": total / max(files, 1), "vocabulary": len(words),
            "seconds": time.perf_counter() - started, "seed": seed, "python": sys.version.split()[0]}


# ---------------------------------------------------------------- subprocesses

class StepError(RuntimeError):
    """A measured command failed or ran past its timeout."""


@dataclass
class Run:
    seconds: float
    max_rss_mb: float | None
    stdout: str
    stderr: str


def kill_group(pid: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def timed(command: list[str], env: dict[str, str], cwd: Path, timeout: float, what: str) -> Run:
    """Run `command` to completion; wall time and the peak RSS of the process (and its children)."""
    if TIME_BIN.exists():
        wrapped = [str(TIME_BIN), "-v", *command]
    else:
        wrapper = ("import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
                   "sys.stderr.write('Maximum resident set size (kbytes): %d\\n' % "
                   "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(rc)")
        wrapped = [sys.executable, "-c", wrapper, *command]
    started = time.perf_counter()
    # its own process group, so that a timeout stops the measured command too, not only the wrapper
    proc = subprocess.Popen(wrapped, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        kill_group(proc.pid)
        proc.communicate()
        raise StepError(f"{what}: no result after {timeout:.0f} s ({' '.join(command)})") from exc
    except BaseException:
        kill_group(proc.pid)
        raise
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise StepError(f"{what}: exit {proc.returncode} ({' '.join(command)}):\n{stderr[-3000:]}")
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    return Run(seconds, int(found.group(1)) / 1024 if found else None, stdout, stderr)


def semsearch_command() -> list[str]:
    script = Path(sys.executable).parent / "semsearch"
    return [str(script)] if script.exists() else [sys.executable, "-c", "from services.main import main; main()"]


def base_env(workdir: Path, model: str = "hashing") -> dict[str, str]:
    """The environment without the caller's SEMSEARCH_* settings (but its model cache), a config
    file that does not exist, the given model (none: the default), and no network for model files."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEMSEARCH_") or k == "SEMSEARCH_MODEL_CACHE"}
    env.update(SEMSEARCH_CONFIG_FILE=str(workdir / "no-config.toml"), HF_HUB_OFFLINE="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")])))
    if model:
        env["SEMSEARCH_MODEL"] = model
    return env


def builds(index: Path) -> set[str]:
    folder = index / "builds"
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def current_build(index: Path) -> Path:
    return index / "builds" / (index / "CURRENT").read_text().strip()


# ---------------------------------------------------------------- the measurements

def measure_index(notes: Path, index: Path, env: dict[str, str], cwd: Path, timeout: float, what: str
                  ) -> dict[str, Any]:
    before = builds(index)
    run = timed([*semsearch_command(), "index", str(notes), "--index-dir", str(index)], env, cwd, timeout, what)
    written = sorted(builds(index) - before)
    return {"seconds": run.seconds, "max_rss_mb": run.max_rss_mb, "new_build": bool(written),
            "build_id": (index / "CURRENT").read_text().strip(), "said": said(run.stdout + "\n" + run.stderr)}


def said(output: str) -> str:
    """The summary line of `semsearch index` (Indexed ... / Up to date ...)."""
    lines = [line.rsplit("\r", 1)[-1].strip() for line in output.splitlines()]
    summary = [line for line in lines if line.startswith(("Indexed", "Up to date", "Synced"))]
    return summary[-1] if summary else next((line for line in reversed(lines) if line), "")[:400]


def ask(question: str, index: Path, env: dict[str, str], cwd: Path, timeout: float) -> tuple[Run, list[dict[str, Any]]]:
    run = timed([*semsearch_command(), "ask", "--json", "-k", "3", "--index-dir", str(index), question],
                env, cwd, timeout, f"ask {question!r}")
    hits = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    return run, hits


def measure_edit(notes: Path, index: Path, env: dict[str, str], cwd: Path, timeout: float, seed: int
                 ) -> dict[str, Any]:
    files = sorted(notes.rglob("*.md"))
    target = files[len(files) // 2]
    token = "scalemark" + "".join(chr(97 + int(i)) for i in np.random.default_rng(seed + 1).integers(26, size=8))
    with target.open("a") as handle:
        handle.write(f"\nThe {token} marker was appended here by the scale benchmark.\n")
    sync = measure_index(notes, index, env, cwd, timeout, "sync after one edit")
    run, hits = ask(token, index, env, cwd, timeout)
    rel = target.relative_to(notes).as_posix()
    top = hits[0] if hits else {}
    return {"file": rel, "token": token, "sync_seconds": sync["seconds"], "sync_max_rss_mb": sync["max_rss_mb"],
            "ask_seconds": run.seconds, "total_seconds": sync["seconds"] + run.seconds,
            "top_hit": top.get("source"), "top_hit_ok": top.get("source") == rel and token in top.get("text", "")}


def measure_cold_ask(index: Path, env: dict[str, str], cwd: Path, timeout: float, repeats: int,
                     questions: Sequence[str]) -> dict[str, Any]:
    runs = [ask(questions[i % len(questions)], index, env, cwd, timeout)[0] for i in range(repeats)]
    seconds = [r.seconds for r in runs]
    rss = [r.max_rss_mb for r in runs if r.max_rss_mb is not None]
    return {"runs": seconds, "median_seconds": statistics.median(seconds), "min_seconds": min(seconds),
            "max_seconds": max(seconds), "max_rss_mb": max(rss) if rss else None}


class StandInEmbedder:
    """Hashing vectors at the default model's width, under its name: a build the real model can
    query (for timing only), made in the hashing embedder's time."""

    def __init__(self) -> None:
        from semsearch.embedders import resolve_model
        from semsearch.embedders.hashing import HashingEmbedder

        spec = resolve_model("sentence-transformers/all-MiniLM-L6-v2")
        self._hashing = HashingEmbedder()
        self.model_name, self.dim, self.max_tokens = spec.name, spec.dim or 384, spec.max_tokens

    def count_tokens(self, text: str) -> int:
        return self._hashing.count_tokens(text)

    def _embed(self, texts: Sequence[str]) -> Any:
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        vectors[:, : self._hashing.dim] = self._hashing.embed_documents(texts)
        vectors[:, self._hashing.dim :] = vectors[:, : self.dim - self._hashing.dim]  # every dimension used
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def embed_documents(self, texts: Sequence[str]) -> Any:
        return self._embed(texts)

    def embed_queries(self, texts: Sequence[str]) -> Any:
        return self._embed(texts)


def standin_child(notes: Path) -> None:
    """In this process: build the settings' index of `notes` with `StandInEmbedder`."""
    from semsearch.settings import get_settings
    from semsearch.wiring import build_notes

    report = build_notes(get_settings(), notes, embedder=StandInEmbedder(), wait=True)  # type: ignore[arg-type]
    sys.stdout.write(f"stand-in build {report}\n")


def measure_cold_ask_model(notes: Path, index: Path, env: dict[str, str], cwd: Path, timeout: float,
                           repeats: int, questions: Sequence[str]) -> dict[str, Any]:
    built = timed([sys.executable, str(Path(__file__).resolve()), "--standin-child", str(notes)],
                  {**env, "SEMSEARCH_INDEX_DIR": str(index)}, cwd, timeout, "stand-in build")
    ask(questions[-1], index, env, cwd, timeout)  # warm-up: the page cache, the model's ONNX file
    return {"standin_build_seconds": built.seconds,
            **measure_cold_ask(index, env, cwd, timeout, repeats, questions)}


def search_child(queries_file: Path) -> None:
    """In this process: `Searcher.open` on the settings' index, then time each `search()`."""
    from semsearch.search import Searcher
    from semsearch.settings import get_settings
    from semsearch.wiring import embedder_for, query_limits, retrieval_config

    settings = get_settings()
    queries = json.loads(queries_file.read_text())
    embedder = embedder_for(settings)
    started = time.perf_counter()
    searcher = Searcher.open(settings.index_dir, embedder, retrieval=retrieval_config(settings),
                             limits=query_limits(settings))
    open_seconds = time.perf_counter() - started
    for query in queries[:5]:  # warm-up: derived values computed on first use
        searcher.search(query)
    times = []
    for query in queries:
        started = time.perf_counter()
        searcher.search(query)
        times.append((time.perf_counter() - started) * 1000)
    sys.stdout.write(json.dumps({"open_seconds": open_seconds, "queries": len(times),
                                 "p50_ms": float(np.percentile(times, 50)),
                                 "p99_ms": float(np.percentile(times, 99)), "mean_ms": float(np.mean(times))}) + "\n")


def measure_search(index: Path, env: dict[str, str], cwd: Path, timeout: float, queries: Sequence[str]
                   ) -> dict[str, Any]:
    queries_file = cwd / "queries.json"
    queries_file.write_text(json.dumps(list(queries)))
    run = timed([sys.executable, str(Path(__file__).resolve()), "--search-child", str(queries_file)],
                {**env, "SEMSEARCH_INDEX_DIR": str(index)}, cwd, timeout, "search()")
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    result["process_max_rss_mb"] = run.max_rss_mb
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def memory_kb(pid: int) -> tuple[int, int | None]:
    """(RSS, PSS) of one process in KiB; PSS None where smaps_rollup is not readable."""
    rss = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    except OSError:
        return 0, None
    try:
        pss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
                   if line.startswith("Pss:"))
    except (OSError, StopIteration):
        pss = None
    return rss, pss


def http(method: str, url: str, body: dict[str, Any] | None = None, timeout: float = 30) -> tuple[int, str]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - 127.0.0.1 only
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


@contextmanager
def server(workers: int, index: Path, env: dict[str, str], cwd: Path
           ) -> Iterator[tuple[subprocess.Popen[bytes], str, Any]]:
    """`semsearch serve` on a free 127.0.0.1 port, stopped (SIGTERM, then SIGKILL of its group) on exit."""
    port = free_port()
    log = tempfile.TemporaryFile(dir=cwd)  # a file, not a pipe: log lines must never block the server
    command = [*semsearch_command(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers",
               str(workers), "--index-dir", str(index)]
    proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc, f"http://127.0.0.1:{port}", log
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(40)
            except subprocess.TimeoutExpired:
                kill_group(proc.pid)
                proc.wait(10)
        kill_group(proc.pid)  # any worker left behind
        log.close()


def log_text(log: Any) -> str:
    log.seek(0)
    return str(log.read().decode(errors="replace"))


def measure_server(workers: int, index: Path, env: dict[str, str], cwd: Path, timeout: float,
                   questions: Sequence[str]) -> dict[str, Any]:
    started = time.perf_counter()
    with server(workers, index, env, cwd) as (proc, base, log):
        deadline = started + timeout
        ready = False
        while True:  # every worker has run its lifespan (opened the index) and one query answered
            if proc.poll() is not None:
                raise StepError(f"serve --workers {workers} exited {proc.returncode}:\n{log_text(log)[-3000:]}")
            if time.perf_counter() > deadline:
                raise StepError(f"serve --workers {workers}: not ready after {timeout:.0f} s:\n{log_text(log)[-3000:]}")
            try:
                if http("GET", base + "/healthz", timeout=5)[0] == 200:
                    ready = ready or http("POST", base + "/query", {"query": questions[0]}, timeout=60)[0] == 200
            except (urllib.error.URLError, OSError):
                pass
            if ready and log_text(log).count("Application startup complete") >= workers:
                break
            time.sleep(0.5)
        ready_seconds = time.perf_counter() - started
        for question in questions[:200]:  # each on a new connection, so that every worker answers some
            status, text = http("POST", base + "/query", {"query": question}, timeout=60)
            if status != 200:
                raise StepError(f"POST /query -> {status}: {text[:300]}")
        time.sleep(1.0)
        per_process = []
        for pid in process_tree(proc.pid):
            rss, pss = memory_kb(pid)
            if rss:
                per_process.append({"pid": pid, "rss_mb": rss / 1024,
                                    "pss_mb": pss / 1024 if pss is not None else None})
        pss_values = [p["pss_mb"] for p in per_process]
        return {"workers": workers, "ready_seconds": ready_seconds, "processes": len(per_process),
                "rss_mb": sum(p["rss_mb"] for p in per_process),
                "pss_mb": sum(pss_values) if all(v is not None for v in pss_values) else None,
                "per_process": per_process}


def measure_disk(index: Path) -> dict[str, Any]:
    build = current_build(index)
    files = {p.relative_to(build).as_posix(): p.stat().st_size for p in sorted(build.rglob("*")) if p.is_file()}
    inodes = {(st.st_dev, st.st_ino): st.st_size for p in index.rglob("*") if p.is_file() for st in [p.stat()]}
    index_total = sum(inodes.values())  # a segment file linked into several builds counts once
    manifest = json.loads((build / "manifest.json").read_text())
    owners = sorted(build.rglob("sentence_owner.npy"))
    sentences = sum(int(np.load(o, mmap_mode="r").shape[0]) for o in owners) if owners else None
    return {"build_id": build.name, "chunks": manifest.get("chunk_count"), "indexed_files": manifest.get("file_count"),
            "sentences": sentences, "total_mb": sum(files.values()) / 1e6,
            "files_mb": {k: v / 1e6 for k, v in files.items()},
            "index_dir_mb": index_total / 1e6, "builds_kept": len(builds(index))}


# ---------------------------------------------------------------- report

def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


# the steps shown as one row each, in this order: step -> (what, how its figures read)
STEP_ROWS: dict[str, tuple[str, Callable[[dict[str, Any]], str]]] = {
    "generate": ("notes folder", lambda g: f"{g['files']:,} files, {g['bytes'] / 1e6:.1f} MB "
                 f"({g['mean_bytes'] / 1e3:.1f} KB a file), generated in {g['seconds']:.1f} s"),
    "build": ("first build", lambda b: f"{fmt(b['seconds'])} s, peak RSS {fmt(b['max_rss_mb'], 0)} MB"),
    "resync": ("unchanged re-sync", lambda r: f"{fmt(r['seconds'])} s, peak RSS {fmt(r['max_rss_mb'], 0)} MB, "
               f"new build written: {fmt(r['new_build'])}"),
    "edit": ("one-file edit to searchable", lambda e: f"sync {fmt(e['sync_seconds'])} s, + ask "
             f"{fmt(e['ask_seconds'])} s = {fmt(e['total_seconds'])} s; edited file top hit: {fmt(e['top_hit_ok'])}"),
    "cold_ask": ("cold `ask`", lambda c: f"median {fmt(c['median_seconds'], 2)} s ({fmt(c['min_seconds'], 2)}-"
                 f"{fmt(c['max_seconds'], 2)}, {len(c['runs'])} runs), peak RSS {fmt(c['max_rss_mb'], 0)} MB"),
    "cold_ask_model": ("cold `ask`, the real ONNX model (stand-in build)", lambda c: f"median "
                       f"{fmt(c['median_seconds'], 2)} s ({fmt(c['min_seconds'], 2)}-{fmt(c['max_seconds'], 2)}, "
                       f"{len(c['runs'])} runs), peak RSS {fmt(c['max_rss_mb'], 0)} MB"),
    "search": ("`search()` once loaded", lambda s: f"p50 {fmt(s['p50_ms'], 2)} ms, p99 {fmt(s['p99_ms'], 2)} ms "
               f"({s['queries']} queries); `Searcher.open` {fmt(s['open_seconds'], 2)} s"),
}


def table(results: dict[str, Any]) -> str:
    rows = [(what, say(results[step])) for step, (what, say) in STEP_ROWS.items() if results.get(step)]
    for key in ("serve1", "serve4"):
        if v := results.get(key):
            rows.append((f"server, {v['workers']} worker{'s' if v['workers'] > 1 else ''}",
                         f"RSS {fmt(v['rss_mb'], 0)} MB, PSS {fmt(v['pss_mb'], 0)} MB over {v['processes']} "
                         f"processes; ready in {fmt(v['ready_seconds'])} s"))
    if (one := results.get("serve1")) and (four := results.get("serve4")):
        rows.append(("4 workers / 1 worker", f"RSS {four['rss_mb'] / one['rss_mb']:.2f}x"
                     + (f", PSS {four['pss_mb'] / one['pss_mb']:.2f}x" if one["pss_mb"] and four["pss_mb"] else "")))
    if d := results.get("disk"):
        parts = ", ".join(f"{name} {size:.1f}" for name, size in sorted(d["files_mb"].items(), key=lambda kv: -kv[1]))
        rows.append(("build on disk", f"{d['total_mb']:.1f} MB: {parts} (MB)"))
        rows.append(("build holds", f"{fmt(d['indexed_files'])} files, {fmt(d['chunks'])} chunks, "
                     f"{fmt(d['sentences'])} sentences"))
    if rm := results.get("real"):
        rows.append(("real model: first build",
                     f"{fmt(rm['build']['seconds'])} s, peak RSS {fmt(rm['build']['max_rss_mb'], 0)} MB"))
        rows.append(("real model: cold `ask`", f"median {fmt(rm['cold_ask']['median_seconds'], 2)} s, "
                     f"peak RSS {fmt(rm['cold_ask']['max_rss_mb'], 0)} MB"))
    for step, error in results.get("errors", {}).items():
        rows.append((f"{step} (failed)", error.splitlines()[0][:200]))
    return "| what | measured |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)


def questions_from(words: Sequence[str], n: int, seed: int) -> list[str]:
    """`n` queries of 1 to 5 words: mostly mid-frequency words, some frequent ones."""
    rng = np.random.default_rng(seed + 2)
    out = []
    for _ in range(n):
        k = int(rng.integers(1, 6))
        picks = [words[int(i)] for i in rng.integers(50, min(len(words), 3000), size=k)]
        if rng.random() < 0.3:
            picks.insert(0, ("how", "what", "why", "when")[int(rng.integers(4))])
        out.append(" ".join(picks))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=10000, help="notes to generate (10000, 100000, ...)")
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--workdir", type=Path, help="where notes and index go (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the workdir (a given --workdir is always kept)")
    parser.add_argument("--skip", default="", help=f"comma list of steps to skip: {','.join(STEPS)}")
    parser.add_argument("--repeats", type=int, default=5, help="cold ask runs")
    parser.add_argument("--queries", type=int, default=200, help="search() calls")
    parser.add_argument("--timeout", type=float, default=0, help="seconds per subprocess (default: by size)")
    parser.add_argument("--real-model", action="store_true", help="also build and cold-ask with the default "
                        "(ONNX) model, offline; slow: it embeds every chunk and sentence")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--search-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--standin-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.search_child:
        search_child(args.search_child)
        return 0
    if args.standin_child:
        standin_child(args.standin_child)
        return 0
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if unknown := skip - set(STEPS):
        parser.error(f"unknown steps to skip: {', '.join(sorted(unknown))}")
    timeout = args.timeout or max(600.0, args.files * 0.1)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="semsearch-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    notes, index = workdir / "notes", workdir / "index"
    env = base_env(workdir)
    results: dict[str, Any] = {"command": " ".join(sys.argv), "cpus": os.cpu_count(),
                               "load_before": os.getloadavg(),
                               "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                               "errors": {}}

    def step(name: str, action: Any) -> None:
        if name in skip:
            return
        sys.stderr.write(f"[scale] {name} ...\n")
        try:
            results[name] = action()
        except (StepError, OSError, ValueError, KeyError) as exc:
            results["errors"][name] = str(exc)
            sys.stderr.write(f"[scale] {name} FAILED: {exc}\n")

    try:
        if notes.is_dir() and any(notes.iterdir()):
            sys.stderr.write(f"[scale] reusing the notes in {notes}\n")
        else:
            results["generate"] = generate(notes, args.files, args.seed)
            sys.stderr.write(f"[scale] generated {results['generate']}\n")
        words = vocabulary()
        questions = questions_from(words, max(args.queries, args.repeats, 20), args.seed)
        step("build", lambda: measure_index(notes, index, env, workdir, timeout, "first build"))
        step("disk", lambda: measure_disk(index))
        step("resync", lambda: measure_index(notes, index, env, workdir, timeout, "unchanged re-sync"))
        step("edit", lambda: measure_edit(notes, index, env, workdir, timeout, args.seed))
        step("cold_ask", lambda: measure_cold_ask(index, env, workdir, timeout, args.repeats, questions))
        step("cold_ask_model", lambda: measure_cold_ask_model(notes, workdir / "index-standin", base_env(workdir, ""),
                                                              workdir, timeout, args.repeats, questions))
        step("search", lambda: measure_search(index, env, workdir, timeout, questions[:args.queries]))
        step("serve1", lambda: measure_server(1, index, env, workdir, min(timeout, 600), questions))
        step("serve4", lambda: measure_server(4, index, env, workdir, min(timeout, 600), questions))
        if args.real_model:
            real_env, real_index = base_env(workdir, model=""), workdir / "index-real"

            def real() -> dict[str, Any]:
                built = measure_index(notes, real_index, real_env, workdir, timeout * 20, "first build (real model)")
                return {"build": built, "cold_ask": measure_cold_ask(real_index, real_env, workdir, timeout,
                                                                     args.repeats, questions)}
            step("real", real)
    finally:
        results["load_after"] = os.getloadavg()
        if args.workdir is None and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            results["workdir"] = str(workdir)
    report = table(results)
    sys.stdout.write(report + "\n")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
