"""Append-only JSONL record of 👍/👎 clicks on Slack answers: one line per click."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

logger = logging.getLogger(__name__)

Vote = Literal["up", "down"]


def hash_user(user_id: str, salt: str) -> str:
    """sha256 of salt + user id: votes by one person group together, the id is not stored."""
    return hashlib.sha256(f"{salt}:{user_id}".encode()).hexdigest()


class FeedbackRecorder:
    """Appends one JSON line per vote to `path`. Each line is one `write` on a descriptor opened
    with O_APPEND, so concurrent writers (threads or processes) never interleave lines."""

    def __init__(self, path: Path, *, salt: str) -> None:
        self.path = path
        self._salt = salt

    def record(self, *, question: str, chunk_ids: Sequence[str], vote: Vote, user_id: str,
               now: datetime | None = None) -> dict[str, object]:
        entry: dict[str, object] = {
            "time": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
            "question": question,
            "chunk_ids": list(chunk_ids),
            "vote": vote,
            "user": hash_user(user_id, self._salt),
        }
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
        logger.info("feedback %s on %d passage(s) recorded to %s", vote, len(chunk_ids), self.path)
        return entry
