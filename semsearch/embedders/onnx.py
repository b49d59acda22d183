"""The ONNX Runtime backend: the exported transformer plus the model's tokenizer.json, no torch.

Gives the same vectors as the torch backend (mean pooling over the attention mask, then L2
normalization, truncation at the model's max_tokens) and imports in a fraction of a second.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import ModelLoadError
from .models import ModelSpec
from .tokens import count_tokens, load_tokenizer

logger = logging.getLogger(__name__)


def cpu_threads() -> int:
    """The CPUs this process may run on (cgroup/affinity aware), which is what ORT should use, or
    OMP_NUM_THREADS when set (Ray sets it to the CPUs it gave a worker)."""
    if os.environ.get("OMP_NUM_THREADS", "").isdigit() and int(os.environ["OMP_NUM_THREADS"]) > 0:
        return int(os.environ["OMP_NUM_THREADS"])
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS
        return max(1, os.cpu_count() or 1)


def pick_providers(device: str = "auto") -> list[str]:
    """CUDA when onnxruntime-gpu offers it (and the device allows it), else CPU."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device in ("auto", "cuda") and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device == "cuda":
        raise ModelLoadError("device=cuda but onnxruntime has no CUDA provider; "
                             "install semsearch[gpu] (onnxruntime-gpu) or use device=cpu.")
    return ["CPUExecutionProvider"]


class OnnxEmbedder:
    """Embeds with onnxruntime. `model_name` is the model's identity, the same as torch's."""

    def __init__(self, spec: ModelSpec, onnx_path: Path, *, device: str = "auto",
                 batch_size: int = 32, threads: int | None = None, model_name: str | None = None,
                 prepack: bool = True) -> None:
        """`prepack=False`: a session that is quicker to build and slower to run (ONNX Runtime does
        not repack the weights for its matrix kernels): for a process that embeds a question or two
        and exits. The vectors are the same to float32 rounding."""
        import onnxruntime as ort

        model_dir = spec.model_dir()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or cpu_threads()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        if not prepack:
            options.add_session_config_entry("session.disable_prepacking", "1")
        self.providers = pick_providers(device)
        try:
            self._session = ort.InferenceSession(str(onnx_path), options, providers=self.providers)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelLoadError(f"Could not load the ONNX model {onnx_path}: {exc}") from exc
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._spec = spec
        self._tokenizer = load_tokenizer(model_dir)
        self.model_name = model_name or spec.name
        self.max_tokens = spec.max_tokens
        self.dim = spec.dim or int(self._session.get_outputs()[0].shape[-1])
        self.batch_size = batch_size
        self.onnx_path = onnx_path
        logger.info("loaded %s from %s (%s)", self.model_name, onnx_path, self.providers[0])

    def count_tokens(self, text: str) -> int:
        return count_tokens(self._tokenizer, text)

    def _token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids with [CLS]/[SEP], cut to max_tokens the way the torch backend cuts them."""
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=True)
        limit = self.max_tokens
        out = []
        for enc in encodings:
            ids = enc.ids
            if len(ids) > limit:  # keep [CLS] ... and the final [SEP]
                ids = ids[: limit - 1] + ids[-1:]
            out.append(ids)
        return out

    def _run(self, batch: list[list[int]]) -> npt.NDArray[np.float32]:
        width = max(len(ids) for ids in batch)
        input_ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        feed: dict[str, Any] = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(input_ids)
        hidden = self._session.run(None, feed)[0]  # (batch, tokens, dim)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32)

    def _encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self._token_ids(texts)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # similar lengths: less padding
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            out[rows] = self._run([ids[i] for i in rows])
        return out

    def embed_documents(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return self._encode([self._spec.document_prefix + t for t in texts])

    def embed_queries(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return self._encode([self._spec.query_prefix + t for t in texts])
