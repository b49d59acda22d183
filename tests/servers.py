"""Real servers on 127.0.0.1 for tests: an app under uvicorn in a thread (`serving`), and a
`semsearch serve` process whose log is collected (`serve_process`)."""

from __future__ import annotations

import queue
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from fastapi import FastAPI

RUNNING = re.compile(r"running on http://127\.0\.0\.1:(\d+)")


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Run `app` with uvicorn in a thread on a socket bound to 127.0.0.1 (never anything else)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@dataclass
class ServeProcess:
    """A started server process, the URL it said it runs on, and its stderr lines so far."""

    proc: subprocess.Popen[str]
    url: str
    log: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.log)


@contextmanager
def serve_process(command: Sequence[str], env: Mapping[str, str], *, cwd: Path | None = None,
                  start_timeout: float = 20) -> Iterator[ServeProcess]:
    """Start `command` (a `serve --port 0`), wait for its "running on http://127.0.0.1:PORT" line on
    stderr, and yield it; on leaving, kill it if it still runs and read the rest of its log."""
    proc = subprocess.Popen(list(command), env=dict(env), cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    log: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            log.append(line)
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        port = None
        while port is None:
            match = RUNNING.search(lines.get(timeout=start_timeout))
            port = int(match.group(1)) if match else None
        yield ServeProcess(proc, f"http://127.0.0.1:{port}", log)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(5)
        assert proc.stderr is not None
        proc.stderr.close()
