"""The ONNX Runtime backend: same vectors as torch, a cache that notices new weights, and an
`ask` path that never imports torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from semsearch.embedders import load_embedder
from semsearch.embedders.export import FILES, STAMP, _source_stamp, model_cache_dir, model_file
from semsearch.embedders.hashing import HashingEmbedder
from semsearch.embedders.models import ModelSpec
from semsearch.indexing.build import build_index

HEAVY = ("torch", "transformers", "sentence_transformers")


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="onnx-int8"):
        load_embedder("all-MiniLM-L6-v2", backend="tensorflow")


def test_cached_file_is_used_only_for_the_same_weights(tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "model.safetensors").write_bytes(b"weights")
    spec = ModelSpec(name="local/tiny", package=None, pip_name=None, dim=8, max_tokens=16, path=model_dir)
    cache = tmp_path / "cache"
    assert model_file(spec, "fp32", cache) is None
    folder = model_cache_dir(spec, cache)
    folder.mkdir(parents=True)
    (folder / FILES["fp32"]).write_bytes(b"onnx")
    (folder / STAMP).write_text(json.dumps(_source_stamp(model_dir)))
    assert model_file(spec, "fp32", cache) == folder / FILES["fp32"]
    assert model_file(spec, "int8", cache) is None
    (model_dir / "model.safetensors").write_bytes(b"new weights")  # retrained: the export is stale
    assert model_file(spec, "fp32", cache) is None


def test_ask_path_does_not_import_torch(tmp_path: Path, notes_dir: Path) -> None:
    index_dir = tmp_path / "idx"
    build_index(notes_dir, index_dir, HashingEmbedder())
    code = (
        "import sys\n"
        "from services.cli import answer\n"
        "from semsearch.settings import get_settings\n"
        "answer('what is inverted dropout', 3, True, get_settings())\n"
        f"print('HEAVY', [m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr)\n"
    )
    env = {**os.environ, "SEMSEARCH_MODEL": "hashing", "SEMSEARCH_INDEX_DIR": str(index_dir)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    assert "HEAVY []" in done.stderr
    assert done.stdout.count("\n") == 3  # three hits as JSON lines


@pytest.mark.slow
def test_onnx_matches_torch_on_every_chunk_of_the_notes(tmp_path: Path) -> None:
    from semsearch.embedders.onnx import OnnxEmbedder
    from semsearch.embedders.sentence_transformer import SentenceTransformerEmbedder
    from semsearch.indexing.build import collect_chunks
    from semsearch.reading.files import DEFAULT_INCLUDE, DEFAULT_MAX_FILE_BYTES
    from semsearch.settings import bundled_notes_dir

    torch_embedder = load_embedder("all-MiniLM-L6-v2", backend="auto", cache_dir=tmp_path)
    assert isinstance(torch_embedder, SentenceTransformerEmbedder)  # nothing cached yet: torch, then export
    loaded = load_embedder("all-MiniLM-L6-v2", backend="auto", cache_dir=tmp_path)
    onnx_embedder = getattr(loaded, "light", loaded)  # on a CPU with native bf16, bulk jobs go to torch
    assert isinstance(onnx_embedder, OnnxEmbedder)
    assert onnx_embedder.model_name == torch_embedder.model_name
    exported = onnx_embedder.onnx_path  # the graph alone; its weights in one side file ONNX Runtime maps
    assert exported.stat().st_size < 1 << 20 and len(list(exported.parent.glob("*.weights"))) == 1
    chunks, _, _ = collect_chunks(bundled_notes_dir(), onnx_embedder, include=DEFAULT_INCLUDE,
                                  max_file_bytes=DEFAULT_MAX_FILE_BYTES, overlap_tokens=32)
    texts = [c.embed_text for c in chunks] + ["what is inverted dropout", "x " * 600]
    reference = torch_embedder.embed_documents(texts)
    cosine = np.sum(reference * onnx_embedder.embed_documents(texts), axis=1)
    assert cosine.min() >= 0.999
    queries = ["what is inverted dropout", "rotate api keys"]
    pairs = torch_embedder.embed_queries(queries) * onnx_embedder.embed_queries(queries)
    assert np.sum(pairs, axis=1).min() >= 0.999


@pytest.mark.slow
def test_int8_is_close_and_has_its_own_identity(tmp_path: Path) -> None:
    fp32 = load_embedder("all-MiniLM-L6-v2", backend="onnx", cache_dir=tmp_path)
    int8 = load_embedder("all-MiniLM-L6-v2", backend="onnx-int8", cache_dir=tmp_path)
    assert int8.model_name != fp32.model_name
    texts = ["Inverted dropout scales activations at training time.", "How do we rotate API keys?"]
    assert np.sum(fp32.embed_documents(texts) * int8.embed_documents(texts), axis=1).min() >= 0.98


def tiny_model(path: Path) -> np.ndarray:
    """An ONNX file of one MatMul whose 2 MB weight is inside the graph; returns the weight."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = np.random.default_rng(0).normal(size=(1000, 500)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1000])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 500])],
        initializer=[numpy_helper.from_array(weight, "w")])
    onnx.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return weight


