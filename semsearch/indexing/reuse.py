"""Reuse vectors across builds: the published build is the cache, keyed by model and text hash.

A chunk's vector depends only on the model and the text embedded (`Chunk.embed_text`, which holds
the heading path but not the file name), so a vector is reused when the previous build was made by
the same model (name and dimension) and holds a chunk with the same sha256 of its embedded text,
wherever that chunk lived: an edited note re-embeds only its changed chunks, a renamed one nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence

import numpy as np

from ..embedders import Embedder, FloatArray, SupportsBulk
from ..index.loader import Index
from ..index.sentences import sentence_units

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (chunks embedded so far, chunks to embed)


def text_key(text: str) -> str:
    """The cache key of an embedded text: its sha256."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Vectors by text hash, for one model identity."""

    def __init__(self, model_name: str, dim: int, vectors: dict[str, FloatArray] | None = None) -> None:
        self.model_name = model_name
        self.dim = dim
        self._vectors = vectors or {}

    def __len__(self) -> int:
        return len(self._vectors)

    def get(self, key: str) -> FloatArray | None:
        return self._vectors.get(key)

    def missing(self, texts: Sequence[str]) -> int:
        """How many distinct texts `embed` would embed."""
        return len({key for key in map(text_key, texts) if key not in self._vectors})

    @classmethod
    def from_rows(cls, build: Index, rows: np.ndarray, embedder: Embedder) -> EmbeddingCache:
        """The vectors of `build`'s chunk rows `rows` (a sync's deleted rows: an edited file's old
        passages, a renamed file's), when `embedder`'s model made it, else an empty cache."""
        cache = cls(embedder.model_name, embedder.dim)
        m = build.manifest
        if (m.model_name, m.dim) != (embedder.model_name, embedder.dim):
            logger.info("previous build used %s (%d-d): embedding everything with %s",
                        m.model_name, m.dim, embedder.model_name)
            return cache
        if not len(rows):
            return cache
        try:
            stored = np.asarray(build.vectors.vectors(np.asarray(rows, dtype=np.int64)), dtype=np.float32)
        except KeyError as exc:  # a store that does not keep its vectors
            logger.info("cannot reuse the vectors of build %s: %s", m.build_id, exc)
            return cache
        cache._vectors = {text_key(build.chunks[int(r)].embed_text): stored[i] for i, r in enumerate(rows)}
        return cache

    @classmethod
    def from_build(cls, build: Index | None, embedder: Embedder) -> EmbeddingCache:
        """The vectors of `build` when it was made by `embedder`'s model, else an empty cache."""
        if build is None:
            return cls(embedder.model_name, embedder.dim)
        return cls.from_rows(build, np.arange(len(build.chunks), dtype=np.int64), embedder)

    def embed(self, embedder: Embedder, texts: Sequence[str], *, batch_size: int = 64,
              progress: Progress | None = None) -> tuple[FloatArray, int]:
        """Vectors for `texts` in order, embedding only those not cached (each distinct text once).
        Returns (vectors, number of texts embedded); new vectors are added to the cache."""
        keys = [text_key(t) for t in texts]
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in self._vectors and key not in missing:
                missing[key] = text
        if missing:
            fresh = embed_in_batches(embedder, list(missing.values()), batch_size, progress)
            self._vectors.update(zip(missing, fresh, strict=True))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, key in enumerate(keys):
            out[row] = self._vectors[key]
        return out, len(missing)


def embed_in_batches(embedder: Embedder, texts: list[str], batch_size: int,
                     progress: Progress | None = None) -> FloatArray:
    """Embed longest-first in batches, returning vectors in the input order. Length is counted in the
    model's tokens (up to where it truncates), so that each batch holds texts of about one length and
    little padding. An embedder that `SupportsBulk` picks the backend for the whole job first."""
    if isinstance(embedder, SupportsBulk):
        embedder = embedder.for_bulk(texts)
    limit = embedder.max_tokens
    lengths = [min(embedder.count_tokens(t), limit) for t in texts]
    order = sorted(range(len(texts)), key=lambda i: -lengths[i])
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        ids = order[start : start + batch_size]
        out[ids] = embedder.embed_documents([texts[i] for i in ids])
        if progress:
            progress(min(start + batch_size, len(texts)), len(texts))
    return out


def sentence_cache(build: Index | None, embedder: Embedder) -> EmbeddingCache:
    """The sentence vectors of `build` by text hash when `embedder`'s model made it, else empty."""
    if build is None:
        return EmbeddingCache(embedder.model_name, embedder.dim)
    return sentences_of_rows(build, np.arange(len(build.chunks), dtype=np.int64), embedder)


def sentences_of_rows(build: Index, rows: np.ndarray, embedder: Embedder) -> EmbeddingCache:
    """The sentence vectors of `build`'s chunk rows `rows` (ascending) by text hash, like
    `EmbeddingCache.from_rows`."""
    cache = EmbeddingCache(embedder.model_name, embedder.dim)
    if build.sentences is None or not len(rows) or (build.manifest.model_name, build.manifest.dim) != (
            embedder.model_name, embedder.dim):
        return cache
    texts, _ = sentence_units([build.chunks[int(r)] for r in rows])
    stored, _ = build.sentences.of_rows(np.asarray(rows, dtype=np.int64))
    if len(texts) != len(stored):
        logger.warning("previous build has %d sentence vectors for %d sentences; not reused", len(stored), len(texts))
        return cache
    return EmbeddingCache(embedder.model_name, embedder.dim, {text_key(t): stored[i] for i, t in enumerate(texts)})
