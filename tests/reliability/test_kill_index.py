"""Item 1: `semsearch index` killed with SIGKILL at 20 random moments never publishes a partial build."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from semsearch import Searcher
from semsearch.embedders.hashing import HashingEmbedder
from semsearch.index.format import BUILDS, CURRENT, MANIFEST_FILE
from semsearch.index.loader import load_current
from semsearch.settings import bundled_notes_dir

KILLS = 20
GOLDEN = ["inverted dropout", "learning rate finder", "batch normalization", "gradient descent momentum",
          "convolution kernel size"]


def index_command(notes: Path, index_dir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SEMSEARCH_MODEL": "hashing", "SEMSEARCH_INDEX_DIR": str(index_dir)}
    return subprocess.Popen([sys.executable, "-m", "services.main", "index", str(notes)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def golden_answers(index_dir: Path) -> tuple[str, list[list[str]]]:
    """The published build id and the top-3 chunk ids of each golden query (loads and verifies it)."""
    searcher = Searcher.open(index_dir, HashingEmbedder())
    return searcher.manifest.build_id, [[h.chunk.id for h in searcher.search(q, top_k=3).hits] for q in GOLDEN]


def touched(notes: Path) -> Path:
    """`notes` with every file's mtime moved to now: the same text, but a sync reads every file and
    writes a whole new build (an unchanged folder publishes nothing: `indexing.unchanged`)."""
    for path in notes.rglob("*"):
        if path.is_file():
            os.utime(path)
    return notes


def test_sigkill_at_random_moments_leaves_the_old_or_the_new_build(
    tmp_path: Path, figures: dict[str, object]
) -> None:
    notes = tmp_path / "notes"
    shutil.copytree(bundled_notes_dir(), notes)
    index_dir = tmp_path / "index"
    assert index_command(notes, index_dir).wait(60) == 0
    started = time.monotonic()  # a second, warm build sets the scale of the kill delays
    assert index_command(touched(notes), index_dir).wait(60) == 0
    full_run = time.monotonic() - started
    build, expected = golden_answers(index_dir)
    seen_builds = {build}
    rng = random.Random(8)
    outcomes = {"killed": 0, "finished": 0}
    for _ in range(KILLS):
        proc = index_command(touched(notes), index_dir)
        time.sleep(rng.uniform(0.05, 1.2 * full_run))  # mostly mid-build, now and then just after
        proc.send_signal(signal.SIGKILL)
        outcomes["killed" if proc.wait(30) == -signal.SIGKILL else "finished"] += 1
        # whatever moment it died at, CURRENT names a whole build that verifies and answers the same
        build, answers = golden_answers(index_dir)
        assert answers == expected
        assert (index_dir / BUILDS / build / MANIFEST_FILE).is_file()
        seen_builds.add(build)
    assert outcomes["killed"] >= KILLS // 4, outcomes  # kills landed mid-build (most do)
    leftovers = [p.name for p in (index_dir / BUILDS).iterdir() if not (p / MANIFEST_FILE).exists()]
    stray_pointers = list(index_dir.glob(f".{CURRENT}.*"))
    # the lock died with its holder: the next build runs to the end and publishes
    assert index_command(touched(notes), index_dir).wait(60) == 0
    final = load_current(index_dir, model_name="hashing")
    assert final.manifest.build_id not in seen_builds
    assert golden_answers(index_dir)[1] == expected
    figures.update(kills=outcomes["killed"], finished_before_kill=outcomes["finished"],
                   builds_published=len(seen_builds), partial_dirs_left=len(leftovers),
                   stray_pointer_files=len(stray_pointers), full_build_s=round(full_run, 2))
