"""Text -> vectors. One small `Embedder` protocol; backends are chosen by `load_embedder`.

Backends import their heavy libraries lazily, so importing this package is cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from .models import MODELS, ModelSpec, resolve_model

FloatArray = npt.NDArray[np.float32]

__all__ = ["MODELS", "Embedder", "FloatArray", "ModelSpec", "load_embedder", "resolve_model"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalized float32 vectors of `dim` dimensions."""

    model_name: str  # the model's identity, recorded in the index manifest
    dim: int
    max_tokens: int  # the most tokens one text may have before the model truncates it

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` without special tokens, as the model's tokenizer counts them."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> FloatArray:
        """Vectors for passages (applies the model's passage prefix, if any)."""
        ...

    def embed_queries(self, texts: Sequence[str]) -> FloatArray:
        """Vectors for queries (applies the model's query prefix, if any)."""
        ...


def load_embedder(model: str, *, backend: str = "auto", device: str = "auto") -> Embedder:
    """Load `model` (a registered name, or `hashing` for the tokenizer-free test embedder)."""
    if model.startswith("hashing"):
        from .hashing import HashingEmbedder

        return HashingEmbedder()
    spec = resolve_model(model)
    if backend not in ("auto", "torch"):
        raise ValueError(f"unknown embedding backend {backend!r}; use auto or torch")
    from .sentence_transformer import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(spec, device=device)
