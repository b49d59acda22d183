"""`PreloadingEmbedder`: an embedder whose model loads on a thread from the moment it is made.

A one-shot edge (`ask`) needs both the model and the index before it can answer. Loading the model
(ONNX Runtime's session setup) runs mostly outside the GIL, so it overlaps with opening the index
(importing faiss, mapping the build) on the calling thread. The first use of anything the model
decides (`model_name`, `dim`, embedding) waits for the load and raises what it raised.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .bulk import SupportsBulk

if TYPE_CHECKING:  # the package __init__ defines `Embedder` and imports this module
    from . import Embedder, FloatArray


class PreloadingEmbedder:
    """`load()` run on a daemon thread; every attribute of the embedder waits for it."""

    def __init__(self, load: Callable[[], Embedder]) -> None:
        self._load = load
        self._embedder: Embedder | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="semsearch-model-load", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._embedder = self._load()
        except BaseException as exc:  # handed to the first caller, on its own thread
            self._error = exc

    def loaded(self) -> Embedder:
        """The embedder, once loaded (waits for the load; raises what the load raised)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._embedder is not None
        return self._embedder

    @property
    def model_name(self) -> str:
        return self.loaded().model_name

    @property
    def dim(self) -> int:
        return self.loaded().dim

    @property
    def max_tokens(self) -> int:
        return self.loaded().max_tokens

    def for_bulk(self, texts: Sequence[str]) -> Embedder:
        """What the loaded embedder embeds a large job with (`bulk.SupportsBulk`), else itself."""
        embedder = self.loaded()
        return embedder.for_bulk(texts) if isinstance(embedder, SupportsBulk) else embedder

    def count_tokens(self, text: str) -> int:
        return self.loaded().count_tokens(text)

    def embed_documents(self, texts: Sequence[str]) -> FloatArray:
        return self.loaded().embed_documents(texts)

    def embed_queries(self, texts: Sequence[str]) -> FloatArray:
        return self.loaded().embed_queries(texts)
