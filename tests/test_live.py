"""LiveIndex: the one owner of the served build (follows CURRENT, falls back, says a refusal once)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from semsearch.index.chunk_table import CHUNKS_FILE
from semsearch.index.format import CURRENT, read_manifest
from semsearch.index.segments import file_in_build
from semsearch.indexing.build import build_index
from semsearch.live import LiveIndex


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _live(index_dir: Path, clock: Clock | None = None, interval: float = 0.0) -> LiveIndex:
    live = LiveIndex(index_dir, HashingEmbedder(), reload_interval=interval, clock=clock or Clock())
    live.refresh(force=True)
    return live


def _damage(build_dir: Path, name: str) -> None:
    """Garbage in place of this build's `name` (its own file: a segment file may be a link that
    earlier builds share)."""
    path = build_dir / file_in_build(read_manifest(build_dir), name)
    path.unlink()
    path.write_text("garbage")


def test_it_follows_each_newly_published_build(tiny_notes: Path, tiny_index: Path) -> None:
    live = _live(tiny_index)
    first = live.searcher()
    (tiny_notes / "new.md").write_text("# Sourdough\n\nFeed the starter flour and water daily.\n")
    second_id = build_index(tiny_notes, tiny_index, HashingEmbedder()).manifest.build_id
    second = live.searcher()
    assert second.index.build_id == second_id != first.index.build_id and live.reloads == 1
    assert second.search("sourdough starter", top_k=1).hits[0].chunk.source == "new.md"
    # the old searcher still answers from its own build: searches in flight are never switched
    assert all(h.chunk.source != "new.md" for h in first.search("sourdough starter", top_k=3).hits)


def test_checks_are_throttled(tiny_notes: Path, tiny_index: Path) -> None:
    clock = Clock()
    live = _live(tiny_index, clock, interval=1.0)
    before = live.searcher().index.build_id
    build_index(tiny_notes, tiny_index, HashingEmbedder(), store_sentences=False)
    clock.now = 0.5
    assert live.searcher().index.build_id == before
    clock.now = 1.5
    assert live.searcher().index.build_id != before


def test_a_broken_new_build_keeps_the_old_one_serving_and_is_logged_once(
        tiny_notes: Path, tiny_index: Path, caplog: pytest.LogCaptureFixture) -> None:
    live = _live(tiny_index)
    before = live.searcher().index.build_id
    report = build_index(tiny_notes, tiny_index, HashingEmbedder())
    _damage(tiny_index / "builds" / report.manifest.build_id, CHUNKS_FILE)
    with caplog.at_level(logging.ERROR, logger="semsearch.live"):
        for _ in range(3):
            assert live.searcher().index.build_id == before
    assert len([r for r in caplog.records if "not served" in r.getMessage()]) == 1
    assert isinstance(live.error, IndexCorruptError)


def test_a_corrupt_published_build_falls_back_to_the_newest_good_one(tiny_notes: Path, tiny_index: Path) -> None:
    good = (tiny_index / CURRENT).read_text().strip()
    bad = build_index(tiny_notes, tiny_index, HashingEmbedder()).manifest.build_id
    _damage(tiny_index / "builds" / bad, CHUNKS_FILE)
    live = _live(tiny_index)
    assert live.searcher().index.build_id == good
    assert isinstance(live.error, IndexCorruptError)


@pytest.mark.parametrize("pointer", ["0000garbage", "..", "\udcff"])
def test_a_current_naming_no_build_falls_back_whatever_the_name(tiny_index: Path, pointer: str) -> None:
    good = (tiny_index / CURRENT).read_text().strip()
    (tiny_index / CURRENT).write_bytes(pointer.encode("utf-8", "surrogateescape"))
    assert _live(tiny_index).searcher().index.build_id == good


def test_no_index_and_another_model_are_the_cores_errors(tmp_path: Path, tiny_index: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="semsearch index"):
        _live(tmp_path / "nowhere").searcher()

    class Other(HashingEmbedder):
        model_name = "another-model"

    live = LiveIndex(tiny_index, Other(), reload_interval=0.0)
    live.refresh(force=True)
    with pytest.raises(IndexMismatchError, match="another-model"):
        live.searcher()


def test_an_index_built_later_is_picked_up(tiny_notes: Path, tmp_path: Path) -> None:
    live = _live(tmp_path / "index")
    with pytest.raises(IndexNotFoundError):
        live.searcher()
    build_index(tiny_notes, tmp_path / "index", HashingEmbedder())
    assert live.searcher().search("tomatoes", top_k=1).hits
