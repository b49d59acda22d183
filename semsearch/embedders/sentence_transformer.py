"""The sentence-transformers (torch) backend: the reference implementation of every model."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ModelLoadError
from .models import ModelSpec
from .tokens import count_tokens, load_tokenizer

logger = logging.getLogger(__name__)


def pick_device(requested: str = "auto") -> str:
    """`cuda`, then `mps`, then `cpu`, unless a device is asked for."""
    if requested != "auto":
        return requested
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


class SentenceTransformerEmbedder:
    """Embeds with `SentenceTransformer` on the best device; fp16 on CUDA; normalized output."""

    def __init__(self, spec: ModelSpec, *, device: str = "auto", batch_size: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # weights come from a package, never a hub
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        model_dir = spec.model_dir()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise ModelLoadError("sentence-transformers is not installed.") from exc
        self.device = pick_device(device)
        try:
            self._model = SentenceTransformer(str(model_dir), device=self.device)
        except OSError as exc:
            raise ModelLoadError(f"Could not load the model from {model_dir}: {exc}") from exc
        if self.device == "cuda":
            self._model.half()
        self._spec = spec
        self._tokenizer = load_tokenizer(model_dir)
        self.batch_size = batch_size
        self.model_name = spec.name
        get_dim = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim() or spec.dim)
        self.max_tokens = int(self._model.max_seq_length or spec.max_tokens)
        logger.info("loaded %s on %s", spec.name, self.device)

    def count_tokens(self, text: str) -> int:
        return count_tokens(self._tokenizer, text)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self._spec.document_prefix + t for t in texts])

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self._spec.query_prefix + t for t in texts])

    def export_onnx(self, cache_dir: Path | None = None) -> Path | None:
        """Export this model to ONNX (once per cache) so that later loads can skip torch.
        Best effort: a failure is logged and None returned."""
        from .export import export_onnx

        try:
            return export_onnx(self._spec, cache_dir)
        except Exception as exc:  # the torch backend keeps working without the export
            logger.warning("could not export %s to ONNX (ask stays slow): %s", self._spec.name, exc)
            return None
