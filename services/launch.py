"""The console scripts `ask` and `semsearch` (pyproject's `[project.scripts]`).

A command line starts an interpreter, imports a few hundred thousand long-lived objects (pydantic,
numpy, faiss, the commands), does one thing and exits. The cyclic garbage collector would traverse
those objects again in every full collection while they import and in the interpreter's final
collections at exit, for nothing: they live until the process ends. So the imports run with
collection off, their objects are then frozen out of later collections (`gc.freeze`) with collection
back on for what the command allocates, and at exit everything left is frozen so that the final
collections have nothing to walk. The process's memory is returned to the system when it ends, as
always; nothing the command writes depends on a collection at exit (files are closed, builds
published, logs flushed by `logging`'s own exit handler, which runs before this one).
"""

from __future__ import annotations

import atexit
import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def _imports_without_collection() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
        atexit.register(gc.freeze)  # registered first, so it runs after every other exit handler


def ask() -> None:
    """`ask "QUESTION"`."""
    with _imports_without_collection():
        from services.cli import ask as command
    command()


def semsearch() -> None:
    """`semsearch COMMAND`."""
    with _imports_without_collection():
        from services.main import main
    main()
