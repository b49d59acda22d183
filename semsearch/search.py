"""The one search core every edge calls: `Searcher.search(query, top_k=...)`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

from .acronyms import glossary_for, spell_out
from .embedders import Embedder
from .errors import IndexNotFoundError, QueryError
from .fusion import RetrievalConfig, hybrid_search
from .lexical import lexical_for
from .records import Hit
from .sentences import sentences_for
from .store import CURRENT, LoadedBuild, Manifest, load_current

logger = logging.getLogger(__name__)

MAX_TOP_K = 50
MAX_QUERY_CHARS = 2000


def trimmed(query: str) -> str:
    """The query as searched: NUL characters blanked, surrounding whitespace removed."""
    return query.replace("\x00", " ").strip()


def validate_query(query: str, top_k: int, *, max_top_k: int = MAX_TOP_K,
                   max_chars: int = MAX_QUERY_CHARS) -> str:
    """The trimmed query, or QueryError with a sentence saying what is wrong."""
    if not isinstance(query, str):
        raise QueryError("The query must be text.")
    text = trimmed(query)
    if not text:
        raise QueryError("The query is empty; ask a question, e.g. `what is inverted dropout`.")
    if len(text) > max_chars:
        raise QueryError(f"The query is {len(text)} characters long; the limit is {max_chars}.")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= max_top_k:
        raise QueryError(f"top_k must be a whole number from 1 to {max_top_k}, got {top_k!r}.")
    return text


class Searcher:
    """A loaded index plus the embedder that queries it. Thread-safe; reloads on a new build."""

    def __init__(self, build: LoadedBuild, embedder: Embedder, *, index_dir: Path | None = None,
                 max_top_k: int = MAX_TOP_K, max_query_chars: int = MAX_QUERY_CHARS,
                 retrieval: RetrievalConfig | None = None) -> None:
        self._build = build
        self.retrieval = retrieval or RetrievalConfig()
        self._load_parts(build)
        self.embedder = embedder
        self.index_dir = index_dir
        self.max_top_k = max_top_k
        self.max_query_chars = max_query_chars
        self._reload_lock = threading.Lock()

    @classmethod
    def open(cls, index_dir: Path, embedder: Embedder, *, retrieval: RetrievalConfig | None = None,
             **options: int) -> Searcher:
        """Load the published build at `index_dir`, checking it matches `embedder`."""
        build = load_current(index_dir, model_name=embedder.model_name, dim=embedder.dim)
        return cls(build, embedder, index_dir=index_dir, retrieval=retrieval, **options)

    def _load_parts(self, build: LoadedBuild) -> None:
        """Load (and verify) the build's BM25 index, glossary and sentence vectors now, not on the
        first query."""
        lexical_for(build)
        glossary_for(build)
        if self.retrieval.sentence_weight > 0:
            sentences_for(build)

    def _embedded_text(self, text: str, build: LoadedBuild) -> str:
        """A trimmed query as it is embedded: each acronym the build's notes define spelled out."""
        return spell_out(text, glossary_for(build)) if self.retrieval.spell_out_acronyms else text

    @property
    def manifest(self) -> Manifest:
        return self._build.manifest

    @property
    def build(self) -> LoadedBuild:
        return self._build

    def reload_if_changed(self) -> bool:
        """Switch to a newly published build, if any. In-flight searches keep the build they began
        with; a broken new build is logged and the current one keeps serving."""
        if self.index_dir is None:
            return False
        with self._reload_lock:
            try:
                name = (self.index_dir / CURRENT).read_text(encoding="utf-8").strip()
            except OSError:
                return False
            if name == self._build.manifest.build_id:
                return False
            try:
                build = load_current(self.index_dir, model_name=self.embedder.model_name,
                                     dim=self.embedder.dim)
                self._load_parts(build)
            except (IndexNotFoundError, Exception) as exc:  # keep serving what we have
                if name != getattr(self, "_refused_build", None):  # say it once per bad build
                    logger.error("new build %s not loaded, still serving %s: %s",
                                 name, self._build.manifest.build_id, exc)
                    self._refused_build = name
                return False
            self._build = build
            logger.info("now serving build %s", build.manifest.build_id)
            return True

    def searched_as(self, query: str) -> str:
        """What `query` is embedded as: trimmed, with each acronym the notes define spelled out."""
        return self._embedded_text(trimmed(query), self._build)

    def search(self, query: str, *, top_k: int = 5) -> list[Hit]:
        """The `top_k` passages that best answer `query`, best first."""
        return self.search_many([query], top_k=top_k)[0]

    def search_with_manifest(self, query: str, *, top_k: int = 5) -> tuple[list[Hit], Manifest]:
        """`search`, plus the manifest of the build that answered. Builds are swapped by assigning a
        new object, so an unchanged `_build` after the call means the call used it; a reload that
        lands mid-call makes the search run again (under the reload lock if reloads keep coming)."""
        for _ in range(3):
            build = self._build
            hits = self.search(query, top_k=top_k)
            if self._build is build:
                return hits, build.manifest
        with self._reload_lock:
            return self.search(query, top_k=top_k), self._build.manifest

    def search_many(self, queries: Sequence[str], *, top_k: int = 5) -> list[list[Hit]]:
        texts = [validate_query(q, top_k, max_top_k=self.max_top_k,
                                max_chars=self.max_query_chars) for q in queries]
        build = self._build  # one build for the whole call, even if a reload happens meanwhile
        vectors = self.embedder.embed_queries([self._embedded_text(text, build) for text in texts])
        return hybrid_search(build, lexical_for(build), texts, vectors, top_k, self.retrieval)
