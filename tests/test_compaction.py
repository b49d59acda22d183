"""Deferred compaction (issue 23): a sync may leave segment merges for later, within hard bounds;
`compact_index` merges them on its own and ranks exactly as before; the watch loop compacts when the
folder is quiet."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.errors import IndexLockedError
from semsearch.index import writer
from semsearch.index.format import published_name
from semsearch.index.loader import load_current
from semsearch.indexing.build import build_index, index_lock
from semsearch.indexing.compaction import compact_index, pending_compaction
from semsearch.indexing.watch import run_compaction, watch_notes
from semsearch.search import Searcher
from services.cli import main
from tests.test_segments import BIG, _folder, _ranking
from tests.test_sync_unchanged import QUERIES, note, write
from tests.test_sync_watch import top_source, wait_for

SMALL = writer.DEFERRED_MAX_SMALL


def _exact(index_dir: Path) -> list[list[tuple[str, int, float]]]:
    """The top 8 of each query with its score, unrounded."""
    searcher = Searcher(load_current(index_dir), HashingEmbedder())  # type: ignore[arg-type]
    return [[(h.chunk.source, h.chunk.start_line, h.score) for h in searcher.search(q, top_k=8).hits]
            for q in QUERIES]


@pytest.mark.parametrize(("parts", "adding", "expected"), [
    ([(100, 100)] * 4, 5, 4),  # inline: all merged; deferred: a fifth small segment appended
    ([(100, 100)] * (SMALL - 1), 5, SMALL - 1),
    ([(100, 100)] * SMALL, 5, 0),  # one more would pass the hard bound: merged as inline
    ([(100, 100)] * SMALL, 0, SMALL),
    ([(100, 70)], 5, 1),  # 30% deleted: inline merges, deferred does not
    ([(100, 40)], 5, 0),  # 60% deleted: past the hard bound
    ([(BIG, BIG)] + [(10, 10)] * SMALL, 5, 1),  # the settled one kept, the small ones merged
    ([(BIG, BIG // 3), (10, 10)], 5, 0),
])
def test_a_deferred_plan_merges_only_past_the_hard_bounds(parts: list[tuple[int, int]], adding: int,
                                                          expected: int) -> None:
    assert writer.compaction_plan(parts, adding, defer=True) == expected
    assert writer.compaction_plan(parts, adding, force=True, defer=True) == 0


def _deferred_syncs(notes: Path, index_dir: Path, count: int) -> None:
    rng = random.Random(7)
    for step in range(count):
        write(notes / f"t{step % 3}" / f"n{rng.randrange(30)}.md", note(rng), age=400 - step)
        build_index(notes, index_dir, HashingEmbedder(), compaction="defer")


def test_deferred_syncs_append_and_compact_index_merges_them_ranking_the_same(tmp_path: Path) -> None:
    notes, index = _folder(tmp_path / "notes", 30), tmp_path / "index"
    build_index(notes, index, HashingEmbedder())
    assert not pending_compaction(index) and not compact_index(index)
    _deferred_syncs(notes, index, writer.MAX_SMALL + 2)
    before = load_current(index)
    assert len(before.manifest.segments) > writer.MAX_SMALL  # the first build's and about one a sync
    assert pending_compaction(index)
    ranking, exact, chunks = _ranking(index), _exact(index), list(before.chunks)
    assert compact_index(index)
    after = load_current(index)
    assert len(after.manifest.segments) == 1 and after.build_id != before.build_id
    assert list(after.chunks) == chunks  # the same rows in the same order
    assert _exact(index) == exact  # the same passages with the same scores, to the last bit
    assert after.files == before.files and after.manifest.collections == before.manifest.collections
    assert not pending_compaction(index) and not compact_index(index)
    assert published_name(index) == after.build_id
    assert build_index(notes, index, HashingEmbedder()).up_to_date  # nothing read again after it
    build_index(notes, tmp_path / "fresh", HashingEmbedder())
    assert _ranking(tmp_path / "fresh") == ranking


def test_a_one_shot_sync_still_compacts_inline(tmp_path: Path) -> None:
    notes, index = _folder(tmp_path / "notes", 30), tmp_path / "index"
    build_index(notes, index, HashingEmbedder())
    rng = random.Random(7)
    for step in range(writer.MAX_SMALL + 2):
        write(notes / f"t{step % 3}" / f"n{rng.randrange(30)}.md", note(rng), age=400 - step)
        assert len(build_index(notes, index, HashingEmbedder()).manifest.segments) <= writer.MAX_SMALL
    assert not pending_compaction(index)


def test_a_forced_compaction_is_one_segment_and_a_clean_one_is_left_alone(tmp_path: Path) -> None:
    notes, index = _folder(tmp_path / "notes", 20), tmp_path / "index"
    build_index(notes, index, HashingEmbedder())
    assert not compact_index(index, force=True)  # one segment, nothing deleted: nothing to merge
    _deferred_syncs(notes, index, 1)
    assert not pending_compaction(index)
    ranking = _exact(index)
    assert compact_index(index, force=True)
    assert len(load_current(index).manifest.segments) == 1 and _exact(index) == ranking


def test_compaction_respects_a_build_in_progress(tmp_path: Path) -> None:
    notes, index = _folder(tmp_path / "notes", 20), tmp_path / "index"
    build_index(notes, index, HashingEmbedder())
    _deferred_syncs(notes, index, writer.MAX_SMALL + 1)
    published = published_name(index)
    done: list[bool] = []
    with index_lock(index):
        with pytest.raises(IndexLockedError):
            compact_index(index)
        waiting = threading.Thread(target=lambda: done.append(compact_index(index, wait=True)), daemon=True)
        waiting.start()
        time.sleep(0.5)
        assert waiting.is_alive() and published_name(index) == published
    waiting.join(60)
    assert done == [True] and published_name(index) != published


def test_semsearch_compact_merges_by_hand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEMSEARCH_MODEL", "hashing")
    notes, index = _folder(tmp_path / "notes", 20), tmp_path / "index"
    build_index(notes, index, HashingEmbedder())
    _deferred_syncs(notes, index, 2)
    nothing = CliRunner().invoke(main, ["compact", "--index-dir", str(index)])
    assert nothing.exit_code == 0 and "Nothing to compact" in nothing.output
    merged = CliRunner().invoke(main, ["compact", "--index-dir", str(index), "--all"])
    assert merged.exit_code == 0 and "(1 segment)" in merged.output
    for forced in ([], ["--all"]):
        missing = CliRunner().invoke(main, ["compact", "--index-dir", str(tmp_path / "none"), *forced])
        assert missing.exit_code == 1 and "No index at" in missing.output and not (tmp_path / "none").exists()


class CompactingWatcher:
    """`watch_notes` with deferred syncs and idle compaction, in a thread, recording when each
    sync and compaction ran."""

    def __init__(self, notes: Path, index_dir: Path, *, idle_ms: int, before_compact: object = None) -> None:
        self.syncs: list[float] = []
        self.compactions: list[float] = []
        self.stop = threading.Event()
        self.notes, self.index_dir, self.before = notes, index_dir, before_compact
        self.thread = threading.Thread(target=watch_notes, daemon=True, args=(notes, self._sync), kwargs={
            "include": ["*.md"], "quiet_ms": 100, "stop_event": self.stop, "compact": self._compact,
            "idle_ms": idle_ms})

    def _sync(self) -> None:
        build_index(self.notes, self.index_dir, HashingEmbedder(), wait=True, compaction="defer")
        self.syncs.append(time.monotonic())

    def _compact(self) -> bool:
        self.compactions.append(time.monotonic())
        if callable(self.before):
            self.before()
        return compact_index(self.index_dir)

    def __enter__(self) -> CompactingWatcher:
        self.thread.start()
        wait_for(lambda: len(self.syncs) == 1)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()


def test_the_watch_loop_compacts_once_the_folder_is_quiet_not_while_it_changes(tmp_path: Path) -> None:
    notes, index = _folder(tmp_path / "notes", 20), tmp_path / "index"
    build_index(notes, index, HashingEmbedder())
    _deferred_syncs(notes, index, writer.MAX_SMALL + 1)
    assert pending_compaction(index)
    with CompactingWatcher(notes, index, idle_ms=1500) as watcher:
        rng = random.Random(3)
        until = time.monotonic() + 4.0
        while time.monotonic() < until:  # a save every 0.3 s: never quiet for 1.5 s
            write(notes / "busy.md", note(rng), age=0)
            time.sleep(0.3)
        assert len(watcher.syncs) >= 3 and watcher.compactions == []
        assert pending_compaction(index)  # the syncs deferred their merges
        wait_for(lambda: len(watcher.compactions) == 1, timeout=30)
        wait_for(lambda: not pending_compaction(index), timeout=30)
        assert watcher.compactions[0] - watcher.syncs[-1] >= 1.4
        time.sleep(2.0)  # quiet again, nothing synced since: no second compaction
        assert len(watcher.compactions) == 1
    assert len(load_current(index).manifest.segments) <= writer.MAX_SMALL


def test_a_change_during_a_compaction_is_synced_and_a_failed_one_is_logged(tmp_path: Path,
                                                                             caplog: pytest.LogCaptureFixture) -> None:
    notes, index = _folder(tmp_path / "notes", 20), tmp_path / "index"
    build_index(notes, index, HashingEmbedder())
    _deferred_syncs(notes, index, writer.MAX_SMALL + 1)
    calls: list[int] = []

    def during() -> None:  # a save while the compaction runs; the second compaction fails
        calls.append(1)
        if len(calls) == 1:
            write(notes / "bees.md", "# Bees\n\nBees pollinate the squash flowers.\n", age=0)
        else:
            raise RuntimeError("disk on fire")

    with CompactingWatcher(notes, index, idle_ms=500, before_compact=during) as watcher:
        wait_for(lambda: top_source(index, "bees pollinate squash") == "bees.md", timeout=30)
        wait_for(lambda: len(watcher.compactions) == 2, timeout=30)
        write(notes / "wasps.md", "# Wasps\n\nWasps eat the aphids on the roses.\n", age=0)
        wait_for(lambda: top_source(index, "wasps aphids roses") == "wasps.md", timeout=30)
    assert "compaction failed" in caplog.text and "disk on fire" in caplog.text


def test_an_idle_compaction_is_tried_again_only_when_another_build_held_the_lock() -> None:
    def locked() -> bool:
        raise IndexLockedError("another build")

    def broken() -> bool:
        raise RuntimeError("broken")

    assert run_compaction(locked) is True
    assert run_compaction(broken) is False and run_compaction(lambda: True) is False
