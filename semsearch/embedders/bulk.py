"""`BulkSwitchingEmbedder`: the fast-loading ONNX embedder for queries and small jobs, and torch in
bf16 for large document jobs on CPUs that compute bf16 natively.

On such a CPU (AVX512-BF16 or AMX) sentence-transformers under bf16 autocast embeds about 2x the
chunks/s of fp32 torch (1.6x fp32 ONNX Runtime), at cosine 0.99997 to the fp32 vectors (BENCHMARKS.md),
but importing torch costs seconds. So torch is loaded only for a job large enough to repay that
(`BULK_MIN_CHARS` of text, about 500 passages): a full build of a big folder or of a BEIR corpus,
never a query, a small sync or the bundled notes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # the package __init__ defines `Embedder` and imports this module
    from . import Embedder, FloatArray

logger = logging.getLogger(__name__)

BULK_MIN_CHARS = 500_000
BULK_BATCH_SIZE = 8  # bf16 texts per forward pass: the fastest of 4 / 8 / 16 / 32 (BENCHMARKS.md)


@runtime_checkable
class SupportsBulk(Protocol):
    """An embedder that may hand a large job to another backend of the same model."""

    def for_bulk(self, texts: Sequence[str]) -> Embedder:
        """The embedder to embed all of `texts` with."""
        ...


class BulkSwitchingEmbedder:
    """`light` for everything, except `for_bulk` of a large job: `load_bulk()`, loaded once."""

    def __init__(self, light: Embedder, load_bulk: Callable[[], Embedder], *,
                 min_chars: int = BULK_MIN_CHARS) -> None:
        self.light = light
        self._load_bulk = load_bulk
        self._bulk: Embedder | None = None
        self._lock = threading.Lock()
        self.min_chars = min_chars
        self.model_name = light.model_name
        self.dim = light.dim
        self.max_tokens = light.max_tokens

    def for_bulk(self, texts: Sequence[str]) -> Embedder:
        if sum(len(t) for t in texts) < self.min_chars:
            return self.light
        with self._lock:
            if self._bulk is None:
                bulk = self._load_bulk()
                if (bulk.model_name, bulk.dim) != (self.model_name, self.dim):
                    raise ValueError(f"bulk embedder {bulk.model_name} ({bulk.dim}-d) is not "
                                     f"{self.model_name} ({self.dim}-d)")
                logger.info("embedding %d texts with the bulk backend", len(texts))
                self._bulk = bulk
            return self._bulk

    def count_tokens(self, text: str) -> int:
        return self.light.count_tokens(text)

    def embed_documents(self, texts: Sequence[str]) -> FloatArray:
        return self.light.embed_documents(texts)

    def embed_queries(self, texts: Sequence[str]) -> FloatArray:
        return self.light.embed_queries(texts)