def run_model(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    out: np.ndarray = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    return out


def test_weights_move_to_a_side_file_that_onnx_runtime_maps_with_the_same_outputs(tmp_path: Path) -> None:
    from semsearch.embedders.export import GRAPH_ONLY_BYTES, WEIGHTS_SUFFIX, split_weights

    path = tmp_path / FILES["fp32"]
    weight = tiny_model(path)
    x = np.random.default_rng(1).normal(size=(3, 1000)).astype(np.float32)
    before = run_model(path, x)
    assert path.stat().st_size > GRAPH_ONLY_BYTES
    assert split_weights(path) == path
    side = sorted(tmp_path.glob(f"*{WEIGHTS_SUFFIX}"))
    assert path.stat().st_size < 10_000 and len(side) == 1 and side[0].stat().st_size == weight.nbytes
    assert np.array_equal(run_model(path, x), before)
    assert split_weights(path) == path and sorted(tmp_path.glob(f"*{WEIGHTS_SUFFIX}")) == side  # done once
    tiny_model(path)  # a new export of the same name: its side file replaces the old one
    split_weights(path)
    again = sorted(tmp_path.glob(f"*{WEIGHTS_SUFFIX}"))
    assert len(again) == 1 and again != side and np.array_equal(run_model(path, x), before)


def test_a_file_in_a_folder_that_cannot_be_written_is_used_as_it_is(tmp_path: Path) -> None:
    from semsearch.embedders.export import LOCK, split_weights

    path = tmp_path / FILES["fp32"]
    tiny_model(path)
    x = np.ones((1, 1000), dtype=np.float32)
    before, size = run_model(path, x), path.stat().st_size
    (tmp_path / LOCK).mkdir()  # the lock file cannot be opened: as in a read-only cache
    assert split_weights(path) == path
    assert path.stat().st_size == size and np.array_equal(run_model(path, x), before)


def test_onnx_runtime_writes_no_device_id_or_telemetry_under_the_users_cache(tmp_path: Path) -> None:
    """ONNX Runtime keeps a device id in ~/.cache/Microsoft/DeveloperTools unless ORT_DISABLE_TELEMETRY
    is set, which importing semsearch's embedders does (a user's own setting wins)."""
    model = tmp_path / "tiny.onnx"
    tiny_model(model)
    session = f"import onnxruntime as o; o.InferenceSession({str(model)!r}, providers=['CPUExecutionProvider'])"

    def microsoft_folder_after(code: str, name: str) -> bool:
        home = tmp_path / name
        env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
        env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
        subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
        return any(home.rglob("DeveloperTools"))

    if not microsoft_folder_after(session, "plain"):
        pytest.skip("this onnxruntime keeps no device id: nothing to turn off")
    assert not microsoft_folder_after(f"import semsearch.embedders; {session}", "semsearch")


@pytest.mark.slow
def test_a_quick_start_session_skips_prepacking_and_gives_the_same_vectors() -> None:
    """`ask` builds its session without weight prepacking (quicker to build, slower to run)."""
    texts = ["what is inverted dropout", "Inverted dropout scales activations at training time. " * 20]
    usual = load_embedder("sentence-transformers/all-MiniLM-L6-v2", backend="onnx")
    quick = load_embedder("sentence-transformers/all-MiniLM-L6-v2", backend="onnx", quick_start=True)

    def prepacking_off(embedder: object) -> bool:
        options = embedder._session.get_session_options()  # type: ignore[attr-defined]
        try:
            return bool(options.get_session_config_entry("session.disable_prepacking") == "1")
        except RuntimeError:  # not set
            return False

    assert prepacking_off(quick) and not prepacking_off(usual)
    assert np.abs(quick.embed_queries(texts) - usual.embed_queries(texts)).max() < 1e-5
