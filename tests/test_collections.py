"""Collections: each synced on its own (an edit in one embeds nothing of another), removed whole,
recorded in the index directory, and old builds' rows still load as the default collection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.errors import FilterError, IndexBuildError
from semsearch.filters import Filter
from semsearch.index.collections import read_registry
from semsearch.index.format import current_build_dir
from semsearch.index.status import BuildFiles, FileStatus, status_of
from semsearch.indexing.build import build_index
from semsearch.indexing.collections import remove_collection
from semsearch.records import DEFAULT_COLLECTION, Chunk
from semsearch.search import Searcher
from services.main import main


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


WORK = {"keys.md": "# Keys\n\nRotate API keys every 90 days with the vault CLI.\n\n## Access\n\nAsk the platform.\n",
        "deploy.md": "# Deploy\n\nDeploys run from main after the canary is green.\n"}
HOME = {"keys.md": "# Keys\n\nThe spare key is under the flower pot.\n",
        "garden.md": "# Garden\n\nWater tomatoes early in the morning.\n"}


@pytest.fixture
def two(tmp_path: Path, embedder: HashingEmbedder) -> tuple[Path, Path, Path]:
    index = tmp_path / "index"
    work, home = write(tmp_path / "work", WORK), write(tmp_path / "home", HOME)
    build_index(work, index, embedder, collection="work")
    build_index(home, index, embedder, collection="home")
    return index, work, home


def test_syncing_one_collection_reads_and_embeds_nothing_of_another(
        two: tuple[Path, Path, Path], embedder: HashingEmbedder) -> None:
    index, work, home = two
    before = Searcher.open(index, embedder)
    in_home = before.search("spare key flower pot", top_k=3, filter=Filter(collections=("home",)))
    (work / "deploy.md").write_text("# Deploy\n\nDeploys run from main after the canary and the smoke tests.\n")
    report = build_index(work, index, embedder, collection="work")
    files = {(f.collection, f.source): f for f in report.files}
    assert report.embedded == 1  # the one changed passage of work/deploy.md
    assert 0 < report.sentences_embedded <= 2  # and only its sentences: home's come from the build before
    assert files[("work", "deploy.md")].status == "indexed" and files[("work", "deploy.md")].embedded == 1
    assert files[("work", "keys.md")].status == "unchanged" and files[("work", "keys.md")].embedded == 0
    assert all(f.status == "unchanged" and f.embedded == 0 for (c, _), f in files.items() if c == "home")
    on_disk = BuildFiles.from_json((current_build_dir(index) / "files.json").read_bytes())
    assert on_disk.embedded == 1 and sum(f.embedded for f in on_disk.files) == 1
    after = Searcher.open(index, embedder)
    again = after.search("spare key flower pot", top_k=3, filter=Filter(collections=("home",)))
    assert [(h.chunk.id, round(h.score, 6)) for h in again.hits] == [(h.chunk.id, round(h.score, 6))
                                                                    for h in in_home.hits]
    assert after.manifest.collections == {"home": str(home.absolute()), "work": str(work.absolute())}


def test_the_same_file_name_in_two_collections_is_two_notes(two: tuple[Path, Path, Path],
                                                            embedder: HashingEmbedder) -> None:
    index, _, _ = two
    searcher = Searcher.open(index, embedder)
    keys = {(c.collection, c.source) for c in searcher.index.chunks if c.source == "keys.md"}
    assert keys == {("work", "keys.md"), ("home", "keys.md")}
    assert {f.collection for f in searcher.index.files.files if f.source == "keys.md"} == {"work", "home"}
    assert searcher.search("spare key", top_k=5, filter=Filter(path="keys.md", collections=("home",))).hits[0] \
        .chunk.collection == "home"


def test_removing_a_collection_removes_all_its_passages(two: tuple[Path, Path, Path],
                                                        embedder: HashingEmbedder) -> None:
    index, work, _ = two
    report = remove_collection(index, "home", embedder)
    assert report is not None and report.embedded == 0 and sorted(report.removed) == ["garden.md", "keys.md"]
    searcher = Searcher.open(index, embedder)
    assert {c.collection for c in searcher.index.chunks} == {"work"}
    assert {f.collection for f in searcher.index.files.files} == {"work"}
    assert searcher.index.vectors.count() == len(searcher.index.chunks)
    assert "home" not in searcher.manifest.collections and read_registry(index) == {"work": str(work.absolute())}
    build_index(work, index.parent / "fresh", embedder, collection="work")  # what is left ranks as a build of it
    fresh = Searcher.open(index.parent / "fresh", embedder)
    for query in ("spare key", "deploy the service", "rotate"):
        assert [(h.chunk.id, round(h.score, 6)) for h in searcher.search(query).hits] == [
            (h.chunk.id, round(h.score, 6)) for h in fresh.search(query).hits]
    with pytest.raises(FilterError, match="Unknown collection 'home'"):
        searcher.search("spare key", filter=Filter(collections=("home",)))
    with pytest.raises(IndexBuildError, match="only collection"):
        remove_collection(index, "work", embedder)
    with pytest.raises(IndexBuildError, match="no collection 'nope'"):
        remove_collection(index, "nope", embedder)


def test_scoped_status_holds_only_the_visible_collections(two: tuple[Path, Path, Path],
                                                          embedder: HashingEmbedder) -> None:
    index, _, _ = two
    searcher = Searcher.open(index, embedder)
    scoped = status_of(searcher.index, frozenset({"work"}))
    assert {f.collection for f in scoped.files} == {"work"} and [c.name for c in scoped.collections] == ["work"]
    assert scoped.chunk_count == sum(c.collection == "work" for c in searcher.index.chunks)
    assert scoped.notes_dir == ""  # the default folder is no collection the caller may see
    assert len(status_of(searcher.index).collections) == 2


def test_old_rows_without_collections_load_as_the_default_collection() -> None:
    old = {"id": "x", "source": "a.md", "heading_path": ["A"], "start_line": 1, "end_line": 2, "text": "t",
           "embed_text": "t", "title": None}
    chunk = Chunk.from_dict(old)
    assert (chunk.collection, chunk.tags, chunk.date) == (DEFAULT_COLLECTION, (), None)
    record = BuildFiles.from_json(json.dumps({"embedded": 1, "reused": 0, "removed": ["gone.md"],
                                              "files": [{"source": "a.md", "status": "indexed"}]}).encode())
    assert record.files == [FileStatus("a.md", "indexed")] and record.files[0].collection == DEFAULT_COLLECTION
    assert record.removed_by_collection() == [(DEFAULT_COLLECTION, "gone.md")]


def test_a_folder_indexed_without_a_name_is_the_default_collection(tiny_index: Path, tiny_notes: Path,
                                                                     embedder: HashingEmbedder) -> None:
    searcher = Searcher.open(tiny_index, embedder)
    assert {c.collection for c in searcher.index.chunks} == {DEFAULT_COLLECTION}
    assert searcher.manifest.folder_of(DEFAULT_COLLECTION) == str(tiny_notes.absolute())
    assert searcher.search("dropout").hits[0].to_dict()["collection"] == DEFAULT_COLLECTION
    (tiny_index / "collections.json").unlink()  # as an index made before collections
    work = write(tiny_notes.parent / "work", WORK)
    build_index(work, tiny_index, embedder, collection="work")
    assert read_registry(tiny_index) == {DEFAULT_COLLECTION: str(tiny_notes.absolute()), "work": str(work.absolute())}


def test_the_cli_adds_syncs_lists_and_removes_collections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEMSEARCH_MODEL", "hashing")
    work, home = write(tmp_path / "w", WORK), write(tmp_path / "h", HOME)
    runner = CliRunner()
    assert runner.invoke(main, ["index", "--collection", "work", str(work)]).exit_code == 0
    assert runner.invoke(main, ["index", "-c", "home", str(home)]).exit_code == 0
    listed = runner.invoke(main, ["collections"])
    assert listed.exit_code == 0 and "home\t" in listed.output and "work\t" in listed.output
    assert "2 files, 2 passages" in listed.output.splitlines()[0]
    synced = runner.invoke(main, ["index"])  # every recorded collection, nothing new to embed
    assert synced.exit_code == 0 and synced.output.count("; 0 embedded,") == 2, synced.output
    answer = runner.invoke(main, ["ask", "--json", "-c", "home", "spare key"])
    assert answer.exit_code == 0 and {json.loads(line)["collection"] for line in answer.output.splitlines()} == {"home"}
    typed = runner.invoke(main, ["ask", "--json", "in:work rotate keys"])
    assert {json.loads(line)["collection"] for line in typed.output.splitlines()} == {"work"}
    unknown = runner.invoke(main, ["ask", "-c", "nope", "keys"])
    assert unknown.exit_code == 1 and unknown.output.strip().splitlines() == [
        "Error: Unknown collection 'nope'; the collections are: home, work."]
    bad_date = runner.invoke(main, ["ask", "--since", "2025-13", "keys"])
    assert bad_date.exit_code == 1 and len(bad_date.output.strip().splitlines()) == 1 and "since" in bad_date.output
    assert runner.invoke(main, ["collections", "remove", "home"]).exit_code == 0
    assert "home" not in runner.invoke(main, ["collections"]).output
    missing = runner.invoke(main, ["index", "--collection", "reading"])
    assert missing.exit_code == 2 and "No folder is recorded for collection 'reading'" in missing.output


def test_the_config_file_may_list_collections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from semsearch.settings import get_settings
    from semsearch.wiring import collection_folders

    config = tmp_path / "config.toml"
    config.write_text('[collections]\nwork = "~/work-notes"\nreading = "/srv/reading"\n', encoding="utf-8")
    monkeypatch.setenv("SEMSEARCH_CONFIG_FILE", str(config))
    get_settings.cache_clear()
    folders = collection_folders(get_settings())
    assert folders == {"work": Path("~/work-notes").expanduser(), "reading": Path("/srv/reading")}
