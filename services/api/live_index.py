"""The index this process serves: opened once an index exists, switched when a new build is published.

Checking for a new build costs one small file read and happens at most once per `reload_interval`
seconds per process, on the request path; the request that notices a new build loads it, every
other request keeps searching the build it has (a `Searcher` swaps builds atomically).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from semsearch import Searcher, SemsearchError
from semsearch.embedders import Embedder, FloatArray
from semsearch.errors import IndexCorruptError, IndexMismatchError
from semsearch.fusion import RetrievalConfig
from semsearch.store import BUILDS, CURRENT, load_build

from .errors import NO_INDEX_MESSAGE, ApiError

logger = logging.getLogger(__name__)

MISMATCH_MESSAGE = ("The published index was built with another embedding model than this server uses; "
                    "rebuild it with `semsearch index` or set SEMSEARCH_MODEL to that model.")
CORRUPT_MESSAGE = ("The published index failed its checksums and no earlier build is usable; "
                   "run `semsearch index` to rebuild it.")


class TimedEmbedder:
    """Wraps an embedder and remembers, per thread, how long its last `embed_queries` took."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_name = inner.model_name
        self.dim = inner.dim
        self.max_tokens = inner.max_tokens
        self._local = threading.local()

    def __getattr__(self, name: str) -> Any:  # anything else a backend offers
        return getattr(self.inner, name)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def embed_documents(self, texts: Sequence[str]) -> FloatArray:
        return self.inner.embed_documents(texts)

    def embed_queries(self, texts: Sequence[str]) -> FloatArray:
        started = time.perf_counter()
        try:
            return self.inner.embed_queries(texts)
        finally:
            self._local.seconds = time.perf_counter() - started

    def take_seconds(self) -> float:
        """Seconds of this thread's last `embed_queries` call (0 if none), then forget it."""
        seconds: float = getattr(self._local, "seconds", 0.0)
        self._local.seconds = 0.0
        return seconds


class LiveIndex:
    """A `Searcher` that appears when an index does and follows `index/CURRENT` afterwards."""

    def __init__(self, index_dir: Path, *, max_top_k: int, max_query_chars: int,
                 retrieval: RetrievalConfig | None = None, reload_interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.index_dir = index_dir
        self.retrieval = retrieval
        self.max_top_k = max_top_k
        self.max_query_chars = max_query_chars
        self.reload_interval = reload_interval
        self.embedder: TimedEmbedder | None = None
        self.reloads = 0
        self._searcher: Searcher | None = None
        self._clock = clock
        self._checked_at = float("-inf")
        self._check_lock = threading.Lock()
        self._last_error = ""
        self._unusable = ""  # why the published index cannot be served, for clients (no paths)

    def start(self, embedder: Embedder) -> None:
        """Attach the embedder and try to open the index (it may not exist yet)."""
        self.embedder = TimedEmbedder(embedder)
        self.refresh(force=True)

    def close(self) -> None:
        """Drop the searcher and the embedder (the process is shutting down)."""
        self._searcher = None
        self.embedder = None

    @property
    def current(self) -> Searcher | None:
        return self._searcher

    def searcher(self) -> Searcher:
        """The searcher to use for one request, after a cheap check for a new build."""
        self.refresh()
        searcher = self._searcher
        if searcher is None:
            raise ApiError(503, self._unusable or NO_INDEX_MESSAGE)
        return searcher

    def refresh(self, *, force: bool = False) -> None:
        """Open the index, or switch to a newly published build. Throttled to one check per
        `reload_interval`; a request that finds another thread checking does not wait for it."""
        if self.embedder is None:
            return
        if not force and self._clock() - self._checked_at < self.reload_interval:
            return
        if not self._check_lock.acquire(blocking=force):
            return
        try:
            if not force and self._clock() - self._checked_at < self.reload_interval:
                return
            self._checked_at = self._clock()
            if self._searcher is None:
                self._open(self.embedder)
            elif self._searcher.reload_if_changed():
                self.reloads += 1
                logger.info("serving build %s", self._searcher.manifest.build_id)
        finally:
            self._check_lock.release()

    def _open(self, embedder: TimedEmbedder) -> None:
        try:
            searcher = Searcher.open(self.index_dir, embedder, retrieval=self.retrieval,
                                     max_top_k=self.max_top_k, max_query_chars=self.max_query_chars)
        except SemsearchError as exc:
            fallback = self._earlier_build(embedder) if isinstance(exc, IndexCorruptError) else None
            if fallback is None:
                self._unusable = (MISMATCH_MESSAGE if isinstance(exc, IndexMismatchError)
                                  else CORRUPT_MESSAGE if isinstance(exc, IndexCorruptError) else "")
                if str(exc) != self._last_error:  # say it once, not once a second
                    logger.warning("no index to serve yet: %s", exc)
                    self._last_error = str(exc)
                return
            logger.error("not serving the published build: %s; serving the earlier build %s instead",
                         exc, fallback.manifest.build_id)
            searcher = fallback
        self._searcher = searcher
        self._last_error = self._unusable = ""
        logger.info("serving build %s (%d chunks)", searcher.manifest.build_id,
                    searcher.manifest.chunk_count)

    def _earlier_build(self, embedder: TimedEmbedder) -> Searcher | None:
        """The newest build older than the published (corrupt) one that verifies and matches the
        model, or None. A later good publish replaces it as usual."""
        builds = self.index_dir / BUILDS
        try:
            published = (self.index_dir / CURRENT).read_text(encoding="utf-8").strip()
            paths = [p for p in builds.iterdir() if p.is_dir() and (not published or p.name < published)]
        except OSError:
            return None
        for path in sorted(paths, reverse=True):  # ids sort by time: newest earlier build first
            try:
                build = load_build(path)
                if (build.manifest.model_name, build.manifest.dim) != (embedder.model_name, embedder.dim):
                    continue
                return Searcher(build, embedder, index_dir=self.index_dir, retrieval=self.retrieval,
                                max_top_k=self.max_top_k, max_query_chars=self.max_query_chars)
            except SemsearchError:
                continue
        return None
