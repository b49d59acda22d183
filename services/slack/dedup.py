"""The event ids seen lately, so a retried Slack event is answered once, by any worker.

Slack retries an event up to three times within about an hour when it gets no 200 in time, and
every delivery carries the same `event_id`. With several server processes a retry can reach a
different process than the first delivery did, so the ids live in a small SQLite file that all
of them share (SQLite's own locking makes "insert if new" atomic across processes).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)

_SCHEMA = """CREATE TABLE IF NOT EXISTS seen_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, seen_at REAL NOT NULL)"""


class SeenEvents:
    """Event ids seen in the last `ttl_s` seconds, at most `max_size` of them (oldest dropped),
    stored in the SQLite file `path` (shared by processes) or in memory when `path` is None."""

    def __init__(self, path: Path | None = None, *, ttl_s: float = 3600.0, max_size: int = 10_000,
                 clock: Callable[[], float] = time.time) -> None:
        if ttl_s <= 0 or max_size < 1:
            raise ValueError("ttl_s must be positive and max_size at least 1")
        self.ttl_s = ttl_s
        self.max_size = max_size
        self._clock = clock
        self._lock = threading.Lock()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(":memory:" if path is None else str(path), timeout=10.0,
                                   isolation_level=None, check_same_thread=False)
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)

    def add(self, event_id: str) -> bool:
        """Remember `event_id`; True when it is new, False when it was already seen. If the store
        fails, the event counts as new: answering twice beats never answering."""
        now = self._clock()
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._db.execute("DELETE FROM seen_events WHERE seen_at <= ?", (now - self.ttl_s,))
                    inserted = self._db.execute("INSERT OR IGNORE INTO seen_events (event_id, seen_at) VALUES (?, ?)",
                                                (event_id, now)).rowcount == 1
                    if inserted:
                        self._db.execute("DELETE FROM seen_events WHERE seq NOT IN "
                                         "(SELECT seq FROM seen_events ORDER BY seq DESC LIMIT ?)", (self.max_size,))
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                logger.warning("event dedup store failed (%s); treating event %s as new", exc, event_id)
                return True
        return inserted

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM seen_events").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
