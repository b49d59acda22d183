"""Items 2, 3, 5: damaged index files, write failures (injected and real), and the wrong model."""

from __future__ import annotations

import errno
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.errors import CORRUPT_MESSAGE, MISMATCH_MESSAGE, IndexBuildError
from semsearch.index import format as store
from semsearch.index import writer
from semsearch.index.loader import load_current
from semsearch.index.segments import file_in_build
from semsearch.indexing.build import build_index
from tests.api.conftest import MakeClient, assert_error, publish

# every file the server reads, each verified against manifest.json before FAISS, json or numpy sees it
# (these builds are small: every file is hashed whole on open; `index.verify`)
# (segment files in the build's first segment: `segments.file_in_build`)
SERVED_FILES = ["vectors.faiss", "chunks.jsonl", "chunk_offsets.npy", "chunk_columns.npz", "lexical.json",
                "terms.json", "tf.npy", "tf_rows.npy", "tf_indptr.npy", "lengths.npy", "sentences.npy",
                "sentence_owner.npy", "deleted.npz", "glossary.json", "files.json", "manifest.json"]
DAMAGES = ["truncate", "flip"]


def damage(path: Path, how: str) -> None:
    """Damage this build's copy of the file (a new file in its place: a segment file can be a link
    that other builds share)."""
    data = bytearray(path.read_bytes())
    path.unlink()
    if how == "truncate":
        path.write_bytes(bytes(data[: len(data) // 2]))
    else:  # one flipped byte in the middle (inside a hash string, for manifest.json)
        middle = len(data) // 2
        if path.name == store.MANIFEST_FILE:
            middle = data.index(b'vectors.faiss": "') + 30
        data[middle] ^= 0x01
        path.write_bytes(bytes(data))


def build_path(index_dir: Path, build_id: str, name: str) -> Path:
    build = index_dir / store.BUILDS / build_id
    return build / file_in_build(store.read_manifest(build), name)


@pytest.mark.parametrize("how", DAMAGES)
@pytest.mark.parametrize("name", SERVED_FILES)
def test_a_damaged_published_build_falls_back_to_the_previous_one(
    build_a: str, notes_b: Path, index_dir: Path, make_client: MakeClient, name: str, how: str
) -> None:
    build_b = publish(notes_b, index_dir)
    damage(build_path(index_dir, build_b, name), how)
    client = make_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["index"]["build_id"] == build_a
    answer = client.post("/query", json={"query": "dropout"})
    assert answer.status_code == 200 and answer.json()["index"]["build_id"] == build_a


@pytest.mark.parametrize("how", DAMAGES)
@pytest.mark.parametrize("name", SERVED_FILES)
def test_a_damaged_only_build_is_refused_with_one_sentence(
    build_a: str, index_dir: Path, make_client: MakeClient, name: str, how: str
) -> None:
    damage(build_path(index_dir, build_a, name), how)
    client = make_client()
    assert assert_error(client.get("/readyz"), 503, "index_unavailable") == CORRUPT_MESSAGE
    message = assert_error(client.post("/query", json={"query": "dropout"}), 503, "index_unavailable")
    assert message == CORRUPT_MESSAGE and str(index_dir) not in message


def test_damaged_files_never_crash_the_process(build_a: str, index_dir: Path, figures: dict[str, Any]) -> None:
    """`semsearch ask` on each damaged file, in a child process: one line on stderr, exit 1, never a
    signal (a segfault in FAISS would show as -11)."""
    pristine = {name: build_path(index_dir, build_a, name).read_bytes() for name in SERVED_FILES}
    env = {**os.environ, "SEMSEARCH_MODEL": "hashing", "SEMSEARCH_INDEX_DIR": str(index_dir)}
    runs = 0
    for name in SERVED_FILES:
        for how in DAMAGES:
            path = build_path(index_dir, build_a, name)
            damage(path, how)
            result = subprocess.run([sys.executable, "-m", "services.main", "ask", "dropout"], env=env,
                                    capture_output=True, text=True, timeout=60)
            path.write_bytes(pristine[name])
            assert result.returncode == 1, (name, how, result.returncode, result.stderr)
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
            assert "corrupt" in lines[0] or "unreadable" in lines[0], lines[0]
            runs += 1
    figures.update(damaged_runs=runs, crashes=0)


# -- item 3: write failures -------------------------------------------------------------------------


def snapshot(index_dir: Path) -> tuple[str, list[str], list[str]]:
    """The published build, the build directories, and any stray files at the top level."""
    return ((index_dir / store.CURRENT).read_text(),
            sorted(p.name for p in (index_dir / store.BUILDS).iterdir()),
            sorted(p.name for p in index_dir.iterdir() if p.name not in {store.CURRENT, store.BUILDS, ".lock"}))


def patch_writes(patch: pytest.MonkeyPatch, write: Callable[[Path, bytes], None]) -> None:
    """Every durable write of a build goes through `write`: the build's files and manifest (the
    writer) and the new `CURRENT` (`format.publish`)."""
    patch.setattr(writer, "write_durably", write)
    patch.setattr(store, "write_durably", write)


def count_writes(notes: Path, tmp_path: Path) -> int:
    calls: list[Path] = []
    real = store.write_durably

    def counting(path: Path, data: bytes) -> None:
        calls.append(path)
        real(path, data)

    with pytest.MonkeyPatch.context() as patch:
        patch_writes(patch, counting)
        build_index(notes, tmp_path / "count-index", HashingEmbedder())
    return len(calls)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO])
def test_an_io_error_at_any_write_fails_loudly_and_changes_nothing(
    build_a: str, notes_b: Path, index_dir: Path, tmp_path: Path, code: int, figures: dict[str, Any]
) -> None:
    before = snapshot(index_dir)
    writes = count_writes(notes_b, tmp_path)
    real_write, real_fsync, real_replace = store.write_durably, os.fsync, os.replace
    points = [f"write{n}" for n in range(1, writes + 1)] + ["fsync", "replace"]
    for point in points:
        seen = {"write": 0}

        def write(path: Path, data: bytes, point: str = point, seen: dict[str, int] = seen) -> None:
            seen["write"] += 1
            if point == f"write{seen['write']}":
                raise OSError(code, os.strerror(code))
            real_write(path, data)

        def fsync(fd: int, point: str = point) -> None:
            if point == "fsync":
                raise OSError(code, os.strerror(code))
            real_fsync(fd)

        def replace(src: Any, dst: Any, point: str = point) -> None:
            if point == "replace" and Path(dst).name == store.CURRENT:
                raise OSError(code, os.strerror(code))
            real_replace(src, dst)

        with pytest.MonkeyPatch.context() as patch:
            patch_writes(patch, write)
            patch.setattr(store.os, "fsync", fsync)
            patch.setattr(store.os, "replace", replace)
            with pytest.raises(IndexBuildError, match=f"{os.strerror(code)}.*previous index is unchanged"):
                build_index(notes_b, index_dir, HashingEmbedder())
        assert snapshot(index_dir) == before, point
        assert load_current(index_dir).manifest.build_id == build_a
    figures.update(fault_points=len(points))


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write then fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


def test_a_real_file_size_limit_fails_the_build_and_cleans_up(build_a: str, index_dir: Path) -> None:
    """The kernel refuses writes past RLIMIT_FSIZE (EFBIG), as a full disk would refuse them."""
    from semsearch.settings import bundled_notes_dir

    before = snapshot(index_dir)
    env = {**os.environ, "SEMSEARCH_MODEL": "hashing", "SEMSEARCH_INDEX_DIR": str(index_dir)}
    result = subprocess.run([sys.executable, "-m", "services.main", "index", str(bundled_notes_dir())],
                            env=env, capture_output=True, text=True, timeout=120, preexec_fn=_limit_file_size)
    assert result.returncode == 1, result.stderr
    assert "File too large" in result.stderr and "previous index is unchanged" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(index_dir) == before
    assert load_current(index_dir).manifest.build_id == build_a


# -- item 5: the wrong model ------------------------------------------------------------------------


class OtherModel(HashingEmbedder):
    model_name = "other-model"


def test_an_index_built_with_another_model_is_refused(build_a: str, make_client: MakeClient,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("semsearch.wiring.load_embedder", lambda *args, **kwargs: OtherModel())
    client = make_client()
    assert assert_error(client.get("/readyz"), 503, "index_unavailable") == MISMATCH_MESSAGE
    assert assert_error(client.post("/query", json={"query": "dropout"}), 503,
                        "index_unavailable") == MISMATCH_MESSAGE
