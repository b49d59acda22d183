"""A bounded, time-limited set of event ids, so a retried Slack event is answered once."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class SeenEvents:
    """Event ids seen in the last `ttl_s` seconds, at most `max_size` of them (oldest dropped).

    Slack retries an event up to three times within about an hour when it gets no 200 in time;
    every delivery carries the same `event_id`. Thread-safe."""

    def __init__(self, *, ttl_s: float = 3600.0, max_size: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if ttl_s <= 0 or max_size < 1:
            raise ValueError("ttl_s must be positive and max_size at least 1")
        self.ttl_s = ttl_s
        self.max_size = max_size
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, event_id: str) -> bool:
        """Remember `event_id`; True when it is new, False when it was already seen."""
        now = self._clock()
        with self._lock:
            while self._seen:
                oldest, at = next(iter(self._seen.items()))
                if now - at < self.ttl_s and len(self._seen) < self.max_size:
                    break
                del self._seen[oldest]
            if event_id in self._seen:
                return False
            self._seen[event_id] = now
            return True

    def __len__(self) -> int:
        return len(self._seen)
