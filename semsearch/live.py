"""`LiveIndex`: the one owner of "which build is served now", for every long-lived edge.

It follows `index/CURRENT`: a check costs one small file read and happens at most once per
`reload_interval` seconds; a newly published build is loaded off to the side and swapped in whole
(searches in flight keep the `Searcher` they began with). A build that cannot be served is not
retried until `CURRENT` changes (or a forced refresh); while nothing is being served, the newest
earlier build that verifies and fits the model is served instead. Why the published build is not
served is logged once when another build serves meanwhile; when nothing does, `searcher()` raises
it to every caller instead (so a one-shot edge such as `ask` shows it once, not twice).

Opening a build checks its small files whole and its large ones by size and edges
(`index.verify`); with `background_verify` (servers), a build whose large files were not hashed on
open is hashed whole by a background thread once it serves, and dropped if that fails: the newest
earlier good build serves instead, and the failed build is not retried until a forced refresh.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .embedders import Embedder
from .errors import IndexCorruptError, IndexNotFoundError, SemsearchError
from .index.format import build_dirs, published_name
from .index.loader import check_model, load_index
from .index.verify import fully_checked_on_open, verify_build
from .ranking.fusion import RetrievalConfig
from .search import QueryLimits, Searcher

logger = logging.getLogger(__name__)


class LiveIndex:
    """Hands out the `Searcher` of the build being served, switching when a new one is published."""

    def __init__(self, index_dir: Path, embedder: Embedder, *, retrieval: RetrievalConfig | None = None,
                 limits: QueryLimits | None = None, reload_interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, background_verify: bool = True) -> None:
        self.index_dir = index_dir
        self.embedder = embedder
        self.retrieval = retrieval or RetrievalConfig()
        self.limits = limits or QueryLimits()
        self.reload_interval = reload_interval
        self.reloads = 0  # builds switched to after the first
        self._clock = clock
        self._searcher: Searcher | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()
        self._refused = ""  # the published name last refused, not retried until CURRENT changes
        self._error: SemsearchError | None = None  # why nothing (or not the published build) is served
        self.background_verify = background_verify
        self._failed: set[str] = set()  # builds whose full verification failed: never served again
        self._verifiers: list[threading.Thread] = []

    @property
    def current(self) -> Searcher | None:
        """The searcher being served now, without checking for a new build."""
        return self._searcher

    @property
    def error(self) -> SemsearchError | None:
        """Why the published build is not the one served (None when it is)."""
        return self._error

    def searcher(self) -> Searcher:
        """The searcher for one request, after a cheap check for a new build. Raises the reason
        (IndexNotFoundError, IndexCorruptError, IndexMismatchError) when there is nothing to serve."""
        self.refresh()
        searcher = self._searcher
        if searcher is None:
            raise self._error or IndexNotFoundError(
                f"No index at {self.index_dir}. Run `semsearch index NOTES_DIR` to build one.")
        return searcher

    def refresh(self, *, force: bool = False) -> bool:
        """Serve a newly published build, if any; True when the served build changed. Throttled to
        one check per `reload_interval`; a caller that finds another thread checking does not wait.
        `force`: check now, and retry a build refused before."""
        if not force and self._clock() - self._checked_at < self.reload_interval:
            return False
        if not self._lock.acquire(blocking=force):
            return False
        try:
            if not force and self._clock() - self._checked_at < self.reload_interval:
                return False
            self._checked_at = self._clock()
            return self._follow(force)
        finally:
            self._lock.release()

    def _follow(self, force: bool) -> bool:
        name = published_name(self.index_dir)
        serving = self._searcher
        if serving is not None and name == serving.index.build_id:
            self._error = None
            return False
        if name and name == self._refused and not force:
            return False
        if name in self._failed and not force:
            return False
        try:
            searcher = Searcher.open(self.index_dir, self.embedder, retrieval=self.retrieval, limits=self.limits)
        except SemsearchError as exc:
            self._error = exc
            first = name != self._refused or force  # "" (nothing published) comes back at every check
            self._refused = name
            if serving is None and isinstance(exc, IndexCorruptError) and self._fall_back(name, exc):
                return True
            if first and serving is not None:
                logger.error("new build %s not served, still serving %s: %s", name or "?",
                             serving.index.build_id, exc)
            elif first:  # `searcher()` raises it to every caller, who shows it: logged here for the record only
                logger.info("nothing to serve: %s", exc)
            return False
        self._swap(searcher)
        self._refused, self._error = "", None
        return True

    def _fall_back(self, published: str, reason: SemsearchError) -> bool:
        """Serve the newest build older than the published (unusable) one that verifies and fits the
        model; a later good publish replaces it as usual."""
        builds = build_dirs(self.index_dir)
        is_build = published in {path.name for path in builds}
        for path in builds:
            if path.name == published or (is_build and path.name > published) or path.name in self._failed:
                continue
            try:
                index = load_index(path, sentences=self.retrieval.uses_sentences)
                check_model(index, self.embedder.model_name, self.embedder.dim)
            except SemsearchError:
                continue
            logger.error("cannot serve the published build (%s); serving the earlier build %s instead",
                         reason, index.build_id)
            self._swap(Searcher(index, self.embedder, self.retrieval, self.limits))
            return True
        return False

    def _swap(self, searcher: Searcher) -> None:
        if self._searcher is not None:
            self.reloads += 1
        self._searcher = searcher
        self._failed.discard(searcher.index.build_id)
        logger.info("serving build %s (%d chunks)", searcher.index.build_id, searcher.index.manifest.chunk_count)
        if self.background_verify and not fully_checked_on_open(searcher.index.manifest):
            thread = threading.Thread(target=self._verify, args=(searcher,), daemon=True,
                                      name=f"verify-{searcher.index.build_id}")
            self._verifiers = [t for t in self._verifiers if t.is_alive()] + [thread]
            thread.start()

    def _verify(self, searcher: Searcher) -> None:
        """Hash every file of the build `searcher` serves; on a mismatch stop serving it (the
        newest earlier good build serves instead, if any)."""
        index = searcher.index
        try:
            verify_build(index.path, index.manifest)
        except IndexCorruptError as exc:
            with self._lock:
                self._failed.add(index.build_id)
                if self._searcher is not searcher:
                    return
                logger.error("build %s failed its full verification; no longer serving it: %s", index.build_id, exc)
                self._searcher, self._error = None, exc
                published = published_name(self.index_dir)
                if published == index.build_id:
                    self._refused = published
                self._fall_back(published, exc)

    def wait_verified(self, timeout: float | None = None) -> None:
        """Wait for the background verifications started so far (tests, shutdown)."""
        for thread in list(self._verifiers):
            thread.join(timeout)

    def close(self) -> None:
        """Stop serving (the process is shutting down)."""
        self._searcher = None
