"""The build format: everything one published build holds, and the one loader that reads it.

A build is a directory of files, each checksummed in `manifest.json` (`format`): the chunks, the
dense vectors in a `VectorStore` (`vectors`), the BM25 matrix (`lexical`), sentence vectors
(`sentences`), the acronym glossary mined from the notes (`glossary`) and the per-file record
(`status`). `writer.write_build` writes and publishes one; `loader.load_index` reads one back as
an immutable `Index`.
"""

from __future__ import annotations

from .format import FORMAT_VERSION, Manifest
from .loader import Index, load_current, load_index
from .vectors import FaissStore, NumpyStore, VectorStore
from .writer import write_build

__all__ = ["FORMAT_VERSION", "FaissStore", "Index", "Manifest", "NumpyStore", "VectorStore", "load_current",
           "load_index", "write_build"]
