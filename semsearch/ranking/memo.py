"""`RankingMemo`: values ranking derives from one `Index`, computed on first use and kept with the
`Searcher` of that build (a new build gets a new searcher, so nothing outlives its build)."""

from __future__ import annotations

import threading
from functools import cached_property

from ..index.loader import Index
from .collapse import shingles
from .exact import normalize_text


class RankingMemo:
    """Exact-match texts and duplicate shingles of one build's chunks."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self._shingles: dict[int, frozenset[int]] = {}
        self._lock = threading.Lock()

    @cached_property
    def normalized_texts(self) -> list[str]:
        """`exact.normalize_text` of every chunk, for exact phrase matching."""
        return [normalize_text(chunk.text) for chunk in self.index.chunks]

    def shingles(self, row: int) -> frozenset[int]:
        """The duplicate-detection shingles of chunk `row` (`collapse.shingles`)."""
        found = self._shingles.get(row)
        if found is None:
            found = shingles(self.index.chunks[row])
            with self._lock:
                self._shingles[row] = found
        return found
