"""HTTP load: p50/p99 latency and requests/s of `POST /query` at 1, 8 and 32 concurrent clients on
loopback, against a plain baseline server (FastAPI + sentence-transformers `encode` +
IndexFlatIP over the same vectors) measured in the same run. Bounded in requests and time.

    python bench/http_bench.py --index index --requests 400 --max-seconds 60

Both servers are started here as subprocesses on free 127.0.0.1 ports and stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
EVAL = Path(__file__).resolve().parents[2] / "shared/eval/notes-dev.jsonl"
FALLBACK_QUERIES = ["what is inverted dropout", "how do we rotate api keys", "gradient clipping",
                    "difference between precision and recall", "why normalize embeddings"]


def queries() -> list[str]:
    """The notes dev questions when present (a realistic mix), else a small fixed list."""
    if EVAL.is_file():
        return [json.loads(line)["query"] for line in EVAL.read_text().splitlines() if line.strip()]
    return FALLBACK_QUERIES


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(command: list[str], port: int, env: dict[str, str]) -> Iterator[str]:
    """Start a server subprocess and wait (up to 120 s) until it answers /readyz."""
    log = tempfile.TemporaryFile()  # a file, not a pipe: per-request log lines must never block the server
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"server exited: {log.read().decode(errors='replace')[-2000:]}")
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not become ready in 120 s")
            time.sleep(0.25)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


async def load(base: str, clients: int, total: int, max_seconds: float, texts: list[str]) -> dict[str, float]:
    """`clients` concurrent loops sending `total` requests between them (or stopping at
    `max_seconds`); latency percentiles over the successful ones."""
    latencies: list[float] = []
    failures = 0
    sent = 0
    stop_at = time.monotonic() + max_seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal sent, failures
            while sent < total and time.monotonic() < stop_at:
                query = texts[sent % len(texts)]
                sent += 1
                started = time.perf_counter()
                response = await client.post("/query", json={"query": query, "top_k": 5})
                if response.status_code == 200:
                    latencies.append((time.perf_counter() - started) * 1000)
                else:
                    failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {"clients": clients, "requests": len(latencies), "failures": failures,
            "p50_ms": float(np.percentile(latencies, 50)), "p99_ms": float(np.percentile(latencies, 99)),
            "req_per_s": len(latencies) / elapsed}


def measure(name: str, base: str, args: argparse.Namespace, texts: list[str]) -> list[dict[str, object]]:
    asyncio.run(load(base, 1, min(20, args.requests), 20, texts))  # warm-up
    rows: list[dict[str, object]] = []
    for clients in args.clients:
        row: dict[str, object] = {"server": name, **asyncio.run(load(base, clients, args.requests,
                                                                      args.max_seconds, texts))}
        rows.append(row)
        sys.stdout.write(f"{name:<10}{clients:>8}{row['requests']:>10}{row['failures']:>9}"
                         f"{row['p50_ms']:>10.1f}{row['p99_ms']:>10.1f}{row['req_per_s']:>10.1f}\n")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=Path(os.environ.get("SEMSEARCH_INDEX_DIR", "index")))
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=400, help="requests per concurrency level")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time cap per level")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    texts = queries()
    env = {**os.environ, "SEMSEARCH_INDEX_DIR": str(args.index), "HF_HUB_OFFLINE": "1"}
    out: dict[str, object] = {"load_before": os.getloadavg(), "cpus": os.cpu_count(), "rows": []}
    sys.stdout.write(f"{'server':<10}{'clients':>8}{'requests':>10}{'failures':>9}{'p50 ms':>10}"
                     f"{'p99 ms':>10}{'req/s':>10}\n")
    rows: list[dict[str, object]] = []
    port = free_port()
    serve = [sys.executable, "-c", "from services.main import main; main()", "serve", "--port", str(port)]
    with server(serve, port, env) as base:
        rows += measure("semsearch", base, args, texts)
    if not args.no_baseline:
        port = free_port()
        command = [sys.executable, "-m", "uvicorn", "--app-dir", str(Path(__file__).parent),
                   "baseline_server:app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        with server(command, port, env) as base:
            rows += measure("baseline", base, args, texts)
        for clients in args.clients:
            ours = next(r for r in rows if r["server"] == "semsearch" and r["clients"] == clients)
            plain = next(r for r in rows if r["server"] == "baseline" and r["clients"] == clients)
            ratio = float(ours["req_per_s"]) / float(plain["req_per_s"])  # type: ignore[arg-type]
            sys.stdout.write(f"{clients:>3} clients: semsearch serves {ratio:.2f}x the baseline's requests/s\n")
    out["rows"] = rows
    out["load_after"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"http-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(out, indent=2))
    sys.stdout.write(f"median p50 over levels: {statistics.median(float(r['p50_ms']) for r in rows):.1f} ms; "  # type: ignore[arg-type]
                     f"wrote {path}\n")


if __name__ == "__main__":
    main()
