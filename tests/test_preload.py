"""`PreloadingEmbedder` (the model loading while `ask` opens the index) and the console scripts'
garbage-collector handling (`services.launch`)."""

from __future__ import annotations

import atexit
import gc
import threading
from collections.abc import Iterator, Sequence

import numpy as np
import pytest

from semsearch.embedders import Embedder, load_embedder
from semsearch.embedders.bulk import BulkSwitchingEmbedder, SupportsBulk
from semsearch.embedders.preload import PreloadingEmbedder
from semsearch.errors import ModelLoadError


def test_the_load_runs_on_another_thread_while_the_caller_goes_on() -> None:
    started, release, threads = threading.Event(), threading.Event(), []

    def load() -> Embedder:
        threads.append(threading.current_thread())
        started.set()
        assert release.wait(10)
        return load_embedder("hashing")

    embedder = PreloadingEmbedder(load)  # returns at once: the load is blocked
    assert started.wait(10) and threads[0] is not threading.current_thread()
    release.set()
    assert embedder.dim == load_embedder("hashing").dim  # waits for the load
    assert np.array_equal(embedder.embed_queries(["dropout"]), load_embedder("hashing").embed_queries(["dropout"]))


def test_a_failed_load_is_raised_to_the_first_caller_as_it_was_raised() -> None:
    def load() -> Embedder:
        raise ModelLoadError("Could not load the ONNX model x.onnx: truncated")

    embedder = PreloadingEmbedder(load)
    with pytest.raises(ModelLoadError, match="truncated"):
        embedder.embed_queries(["q"])
    with pytest.raises(ModelLoadError):  # and to every later caller
        _ = embedder.model_name


def test_a_large_job_goes_to_the_loaded_embedders_bulk_backend() -> None:
    light, bulk = load_embedder("hashing"), load_embedder("hashing")
    switching = BulkSwitchingEmbedder(light, lambda: bulk, min_chars=10)
    preloading = PreloadingEmbedder(lambda: switching)
    texts: Sequence[str] = ["a long enough job"]
    assert isinstance(preloading, SupportsBulk)
    assert preloading.for_bulk(texts) is bulk and preloading.for_bulk(["a"]) is light
    plain = PreloadingEmbedder(lambda: light)
    assert plain.for_bulk(texts) is light


@pytest.fixture
def fresh_gc() -> Iterator[None]:
    """Undo what a launcher does to this test process's collector."""
    enabled = gc.isenabled()
    yield
    atexit.unregister(gc.freeze)
    gc.unfreeze()
    if enabled:
        gc.enable()


@pytest.mark.parametrize("script", ["ask", "semsearch"])
def test_a_console_script_imports_without_collection_and_runs_with_it(
        script: str, monkeypatch: pytest.MonkeyPatch, fresh_gc: None) -> None:
    import services.cli
    import services.launch
    import services.main

    seen: dict[str, object] = {}

    def command() -> None:
        seen.update(enabled=gc.isenabled(), frozen=gc.get_freeze_count())

    target = (services.cli, "ask") if script == "ask" else (services.main, "main")
    monkeypatch.setattr(*target, command)
    gc.unfreeze()
    getattr(services.launch, script)()
    assert seen["enabled"] is True  # the command itself collects as usual
    assert isinstance(seen["frozen"], int) and seen["frozen"] > 0  # what the imports made is frozen


def test_the_console_scripts_are_the_launchers() -> None:
    import tomllib
    from pathlib import Path

    scripts = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"semsearch": "services.launch:semsearch", "ask": "services.launch:ask"}
