"""Incremental builds: edits, additions, renames and deletions follow the folder, and only changed
passages are embedded (the embedder's calls are counted)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import semsearch.reading.chunking as chunking
from semsearch.embedders.hashing import HashingEmbedder
from semsearch.errors import IndexBuildError, IndexLockedError
from semsearch.index.loader import load_current, load_index
from semsearch.index.status import index_status
from semsearch.indexing.build import BuildReport, build_index, index_lock
from semsearch.search import Searcher
from services.cli import main
from tests.conftest import write_notes

NOTES = {
    "ops/keys.md": "# Operations\n\n## Keys\n\nRotate API keys every 90 days with the vault CLI.\n\n"
                   "## Backups\n\nBackups run nightly and are kept for thirty days.\n",
    "ml/dropout.md": "# Dropout\n\nInverted dropout scales activations during training.\n\n"
                     "## Keras\n\nThe keras Dropout layer takes a rate between zero and one.\n",
    "garden.txt": "Tomatoes\n\nWater tomatoes early in the morning.\n",
}


class CountingEmbedder(HashingEmbedder):
    """The hashing embedder, remembering every passage it was asked to embed."""

    def __init__(self, model_name: str = "hashing") -> None:
        self.model_name = model_name
        self.texts: list[str] = []
        self.calls = 0

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts += list(texts)
        return super().embed_documents(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return super().embed_documents(texts)


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    return write_notes(tmp_path / "notes", NOTES)


def sync(notes: Path, index_dir: Path, embedder: CountingEmbedder, **options: object) -> BuildReport:
    embedder.texts.clear()
    embedder.calls = 0
    return build_index(notes, index_dir, embedder, **options)  # type: ignore[arg-type]


def top_sources(index_dir: Path, query: str, k: int = 1) -> list[str]:
    searcher = Searcher.open(index_dir, HashingEmbedder())
    return [hit.chunk.source for hit in searcher.search(query, top_k=k).hits]


def chunk_texts(index_dir: Path) -> dict[str, list[str]]:
    by_source: dict[str, list[str]] = {}
    for chunk in load_current(index_dir).chunks:
        by_source.setdefault(chunk.source, []).append(chunk.text)
    return by_source


def test_first_build_embeds_everything_and_a_rebuild_of_unchanged_notes_embeds_nothing(
    notes: Path, index_dir: Path
) -> None:
    embedder = CountingEmbedder()
    first = sync(notes, index_dir, embedder)
    assert first.embedded == first.chunks >= len(NOTES) and first.reused == 0
    assert first.sentences_embedded == first.sentences > first.chunks  # and each chunk's sentences
    assert len(embedder.texts) == first.chunks + first.sentences
    assert {f.status for f in first.files} == {"indexed"}
    second = sync(notes, index_dir, embedder)
    assert embedder.calls == 0 and second.embedded == 0 and second.reused == second.chunks
    assert second.sentences_embedded == 0 and second.sentences == first.sentences
    a, b = (load_index(index_dir / "builds" / r.manifest.build_id).sentences for r in (first, second))
    assert a is not None and b is not None and np.array_equal(a.vectors, b.vectors)
    assert second.manifest.build_id != first.manifest.build_id  # still a new, complete build
    assert {f.source: f.status for f in second.files} == dict.fromkeys(NOTES, "unchanged")
    old, new = load_current(index_dir).vectors, first  # same vectors as a full build
    full = CountingEmbedder().embed_documents([c.embed_text for c in load_current(index_dir).chunks])
    assert np.allclose(old.vectors(np.arange(old.count())), full, atol=1e-6) and new.chunks == old.count()


def test_an_edit_re_embeds_only_the_changed_passage_and_results_follow(notes: Path, index_dir: Path) -> None:
    embedder = CountingEmbedder()
    sync(notes, index_dir, embedder)
    note = notes / "ops/keys.md"
    note.write_text(note.read_text().replace("nightly and are kept for thirty days",
                                             "hourly to the glacier vault in Frankfurt"))
    report = sync(notes, index_dir, embedder)
    assert report.embedded == 1 and "glacier" in embedder.texts[0]
    assert report.sentences_embedded == 1
    assert embedder.texts[1:] == ["Backups run hourly to the glacier vault in Frankfurt."]
    statuses = {f.source: (f.status, f.embedded) for f in report.files}
    assert statuses == {"ops/keys.md": ("indexed", 1), "ml/dropout.md": ("unchanged", 0),
                        "garden.txt": ("unchanged", 0)}
    assert top_sources(index_dir, "glacier Frankfurt") == ["ops/keys.md"]
    assert not any("thirty days" in t for t in chunk_texts(index_dir)["ops/keys.md"])


def test_an_added_note_is_embedded_and_found(notes: Path, index_dir: Path) -> None:
    embedder = CountingEmbedder()
    sync(notes, index_dir, embedder)
    (notes / "ml" / "batchnorm.md").write_text("# Batch norm\n\nBatch normalization standardizes inputs.\n")
    report = sync(notes, index_dir, embedder)
    assert report.embedded == 1 and report.sentences_embedded == 1
    assert embedder.texts[1:] == ["Batch normalization standardizes inputs."]
    assert {f.source: f.status for f in report.files}["ml/batchnorm.md"] == "indexed"
    assert top_sources(index_dir, "batch normalization standardizes") == ["ml/batchnorm.md"]


def test_a_renamed_note_is_followed_without_embedding(notes: Path, index_dir: Path) -> None:
    embedder = CountingEmbedder()
    sync(notes, index_dir, embedder)
    (notes / "ml" / "dropout.md").rename(notes / "regularization.md")
    report = sync(notes, index_dir, embedder)
    assert embedder.calls == 0 and report.embedded == 0 == report.sentences_embedded
    renamed = {f.source: f for f in report.files}["regularization.md"]
    assert (renamed.status, renamed.renamed_from) == ("unchanged", "ml/dropout.md")
    assert report.removed == []
    assert "ml/dropout.md" not in chunk_texts(index_dir)
    assert top_sources(index_dir, "inverted dropout scales activations") == ["regularization.md"]


def test_a_deleted_note_drops_its_passages(notes: Path, index_dir: Path) -> None:
    embedder = CountingEmbedder()
    sync(notes, index_dir, embedder)
    (notes / "garden.txt").unlink()
    report = sync(notes, index_dir, embedder)
    assert embedder.calls == 0 and report.removed == ["garden.txt"]
    assert set(chunk_texts(index_dir)) == {"ops/keys.md", "ml/dropout.md"}
    assert "garden.txt" not in top_sources(index_dir, "water tomatoes morning", k=5)
    assert index_status(index_dir).removed == ["garden.txt"]


def test_deleting_every_note_fails_and_keeps_the_previous_build(notes: Path, index_dir: Path) -> None:
    embedder = CountingEmbedder()
    first = sync(notes, index_dir, embedder)
    for path in list(notes.rglob("*.*")):
        path.unlink()
    with pytest.raises(IndexBuildError, match="No notes to index"):
        sync(notes, index_dir, embedder)
    assert load_current(index_dir).manifest.build_id == first.manifest.build_id


def test_another_model_re_embeds_everything(notes: Path, index_dir: Path) -> None:
    sync(notes, index_dir, CountingEmbedder())
    other = CountingEmbedder("hashing-v2")
    report = sync(notes, index_dir, other)
    assert report.embedded == report.chunks and report.reused == 0
    assert len(other.texts) == report.chunks + report.sentences == report.chunks + report.sentences_embedded


def test_a_passage_shared_by_two_notes_is_embedded_once(notes: Path, index_dir: Path) -> None:
    (notes / "copy.txt").write_text(NOTES["garden.txt"])
    embedder = CountingEmbedder()
    report = sync(notes, index_dir, embedder)
    assert report.chunks == report.embedded + 1 and len(embedder.texts) == report.embedded + report.sentences_embedded
    assert report.sentences_embedded == report.sentences - 1  # its one sentence too


def test_bad_files_are_recorded_and_never_stop_the_build(
    notes: Path, index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (notes / "image.md").write_bytes(b"\x89PNG\x00\x00binary")
    (notes / "huge.txt").write_text("word " * 400)
    (notes / "locked.md").write_text("# Locked\n\nNobody can read this.\n")
    (notes / "crash.md").write_text("# Crash\n\nThis one breaks the chunker.\n")
    real_read, real_chunk = Path.read_bytes, chunking.chunk_note

    def read_bytes(path: Path) -> bytes:
        if path.name == "locked.md":
            raise PermissionError(13, "Permission denied")
        return real_read(path)

    def chunk_note(note, **kwargs):  # type: ignore[no-untyped-def]
        if note.source == "crash.md":
            raise RuntimeError("the chunker fell over")
        return real_chunk(note, **kwargs)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.setattr("semsearch.indexing.build.chunk_note", chunk_note)
    report = sync(notes, index_dir, CountingEmbedder(), max_file_bytes=1000)
    files = {f.source: f for f in report.files}
    assert files["image.md"].status == "skipped" and "binary" in files["image.md"].reason
    assert files["huge.txt"].status == "skipped" and "too large" in files["huge.txt"].reason
    assert files["locked.md"].status == "skipped" and "Permission denied" in files["locked.md"].reason
    assert files["crash.md"].status == "failed"
    assert files["crash.md"].error == "RuntimeError: the chunker fell over"
    assert all(files[name].status == "indexed" for name in NOTES)
    assert report.manifest.file_count == len(NOTES)
    status = {f.source: f.status for f in index_status(index_dir).files}
    assert status["crash.md"] == "failed" and status["huge.txt"] == "skipped"


def test_a_second_build_is_refused_at_once_or_waits_for_the_first(notes: Path, index_dir: Path) -> None:
    embedder = CountingEmbedder()
    waited = threading.Event()
    with index_lock(index_dir):
        with pytest.raises(IndexLockedError, match="Another `semsearch index` is building .*--wait"):
            sync(notes, index_dir, embedder)
        result = CliRunner().invoke(main, ["index", str(notes), "--index-dir", str(index_dir)],
                                    env={"SEMSEARCH_MODEL": "hashing"})
        assert result.exit_code == 1 and "Another `semsearch index` is building" in result.output
        reports: list[BuildReport] = []
        waiter = threading.Thread(target=lambda: reports.append(
            sync(notes, index_dir, embedder, wait=True, on_wait=waited.set)))
        waiter.start()
        assert waited.wait(10)
        time.sleep(0.3)
        assert not reports  # still waiting while the lock is held
    waiter.join(30)
    assert reports and reports[0].chunks > 0


def test_cli_sync_summary_says_what_was_embedded(notes: Path, index_dir: Path) -> None:
    args = ["index", str(notes), "--index-dir", str(index_dir)]
    env = {"SEMSEARCH_MODEL": "hashing"}
    first = CliRunner().invoke(main, args, env=env)
    assert first.exit_code == 0, first.output
    (notes / "garden.txt").write_text("Tomatoes\n\nWater tomatoes late in the evening instead.\n")
    second = CliRunner().invoke(main, args + ["--wait"], env=env)
    assert second.exit_code == 0, second.output
    assert "Indexed 3 files into" in second.output and "1 embedded" in second.output


@pytest.mark.slow
def test_with_the_real_model_a_sync_reuses_vectors_equal_to_fresh_ones(notes: Path, index_dir: Path) -> None:
    from semsearch.embedders import load_embedder

    embedder = load_embedder("all-MiniLM-L6-v2")
    build_index(notes, index_dir, embedder)
    (notes / "garden.txt").write_text("Cucumbers\n\nPickle cucumbers with dill in August.\n")
    report = build_index(notes, index_dir, embedder)
    assert report.embedded == 1 and report.reused == report.chunks - 1
    build = load_current(index_dir)
    fresh = embedder.embed_documents([c.embed_text for c in build.chunks])
    assert np.allclose(build.vectors.vectors(np.arange(build.vectors.count())), fresh, atol=1e-4)
    hits = Searcher.open(index_dir, embedder).search("how do I preserve cucumbers", top_k=1).hits
    assert hits[0].chunk.source == "garden.txt"
