from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from semsearch.index import format as store
from semsearch.embedders.hashing import HashingEmbedder
from semsearch.errors import (
    IndexBuildError,
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
)
from semsearch.indexing.build import build_index, index_lock
from semsearch.records import Chunk


def _chunks(n: int) -> list[Chunk]:
    return [Chunk(f"id{i}", "a.md", ("H",), i + 1, i + 1, f"text {i}", f"text {i}") for i in range(n)]


def _vectors(n: int, dim: int = 8) -> np.ndarray:
    rng = np.random.default_rng(0)
    v = rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _write(index_dir: Path, n: int = 5, model: str = "m") -> store.Manifest:
    return store.write_build(index_dir, _chunks(n), _vectors(n), model_name=model,
                             chunking={"max_tokens": 10}, file_count=1)


def test_round_trip(tmp_path: Path) -> None:
    manifest = _write(tmp_path, 5)
    build = store.load_current(tmp_path, model_name="m", dim=8)
    assert build.manifest == manifest
    assert build.chunks == _chunks(5)
    assert build.index.ntotal == 5
    assert (tmp_path / "CURRENT").read_text().strip() == manifest.build_id
    assert set(manifest.files) == {store.VECTORS_FILE, store.CHUNKS_FILE}


def test_missing_index_names_the_path_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match=r"No index at .*semsearch index"):
        store.load_current(tmp_path / "nowhere")


@pytest.mark.parametrize("name", [store.VECTORS_FILE, store.CHUNKS_FILE])
@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_corrupt_files_are_detected_before_faiss_reads_them(tmp_path: Path, name: str, damage: str) -> None:
    manifest = _write(tmp_path)
    path = tmp_path / "builds" / manifest.build_id / name
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "truncate":
        path.write_bytes(bytes(data[: len(data) // 3]))
    else:
        path.unlink()
    with pytest.raises(IndexCorruptError, match=name):
        store.load_current(tmp_path)


def test_unreadable_manifest(tmp_path: Path) -> None:
    manifest = _write(tmp_path)
    (tmp_path / "builds" / manifest.build_id / store.MANIFEST_FILE).write_text("{not json")
    with pytest.raises(IndexCorruptError, match="unreadable"):
        store.load_current(tmp_path)


def test_wrong_model_or_dimension_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, model="model-a")
    with pytest.raises(IndexMismatchError, match="model-a"):
        store.load_current(tmp_path, model_name="model-b", dim=8)
    with pytest.raises(IndexMismatchError):
        store.load_current(tmp_path, model_name="model-a", dim=16)


def test_failed_write_publishes_nothing_and_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = _write(tmp_path)
    calls = {"n": 0}
    real = store._write_durably

    def failing(path: Path, data: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(store, "_write_durably", failing)
    with pytest.raises(IndexBuildError, match="No space left on device.*previous index is unchanged"):
        _write(tmp_path, 7)
    assert store.load_current(tmp_path).manifest.build_id == good.build_id
    assert [p.name for p in (tmp_path / "builds").iterdir()] == [good.build_id]
    assert not list(tmp_path.glob(".CURRENT*"))


def test_old_builds_are_pruned_but_the_published_one_stays(tmp_path: Path) -> None:
    ids = [_write(tmp_path).build_id for _ in range(store.KEEP_BUILDS + 2)]
    kept = sorted(p.name for p in (tmp_path / "builds").iterdir())
    assert kept == ids[-store.KEEP_BUILDS :]


def test_second_builder_is_refused_while_the_lock_is_held(tmp_path: Path, tiny_notes: Path) -> None:
    with index_lock(tmp_path / "index"):
        with pytest.raises(IndexLockedError, match="Another `semsearch index`"):
            build_index(tiny_notes, tmp_path / "index", HashingEmbedder())


def test_build_of_an_empty_folder_fails_and_keeps_the_old_build(tmp_path: Path, tiny_notes: Path) -> None:
    index_dir = tmp_path / "index"
    first = build_index(tiny_notes, index_dir, HashingEmbedder())
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(IndexBuildError, match="No notes to index"):
        build_index(empty, index_dir, HashingEmbedder())
    assert store.load_current(index_dir).manifest.build_id == first.manifest.build_id
