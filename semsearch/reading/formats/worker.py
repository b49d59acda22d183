"""The worker process of `isolation`: `python -m semsearch.reading.formats.worker` reads requests
(reader name, file bytes, source, limits) from stdin and answers each on stdout with the Note, the
reason the reader refused the file, or the error it raised."""

from __future__ import annotations

import logging
import pickle
import sys

from ..documents import UnreadableNoteError
from . import BY_NAME
from .isolation import HEADER, READY, send


def serve() -> None:
    """Answer requests until stdin closes."""
    logging.getLogger().addHandler(logging.NullHandler())  # the parsers' warnings are not printed
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    send(stdout, READY)
    while header := stdin.read(HEADER.size):
        name, data, source, limits = pickle.loads(stdin.read(HEADER.unpack(header)[0]))
        try:
            answer: tuple[str, object] = ("note", BY_NAME[name].read(data, source, limits))
        except UnreadableNoteError as exc:
            answer = ("refused", str(exc))
        except Exception as exc:  # reported to the build, which records the file as failed
            answer = ("failed", f"{type(exc).__name__}: {exc}")
        send(stdout, pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    serve()
