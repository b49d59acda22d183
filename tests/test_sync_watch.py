"""`semsearch index --watch`: the index follows the folder, one sync per burst of saves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from watchfiles import Change

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.errors import IndexNotFoundError
from semsearch.index.status import index_status
from semsearch.indexing.build import build_index
from semsearch.indexing.watch import notes_filter, watch_notes
from semsearch.search import Searcher


def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def top_source(index_dir: Path, query: str) -> str | None:
    try:
        hits = Searcher.open(index_dir, HashingEmbedder()).search(query, top_k=1).hits
    except IndexNotFoundError:
        return None
    return hits[0].chunk.source if hits else None


class Watcher:
    """`watch_notes` in a thread, counting the syncs it runs."""

    def __init__(self, notes: Path, index_dir: Path) -> None:
        self.syncs = 0
        self.stop = threading.Event()
        self.notes, self.index_dir = notes, index_dir
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _sync(self) -> None:
        build_index(self.notes, self.index_dir, HashingEmbedder(), wait=True)
        self.syncs += 1

    def _run(self) -> None:
        watch_notes(self.notes, self._sync, include=["*.md", "*.txt"], ignore=[self.index_dir], quiet_ms=300,
                    stop_event=self.stop)


@pytest.fixture
def watcher(tiny_notes: Path, tmp_path: Path) -> Iterator[Watcher]:
    running = Watcher(tiny_notes, tiny_notes / "index")  # the index inside the folder it watches
    running.thread.start()
    wait_for(lambda: running.syncs == 1)
    time.sleep(0.3)  # let the watcher settle on its first wait for changes
    yield running
    running.stop.set()
    running.thread.join(10)
    assert not running.thread.is_alive()


def test_the_index_follows_edits_additions_renames_and_deletions(watcher: Watcher) -> None:
    notes, index = watcher.notes, watcher.index_dir
    assert top_source(index, "water tomatoes morning") == "garden.txt"
    (notes / "garden.txt").write_text("Cucumbers\n\nPickle cucumbers with dill in August.\n")
    wait_for(lambda: top_source(index, "pickle cucumbers dill") == "garden.txt")
    (notes / "sub").mkdir()
    (notes / "sub" / "bees.md").write_text("# Bees\n\nBees pollinate the squash flowers.\n")
    wait_for(lambda: top_source(index, "bees pollinate squash") == "sub/bees.md")
    (notes / "sub" / "bees.md").rename(notes / "insects.md")
    wait_for(lambda: top_source(index, "bees pollinate squash") == "insects.md")
    (notes / "keys.md").unlink()
    wait_for(lambda: "keys.md" in index_status(index).removed)
    assert top_source(index, "rotate api keys vault") != "keys.md"
    statuses = {f.source: f.status for f in index_status(index).files}
    assert statuses == {"dropout.md": "unchanged", "garden.txt": "unchanged", "insects.md": "unchanged"}


def test_a_burst_of_saves_is_one_sync_and_writing_the_index_triggers_none(watcher: Watcher) -> None:
    for i in range(8):
        (watcher.notes / f"burst{i}.md").write_text(f"# Burst {i}\n\nSaved in a burst, number {i}.\n")
        time.sleep(0.02)
    wait_for(lambda: watcher.syncs >= 2)
    time.sleep(1.5)  # the sync wrote a build inside the watched folder: that must not sync again
    assert watcher.syncs == 2
    assert index_status(watcher.index_dir).file_count == 3 + 8


def test_the_filter_keeps_notes_and_deletions_only(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("x")
    (tmp_path / "photo.png").write_bytes(b"x")
    keep = notes_filter(tmp_path, ["*.md"], ignore=[tmp_path / "index"])
    assert keep(Change.modified, str(tmp_path / "a.md"))
    assert keep(Change.deleted, str(tmp_path / "gone-folder"))
    assert not keep(Change.modified, str(tmp_path / "photo.png"))
    assert not keep(Change.added, str(tmp_path / ".hidden" / "b.md"))
    assert not keep(Change.added, str(tmp_path / "index" / "builds" / "x" / "manifest.json"))
    assert not keep(Change.modified, str(tmp_path / "a.md.swp"))


def test_semsearch_index_watch_runs_until_interrupted(tiny_notes: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    env = {**os.environ, "SEMSEARCH_MODEL": "hashing", "SEMSEARCH_INDEX_DIR": str(index_dir),
           "SEMSEARCH_WATCH_DEBOUNCE_MS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "services.main", "index", str(tiny_notes), "--watch"], env=env,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: top_source(index_dir, "water tomatoes") == "garden.txt", timeout=60)
        (tiny_notes / "bees.md").write_text("# Bees\n\nBees pollinate the squash flowers.\n")
        wait_for(lambda: top_source(index_dir, "bees pollinate squash") == "bees.md")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert "Watching" in err and "Traceback" not in err
