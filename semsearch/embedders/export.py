"""ONNX files for a model: exported once from the packaged weights into a cache directory.

`model_file` is cheap (a few `stat` calls) and is what the query path uses; `export_onnx` and
`quantize_int8` import torch/transformers/onnx and run once per model and cache directory.
Every file is written to a temporary name and renamed into place, so a reader never sees half.
A cached file keeps its weights in a side file (ONNX external data, `split_weights`): ONNX Runtime
then maps them instead of parsing them out of the graph's protobuf, so a session opens several
times faster (a cold `ask`), with the same vectors.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from ..errors import ModelLoadError
from .models import ModelSpec

logger = logging.getLogger(__name__)

Variant = Literal["fp32", "int8"]
CACHE_ENV = "SEMSEARCH_MODEL_CACHE"
FILES: dict[Variant, str] = {"fp32": "model.onnx", "int8": "model-int8.onnx"}
STAMP = "source.json"
OPSET = 17
WEIGHTS_SUFFIX = ".weights"  # `model.onnx.<token>.weights`: the external data of `model.onnx`
GRAPH_ONLY_BYTES = 1 << 20  # an ONNX file larger than this still holds its weights
LOCK = ".lock"


def default_cache_dir() -> Path:
    """`$SEMSEARCH_MODEL_CACHE`, else `$XDG_CACHE_HOME/semsearch/models` (~/.cache/...)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "semsearch" / "models"


def _source_stamp(model_dir: Path) -> dict[str, Any]:
    """Identifies the weights the export came from (size and mtime of each weights file)."""
    files = sorted(p for p in model_dir.iterdir() if p.suffix in {".safetensors", ".bin"})
    return {"model_dir": str(model_dir.resolve()),
            "weights": {p.name: [p.stat().st_size, int(p.stat().st_mtime)] for p in files}}


def model_cache_dir(spec: ModelSpec, cache_dir: Path | None = None) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "--", spec.name.strip("/"))[-120:]
    return (cache_dir or default_cache_dir()) / slug


def model_file(spec: ModelSpec, variant: Variant = "fp32", cache_dir: Path | None = None) -> Path | None:
    """The cached ONNX file of `spec`, or None when it is missing or was made from other weights."""
    folder = model_cache_dir(spec, cache_dir)
    path = folder / FILES[variant]
    if not path.is_file():
        return None
    try:
        stamp = json.loads((folder / STAMP).read_text(encoding="utf-8"))
        if stamp != _source_stamp(spec.model_dir()):
            logger.info("cached ONNX model %s is stale", path)
            return None
    except (OSError, ValueError):
        return None
    return path


def _write_atomically(target: Path, write: Callable[[Path], object]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def export_onnx(spec: ModelSpec, cache_dir: Path | None = None) -> Path:
    """Export the transformer of `spec` (output: last_hidden_state) to fp32 ONNX, with ONNX
    Runtime's BERT fusions (attention, layer norm, GELU) applied; returns the path."""
    cached = model_file(spec, "fp32", cache_dir)
    if cached is not None:
        return cached
    started = time.perf_counter()
    try:
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise ModelLoadError(f"Exporting {spec.name} to ONNX needs torch and transformers: {exc}") from exc
    # eager attention exports as plain MatMul/Softmax, which ORT's optimizer fuses into Attention
    model = AutoModel.from_pretrained(str(spec.model_dir()), attn_implementation="eager").eval()

    class _Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model  # a submodule, so its weights export as initializers

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    example = torch.ones(2, 8, dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
    folder = model_cache_dir(spec, cache_dir)

    def write(tmp: Path) -> None:
        import warnings

        raw = tmp.with_name(tmp.name + ".raw")
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(_Wrapped(), (example, example, torch.zeros_like(example)), str(raw),
                                  input_names=names, output_names=["last_hidden_state"],
                                  dynamic_axes=axes, opset_version=OPSET, dynamo=False)
            _optimize(raw, tmp, model.config)
        finally:
            raw.unlink(missing_ok=True)

    try:
        _write_atomically(folder / FILES["fp32"], write)
    except ImportError as exc:  # torch.onnx needs the `onnx` package
        raise ModelLoadError(f"Exporting {spec.name} to ONNX needs the onnx package: {exc}") from exc
    _write_atomically(folder / STAMP, lambda tmp: tmp.write_text(
        json.dumps(_source_stamp(spec.model_dir())), encoding="utf-8"))
    split_weights(folder / FILES["fp32"])
    logger.info("exported %s to %s in %.1fs", spec.name, folder, time.perf_counter() - started)
    return folder / FILES["fp32"]


def split_weights(path: Path) -> Path:
    """Move the weights of the ONNX file `path` to a side file beside it (`path.<token>.weights`),
    leaving a graph that refers to them, and remove older side files of `path`. Returns `path`; a
    file that holds no weights already is left as it is, and so is one in a folder that cannot be
    written (it loads as it is, only slower). Under a lock file in the folder, so that two processes
    do not convert the same file at once."""
    if path.stat().st_size <= GRAPH_ONLY_BYTES:
        return path
    try:
        _split_weights(path)
    except OSError as exc:
        logger.warning("could not move the weights of %s to a side file (%s); using it as it is", path, exc)
    return path


def _split_weights(path: Path) -> None:
    import fcntl

    import onnx

    with open(path.parent / LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.stat().st_size <= GRAPH_ONLY_BYTES:  # another process did it meanwhile
            return
        started = time.perf_counter()
        model = onnx.load(str(path))
        weights = f"{path.name}.{secrets.token_hex(4)}{WEIGHTS_SUFFIX}"
        try:
            _write_atomically(path, lambda tmp: onnx.save_model(
                model, str(tmp), save_as_external_data=True, all_tensors_to_one_file=True, location=weights,
                size_threshold=1024))
        except BaseException:
            (path.parent / weights).unlink(missing_ok=True)
            raise
        for old in path.parent.glob(f"{path.name}.*{WEIGHTS_SUFFIX}"):
            if old.name != weights:
                old.unlink(missing_ok=True)
    logger.info("moved the weights of %s to %s in %.1fs", path, weights, time.perf_counter() - started)


def _optimize(raw: Path, target: Path, config: Any) -> None:
    """ORT's offline transformer fusions; the unfused graph is kept if they do not apply."""
    import shutil

    try:
        from onnxruntime.transformers.optimizer import optimize_model

        optimized = optimize_model(str(raw), model_type="bert", num_heads=config.num_attention_heads,
                                   hidden_size=config.hidden_size)
        optimized.save_model_to_file(str(target))
        logger.info("fused operators: %s", optimized.get_fused_operator_statistics())
    except Exception as exc:  # an architecture the optimizer does not know: keep the plain graph
        logger.warning("ONNX transformer fusions not applied: %s", exc)
        shutil.copyfile(raw, target)


def quantize_int8(spec: ModelSpec, cache_dir: Path | None = None) -> Path:
    """Dynamic int8 quantization (weights int8, activations quantized at run time) of the fp32 file."""
    cached = model_file(spec, "int8", cache_dir)
    if cached is not None:
        return split_weights(cached)
    source = export_onnx(spec, cache_dir)
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise ModelLoadError(f"int8 quantization needs the onnx package: {exc}") from exc
    target = source.with_name(FILES["int8"])
    _write_atomically(target, lambda tmp: quantize_dynamic(
        source, tmp, weight_type=QuantType.QInt8, per_channel=True,
        extra_options={"DefaultTensorType": 1}))  # 1 = FLOAT, for outputs of fused ops
    logger.info("quantized %s to int8 at %s", spec.name, target)
    return split_weights(target)
