"""Reading a binary document in a worker process, under a time budget.

A PDF or Word file can be built to make its parser spin (cyclic object streams, huge content
streams). `read_isolated` hands the file to a worker process (`python -m
semsearch.reading.formats.worker`, started on first use and kept for the next files) and waits
at most `limits.seconds` for its Note; past that the worker is killed, the file is skipped with the
reason, and the next file starts a fresh worker. A plain subprocess, not multiprocessing: nothing of
the parent (threads, its `__main__`) is forked or re-imported. One worker per process, until it exits.
"""

from __future__ import annotations

import atexit
import logging
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from ...records import Note
from ..documents import UnreadableNoteError
from .base import ReadLimits

logger = logging.getLogger(__name__)

HEADER = struct.Struct("!Q")  # each message: its length, then a pickle
FILES_PER_WORKER = 500
START_SECONDS = 60.0  # for the worker to import the readers (a loaded machine can take seconds)
READY = b"ready"


class _Worker:
    """The worker process; replaced when a read runs past its budget or the process dies."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._served = 0

    def read(self, request: tuple[str, bytes, str, ReadLimits], seconds: float) -> Any:
        """Send one request and wait for its answer; TimeoutError past `seconds`, EOFError if the worker dies."""
        with self._lock:
            process = self._process
            if process is None or process.poll() is not None or self._served >= FILES_PER_WORKER:
                self._stop()
                process = self._process = _start()
            assert process.stdin is not None and process.stdout is not None
            try:
                send(process.stdin, pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))
                answer = pickle.loads(_receive(process.stdout, time.monotonic() + seconds))
            except (TimeoutError, EOFError, BrokenPipeError):
                self._stop()
                raise
            self._served += 1
            return answer

    def _stop(self) -> None:
        self._served = 0
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            for stream in (self._process.stdin, self._process.stdout):
                if stream is not None:
                    stream.close()
            self._process = None

    def close(self) -> None:
        with self._lock:
            self._stop()


def _start() -> subprocess.Popen[bytes]:
    """A fresh worker, finding this copy of semsearch whatever the parent's sys.path was, once it
    says it is ready (its start-up, about 0.4 s, is not taken from a file's time budget)."""
    package_root = str(Path(__file__).resolve().parents[3])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen([sys.executable, "-m", "semsearch.reading.formats.worker"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert process.stdout is not None
    try:
        if _receive(process.stdout, time.monotonic() + START_SECONDS) != READY:
            raise EOFError
    except (TimeoutError, EOFError):
        process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
        raise RuntimeError("the worker process that reads PDF and Word files did not start") from None
    return process


def send(stream: IO[bytes], payload: bytes) -> None:
    stream.write(HEADER.pack(len(payload)) + payload)
    stream.flush()


def _receive(stream: IO[bytes], deadline: float) -> bytes:
    """One framed message from the worker's stdout, or TimeoutError at `deadline` (EOFError if it exits)."""
    fd = stream.fileno()
    buffer = bytearray()
    wanted = HEADER.size
    while len(buffer) < wanted:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError
        piece = os.read(fd, min(wanted - len(buffer), 1 << 20))
        if not piece:
            raise EOFError
        buffer += piece
        if wanted == HEADER.size and len(buffer) == wanted:
            wanted += HEADER.unpack(bytes(buffer))[0]
    return bytes(buffer[HEADER.size:])


_WORKER = _Worker()
atexit.register(_WORKER.close)


def read_isolated(reader_name: str, data: bytes, source: str, limits: ReadLimits) -> Note:
    """The reader's Note, read in the worker process within `limits.seconds` (UnreadableNoteError
    with the reason past it, when the worker dies, or when the reader refuses the file)."""
    try:
        kind, value = _WORKER.read((reader_name, data, source, limits), limits.seconds)
    except TimeoutError:
        logger.warning("reading %s took over %gs; stopped it", source, limits.seconds)
        raise UnreadableNoteError(f"took too long to read (over {limits.seconds:g} s); damaged or pathological?"
                                  ) from None
    except (EOFError, BrokenPipeError):
        raise UnreadableNoteError("the reader crashed on it (damaged file?)") from None
    if kind == "refused":
        raise UnreadableNoteError(value)
    if kind == "failed":
        raise RuntimeError(value)
    assert isinstance(value, Note)
    return value
