"""A deterministic, model-free embedder (hashed bag of words) for fast tests and dry runs."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"\w+")


class HashingEmbedder:
    """Each word adds 1 to a hashed dimension; vectors are L2-normalized (a text without words gets
    the first basis vector). No semantics at all."""

    model_name = "hashing"
    dim = 256
    max_tokens = 256

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text))

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = _WORD.findall(text.lower())
            for word in words:
                out[row, zlib.crc32(word.encode()) % self.dim] += 1.0
            if not words:
                out[row, 0] = 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        normalized: np.ndarray = out / np.maximum(norms, 1e-12)
        return normalized

    embed_queries = embed_documents
