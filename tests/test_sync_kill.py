"""A sync killed with SIGKILL (while embedding, or while writing the new build) leaves the previous
build published and serving, and the next sync works."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.index.format import BUILDS, MANIFEST_FILE
from semsearch.index.loader import load_current
from semsearch.indexing.build import build_index
from semsearch.live import LiveIndex
from semsearch.search import Searcher

# Builds `notes` into `index`, touching `marker` and then hanging at the chosen phase.
SCRIPT = """
import pathlib, sys, time
import semsearch.index.writer as writer
from semsearch.embedders.hashing import HashingEmbedder
from semsearch.indexing.build import build_index

notes, index_dir, marker, phase = sys.argv[1:5]

def hang():
    pathlib.Path(marker).touch()
    time.sleep(120)

class Hanging(HashingEmbedder):
    def embed_documents(self, texts):
        if phase == "embed":
            hang()
        return super().embed_documents(texts)

if phase == "write":
    write = writer.write_durably
    def write_then_hang(path, data):
        write(path, data)
        hang()
    writer.write_durably = write_then_hang
build_index(pathlib.Path(notes), pathlib.Path(index_dir), Hanging())
"""


@pytest.mark.parametrize("phase", ["embed", "write"])
def test_a_killed_sync_leaves_the_previous_build_serving(tiny_notes: Path, tmp_path: Path, phase: str) -> None:
    index_dir = tmp_path / "index"
    first = build_index(tiny_notes, index_dir, HashingEmbedder()).manifest.build_id
    live = LiveIndex(index_dir, HashingEmbedder(), reload_interval=0.0)
    live.refresh(force=True)
    (tiny_notes / "garden.txt").write_text("Cucumbers\n\nPickle cucumbers with dill in August.\n")
    (tiny_notes / "keys.md").unlink()
    marker = tmp_path / "hanging"
    script = tmp_path / "sync.py"
    script.write_text(SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(tiny_notes), str(index_dir), str(marker), phase])
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, "the sync ended before it could be killed"
            assert time.monotonic() < deadline, "the sync never reached the phase to kill"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    if phase == "write":  # the killed build left a half-written folder, never published
        assert any(not (b / MANIFEST_FILE).exists() for b in (index_dir / BUILDS).iterdir())

    assert load_current(index_dir).manifest.build_id == first
    assert not live.refresh()
    assert live.searcher().search("rotate api keys vault", top_k=1).hits[0].chunk.source == "keys.md"
    assert Searcher.open(index_dir, HashingEmbedder()).manifest.build_id == first

    report = build_index(tiny_notes, index_dir, HashingEmbedder())  # the lock died with the process
    assert report.removed == ["keys.md"] and report.embedded == 1
    assert all((b / MANIFEST_FILE).exists() for b in (index_dir / BUILDS).iterdir())
    assert live.refresh()
    assert live.searcher().search("pickle cucumbers dill", top_k=1).hits[0].chunk.source == "garden.txt"


def test_two_index_processes_at_once_take_turns_with_wait(tiny_notes: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    env = {**os.environ, "SEMSEARCH_MODEL": "hashing", "SEMSEARCH_INDEX_DIR": str(index_dir)}
    command = [sys.executable, "-m", "services.main", "index", str(tiny_notes), "--wait"]
    procs = [subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [proc.communicate(timeout=120)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], errors
    builds = sorted(b for b in (index_dir / BUILDS).iterdir())
    assert len(builds) == 2 and all((b / MANIFEST_FILE).exists() for b in builds)
    assert load_current(index_dir).manifest.build_id == builds[-1].name
    assert sorted("0 embedded" in err for err in errors) == [False, True]  # the second reused all
