from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import semsearch.index.format as store
import semsearch.index.writer as writer
from semsearch.embedders.hashing import HashingEmbedder
from semsearch.errors import (
    IndexBuildError,
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
)
from semsearch.index.chunk_table import CHUNKS_FILE
from semsearch.index.loader import GLOSSARY_COUNTS_FILE, GLOSSARY_FILE, REQUIRED_FILES, load_current
from semsearch.index.segments import SEGMENT_FILES, VECTORS_FILE, file_in_build
from semsearch.indexing.build import build_index, index_lock
from semsearch.records import Chunk


def _chunks(n: int) -> list[Chunk]:
    return [Chunk(f"id{i}", "a.md", ("H",), i + 1, i + 1, f"text {i}", f"text {i}") for i in range(n)]


def _vectors(n: int, dim: int = 8) -> np.ndarray:
    rng = np.random.default_rng(0)
    v = rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _write(index_dir: Path, n: int = 5, model: str = "m") -> store.Manifest:
    return writer.write_build(index_dir, _chunks(n), _vectors(n), model_name=model,
                             chunking={"max_tokens": 10}, file_count=1)


def test_round_trip(tmp_path: Path) -> None:
    manifest = _write(tmp_path, 5)
    build = load_current(tmp_path, model_name="m", dim=8)
    assert build.manifest == manifest
    assert build.chunks == _chunks(5)
    assert build.vectors.count() == 5
    assert (tmp_path / "CURRENT").read_text().strip() == manifest.build_id
    assert set(manifest.files) == {*REQUIRED_FILES, *(file_in_build(manifest, name) for name in SEGMENT_FILES)}
    assert manifest.format_version == store.FORMAT_VERSION == 4 and len(manifest.segments) == 1


def test_missing_index_names_the_path_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match=r"No index at .*semsearch index"):
        load_current(tmp_path / "nowhere")


@pytest.mark.parametrize("name", [*REQUIRED_FILES, *SEGMENT_FILES])
@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_corrupt_files_are_detected_before_faiss_reads_them(tmp_path: Path, name: str, damage: str) -> None:
    manifest = _write(tmp_path)
    path = tmp_path / "builds" / manifest.build_id / file_in_build(manifest, name)
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "truncate":
        path.write_bytes(bytes(data[: len(data) // 3]))
    else:
        path.unlink()
    with pytest.raises(IndexCorruptError, match=re.escape(name)):
        build = load_current(tmp_path)
        if name == GLOSSARY_COUNTS_FILE:  # read by a sync, not by a search
            build.glossary_counts()


def test_unreadable_manifest(tmp_path: Path) -> None:
    manifest = _write(tmp_path)
    (tmp_path / "builds" / manifest.build_id / store.MANIFEST_FILE).write_text("{not json")
    with pytest.raises(IndexCorruptError, match="is corrupt .not JSON"):
        load_current(tmp_path)


@pytest.mark.parametrize("text", ["null", "[]", '{"files": []}', '{"format_version": 4, "files": []}',
                                  '{"format_version": 4, "dim": "8"}', '{"format_version": 4, "segments": [{}]}'])
def test_a_manifest_of_the_wrong_shape_is_corrupt_not_a_crash(tmp_path: Path, text: str) -> None:
    manifest = _write(tmp_path)
    (tmp_path / "builds" / manifest.build_id / store.MANIFEST_FILE).write_text(text)
    with pytest.raises((IndexCorruptError, IndexMismatchError)):
        load_current(tmp_path)


def test_a_build_of_an_older_format_is_refused_in_one_sentence(tmp_path: Path) -> None:
    manifest = _write(tmp_path)
    path = tmp_path / "builds" / manifest.build_id / store.MANIFEST_FILE
    path.write_text(path.read_text().replace('"format_version": 4', '"format_version": 1'))
    with pytest.raises(IndexMismatchError, match=r"format 1 and this semsearch reads format 4\. Run `semsearch index"):
        load_current(tmp_path)


def test_chunk_text_with_line_separators_round_trips(tmp_path: Path) -> None:
    chunks = [Chunk("a", "a\u0085b.md", (), 1, 1, "line \u2028 more \u2029 end", "line \u2028 more")]
    writer.write_build(tmp_path, chunks, _vectors(1), model_name="m", chunking={}, file_count=1)
    assert load_current(tmp_path).chunks == chunks


def test_every_file_the_build_is_served_from_is_checksummed(tmp_path: Path) -> None:
    manifest = _write(tmp_path)
    build_dir = tmp_path / "builds" / manifest.build_id
    on_disk = {str(p.relative_to(build_dir)) for p in build_dir.rglob("*") if p.is_file()} - {store.MANIFEST_FILE}
    assert on_disk == set(manifest.files)
    assert {file_in_build(manifest, VECTORS_FILE), file_in_build(manifest, CHUNKS_FILE), GLOSSARY_FILE} <= on_disk


def test_wrong_model_or_dimension_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, model="model-a")
    with pytest.raises(IndexMismatchError, match="model-a"):
        load_current(tmp_path, model_name="model-b", dim=8)
    with pytest.raises(IndexMismatchError):
        load_current(tmp_path, model_name="model-a", dim=16)


def test_failed_write_publishes_nothing_and_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = _write(tmp_path)
    calls = {"n": 0}
    real = store.write_durably

    def failing(path: Path, data: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(writer, "write_durably", failing)
    with pytest.raises(IndexBuildError, match="No space left on device.*previous index is unchanged"):
        _write(tmp_path, 7)
    assert load_current(tmp_path).manifest.build_id == good.build_id
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
    assert load_current(index_dir).manifest.build_id == first.manifest.build_id
