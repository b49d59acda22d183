"""Per-key rate limits: a token bucket for each API key (or client address on an open API).

Each identity gets `burst` tokens that refill at `rate` per second; a request takes one, and a
request that finds none gets 429 with `Retry-After` (whole seconds until a token is back). Buckets
live in this process: with `SEMSEARCH_WORKERS=N` each worker keeps its own. At most `max_keys`
buckets are kept (least recently used dropped first), so many addresses cannot grow memory.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from .errors import ApiError


class RateLimiter:
    """Token buckets by identity. Thread-safe."""

    def __init__(self, rate: float, burst: int, *, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # identity -> (tokens, at)
        self._lock = threading.Lock()

    def try_acquire(self, identity: str) -> float:
        """Take a token for `identity`: 0.0 when granted, else the seconds until one is back."""
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.pop(identity, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[identity] = (tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return wait

    def check(self, identity: str, *, what: str = "Too many requests for this API key") -> None:
        """Raise a 429 `ApiError` (`what`, then when to retry, and `Retry-After`) when `identity` is
        over its rate."""
        wait = self.try_acquire(identity)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise ApiError(429, f"{what}; retry in {seconds} s.", headers={"Retry-After": str(seconds)})

    def __len__(self) -> int:
        return len(self._buckets)
