"""Prometheus metrics (one registry per app) and one access-log line per request.

The access line is `METHOD PATH STATUS MS`: never the query string (a misplaced key could be in it)
and never the body (the question someone asked).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from semsearch.live import LiveIndex

logger = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "<unmatched>"


class IndexCollector(Collector):
    """Reads the served build at scrape time, so the numbers can never go stale."""

    def __init__(self, index: Callable[[], LiveIndex | None]) -> None:
        self.index = index

    def collect(self) -> Iterator[Metric]:
        live = self.index()
        searcher = live.current if live else None
        loaded = GaugeMetricFamily("semsearch_index_loaded", "1 when an index is loaded and served.")
        loaded.add_metric([], 1.0 if searcher else 0.0)
        yield loaded
        chunks = GaugeMetricFamily("semsearch_index_chunks", "Passages in the served build.")
        chunks.add_metric([], float(searcher.manifest.chunk_count) if searcher else 0.0)
        yield chunks
        reloads = CounterMetricFamily("semsearch_index_reloads", "Builds switched to since start.")
        reloads.add_metric([], float(live.reloads if live else 0))
        yield reloads
        if searcher is not None:
            m = searcher.manifest
            build = InfoMetricFamily("semsearch_index_build", "The served build.")
            build.add_metric([], {"build_id": m.build_id, "model": m.model_name, "built_at": m.created_at})
            yield build


class Metrics:
    """The app's own registry (never the global one, so several apps can live in one process)."""

    def __init__(self, index: Callable[[], LiveIndex | None]) -> None:
        self.registry = CollectorRegistry()
        labels = ["method", "route", "status"]
        self.requests = Counter("semsearch_http_requests", "HTTP requests by route and status.",
                                labels, registry=self.registry)
        self.latency = Histogram("semsearch_http_request_duration_seconds",
                                 "HTTP request latency by route and status.", labels,
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.registry.register(IndexCollector(index))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route, str(status)).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def printable(path: str, limit: int = 200) -> str:
    """A path safe to log on one line (the decoded path may hold control characters)."""
    return "".join(c if c.isprintable() else "?" for c in path[:limit])


class RequestObserver:
    """Pure ASGI middleware: counts and times every request, and logs one line for it."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or UNMATCHED  # the template, not the URL
            self.metrics.observe(scope["method"], route, status, seconds)
            logger.info("%s %s %d %.1fms", scope["method"], printable(scope["path"]), status,
                        seconds * 1000)
