"""`semsearch serve --workers N`: a lean master process, every worker answering, and the MCP SDK
loaded by a worker only once `/mcp` is asked for."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.servers import serve_process

pytestmark = pytest.mark.timeout(120)
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def check_two_workers(master: int, url: str, log: Callable[[], str], build_id: str) -> set[int]:
    """Both workers started and answer; the master is the lean one; returns the workers' pids."""
    deadline = time.monotonic() + 60
    while log().count("Application startup complete") < 2:
        assert time.monotonic() < deadline, log()[-3000:]
        time.sleep(0.2)
    for _ in range(8):  # a new connection each time, so that both workers may answer
        reply = httpx.post(f"{url}/query", json={"query": "inverted dropout"}, timeout=10)
        assert reply.status_code == 200, reply.text
        assert reply.json()["index"]["build_id"] == build_id
    mcp = httpx.post(f"{url}/mcp", json=INIT, headers=MCP_HEADERS, timeout=30)
    assert mcp.status_code == 200, mcp.text
    assert mcp.json()["result"]["serverInfo"]["name"]
    assert b"services.server.master" in Path(f"/proc/{master}/cmdline").read_bytes()
    mapped = Path(f"/proc/{master}/maps").read_text()
    assert "faiss" not in mapped and "_multiarray_umath" not in mapped  # neither faiss nor numpy
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    workers = {int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()}
    assert len(workers) == 2, children
    return workers


def test_two_workers_answer_and_the_master_holds_no_web_stack(build_a: str, index_dir: Path) -> None:
    env = {**os.environ, "SEMSEARCH_INDEX_DIR": str(index_dir)}
    command = [sys.executable, "-c", "from services.main import main; main()", "serve", "--port",
               str(free_port()), "--workers", "2"]
    with serve_process(command, env, start_timeout=60) as served:
        try:
            workers = check_two_workers(served.proc.pid, served.url, lambda: served.text, build_a)
        finally:  # the master stops its workers (killing it alone would leave them running)
            served.proc.send_signal(signal.SIGTERM)
            assert served.proc.wait(timeout=40) in (0, -signal.SIGTERM)
    for pid in workers:  # the master stopped its workers
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    assert "Finished server process" in served.text


LAZY = """
import json, sys
from fastapi.testclient import TestClient
from semsearch.settings import Settings
from services.server import create_server_app

with TestClient(create_server_app(Settings(index_dir=sys.argv[1])), base_url="http://127.0.0.1:8000") as client:
    asked = client.post("/query", json={"query": "dropout"}).status_code
    before = "mcp" in sys.modules
    mcp = client.post("/mcp", json=json.loads(sys.argv[2]), headers={"Accept": "application/json, text/event-stream"})
    again = client.post("/mcp", json=json.loads(sys.argv[2]), headers={"Accept": "application/json, text/event-stream"})
    print(json.dumps([asked, before, mcp.status_code, again.status_code, "mcp" in sys.modules]))
"""


def test_a_worker_imports_the_mcp_sdk_only_when_mcp_is_asked_for(build_a: str, index_dir: Path) -> None:
    done = subprocess.run([sys.executable, "-c", LAZY, str(index_dir), json.dumps(INIT)], capture_output=True,
                          text=True, timeout=90, env=os.environ)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1]) == [200, False, 200, 200, True]
