"""`semsearch index --ray` builds the same index as a local build (same chunks, vectors, manifest
files and top 10 for the eval queries) on a local Ray instance."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from semsearch.embedders import Embedder, load_embedder
from semsearch.embedders.hashing import HashingEmbedder
from semsearch.errors import IndexBuildError
from semsearch.evaluation.queries import load_queries
from semsearch.index.loader import Index, load_current
from semsearch.index.status import FILES_FILE
from semsearch.indexing.build import BuildReport, build_index
from semsearch.indexing.ray import ModelRef, build_index_ray
from semsearch.search import QueryLimits, Searcher
from semsearch.settings import bundled_notes_dir
from services.cli import main

from ..conftest import SHARED

pytestmark = [pytest.mark.timeout(300), pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*")]
EVAL = SHARED / "eval" / "notes-dev.jsonl"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def _by_position(files: dict[str, str]) -> dict[str, str]:
    """A manifest's files with each segment named by its position (names are fresh per build)."""
    names = sorted({name.split("/")[1] for name in files if name.startswith("segments/")})
    out = {}
    for name, digest in files.items():
        if name.startswith("segments/"):
            _, segment, file = name.split("/")
            name = f"segments/{names.index(segment)}/{file}"
        out[name] = digest
    return out


def vectors(index: Index) -> np.ndarray:
    """Every dense vector of the build, by chunk row."""
    return index.vectors.vectors(np.arange(index.vectors.count(), dtype=np.int64))


def top10(index_dir: Path, embedder: Embedder) -> list[list[str]]:
    """Top 10 of the dev queries (a few fixed ones where shared/eval is not beside the checkout)."""
    queries = ([q.query for q in load_queries(EVAL)] if EVAL.is_file() else
               ["what is inverted dropout", "ELU vs ReLU", "adam vs rmsprop", "VAE", "word2vec negative sampling"])
    results = Searcher.open(index_dir, embedder, limits=QueryLimits(max_top_k=10)).search_many(queries, top_k=10)
    return [[h.chunk.id for h in result.hits] for result in results]


def assert_same_build(local: BuildReport, remote: BuildReport, local_dir: Path, ray_dir: Path,
                      embedder: Embedder, atol: float) -> None:
    a, b = load_current(local_dir), load_current(ray_dir)
    assert (remote.files_read, remote.chunks, remote.skipped) == (local.files_read, local.chunks, local.skipped)
    assert b.chunks == a.chunks
    np.testing.assert_allclose(vectors(b), vectors(a), atol=atol, rtol=0)
    ma, mb = a.manifest, b.manifest
    assert (mb.model_name, mb.dim, mb.chunking, mb.file_count, mb.vector_store) == (
        ma.model_name, ma.dim, ma.chunking, ma.file_count, ma.vector_store)
    assert set(_by_position(mb.files)) == set(_by_position(ma.files))
    assert b.files.files == a.files.files  # files.json: the same record of every file (skipped ones too)
    assert (remote.sentences, remote.sentences_embedded) == (local.sentences, local.sentences_embedded)
    sa, sb = a.sentences, b.sentences
    assert sa is not None and sb is not None and np.array_equal(sb.starts, sa.starts)
    np.testing.assert_allclose(sb.vectors.astype(np.float32), sa.vectors.astype(np.float32), atol=max(atol, 1e-3))
    assert top10(ray_dir, embedder) == top10(local_dir, embedder)


@pytest.fixture
def notes(notes_dir: Path) -> Path:
    """The bundled notes plus a file each build must skip the same way."""
    (notes_dir / "empty.md").write_text("")
    return notes_dir


def test_ray_ingest_equals_local_ingest(ray_local: Any, notes: Path, tmp_path: Path) -> None:
    local = build_index(notes, tmp_path / "local", HashingEmbedder())
    remote = build_index_ray(notes, tmp_path / "ray", ModelRef("hashing"), workers=2, batch_size=16)
    assert remote.skipped and remote.skipped[0].source == "empty.md"
    assert load_current(tmp_path / "ray").files.by_source()["empty.md"].status == "skipped"
    assert remote.embedded == local.embedded > 100
    assert_same_build(local, remote, tmp_path / "local", tmp_path / "ray", HashingEmbedder(), atol=1e-6)
    a, b = load_current(tmp_path / "local"), load_current(tmp_path / "ray")
    # byte-identical files (checksums), but files.json, which records when each build read the folder
    assert {k: v for k, v in _by_position(b.manifest.files).items() if k != FILES_FILE} == {
        k: v for k, v in _by_position(a.manifest.files).items() if k != FILES_FILE}
    assert b.files.files == a.files.files and b.files.options == a.files.options


def test_cli_index_ray_then_a_rebuild_embeds_only_the_new_passage(
        ray_local: Any, notes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEMSEARCH_MODEL", "hashing")
    result = CliRunner().invoke(main, ["index", str(notes), "--index-dir", str(tmp_path / "cli"), "--ray"])
    assert result.exit_code == 0, result.output
    assert "Indexed 5 files" in result.output and "skipped empty.md" in result.output
    assert load_current(tmp_path / "cli").manifest.model_name == "hashing"
    (notes / "extra.md").write_text("# Extra\n\nA new passage about gradient clipping.\n")
    again = build_index_ray(notes, tmp_path / "cli", ModelRef("hashing"), workers=1)
    assert again.embedded == 1 and again.reused == again.chunks - 1


def test_missing_notes_folder_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(IndexBuildError, match=r"^The notes folder .* does not exist\.$"):
        build_index_ray(tmp_path / "nope", tmp_path / "index", ModelRef("hashing"))


def test_a_notes_folder_given_as_the_ray_address_is_refused(notes: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["index", "--index-dir", str(tmp_path / "x"), "--ray", str(notes)])
    assert result.exit_code == 1
    assert "is not a Ray address" in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_ray_ingest_equals_local_ingest_with_the_real_model(ray_local: Any, tmp_path: Path) -> None:
    notes = shutil.copytree(bundled_notes_dir(), tmp_path / "notes")
    embedder = load_embedder(MODEL, backend="onnx")
    local = build_index(notes, tmp_path / "local", embedder)
    remote = build_index_ray(notes, tmp_path / "ray", ModelRef(MODEL, backend="onnx"), workers=2)
    assert remote.manifest.model_name == MODEL
    assert_same_build(local, remote, tmp_path / "local", tmp_path / "ray", embedder, atol=1e-5)
