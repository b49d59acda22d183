"""`PerBuild`: a value derived from a build (its BM25 index, sentence vectors, normalized texts),
computed once per build and shared by every thread; the last few builds are kept, so a server
that switches builds keeps the one in-flight queries still use."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from .store import LoadedBuild

T = TypeVar("T")


class PerBuild(Generic[T]):
    """`load(build)`, once per build directory; the `keep` most recently used are kept."""

    def __init__(self, load: Callable[[LoadedBuild], T], *, keep: int = 4) -> None:
        self._load = load
        self._keep = keep
        self._values: OrderedDict[str, T] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, build: LoadedBuild) -> T:
        key = str(build.path)
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = self._load(build)  # outside the lock: loading one build never blocks another's queries
        with self._lock:
            self._values[key] = value
            while len(self._values) > self._keep:
                self._values.popitem(last=False)
        return value
