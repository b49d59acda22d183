"""`write_build`: chunks and their vectors -> a complete build, verified and published atomically.

The writer derives every part of the build from the chunks (BM25 matrix, glossary) or takes it from
the caller (vectors, sentence vectors, the per-file record), writes each file durably, then reads
the whole build back (every file hashed whole by `verify_build`, then opened by the one loader,
`load_index`) before `CURRENT` names it.
"""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexBuildError
from ..records import Chunk
from ..version import __version__
from .chunk_table import chunk_table_files
from .format import (
    BUILDS,
    MANIFEST_FILE,
    Manifest,
    fsync_dir,
    new_build_id,
    prune_builds,
    publish,
    sha256,
    write_durably,
)
from .glossary import mine_glossary
from .lexical import lexical_files
from .loader import GLOSSARY_FILE, VECTORS_FILE, load_index
from .sentences import sentence_files
from .status import FILES_FILE, BuildFiles
from .vectors import VectorStore, new_store
from .verify import edges_digest, verify_build

logger = logging.getLogger(__name__)


def write_build(
    index_dir: Path,
    chunks: list[Chunk],
    vectors: np.ndarray,
    *,
    model_name: str,
    chunking: dict[str, Any],
    file_count: int,
    files: BuildFiles | None = None,
    sentences: tuple[np.ndarray, np.ndarray] | None = None,
    notes_dir: str = "",
    store: VectorStore | None = None,
    collections: dict[str, str] | None = None,
) -> Manifest:
    """Write, verify and publish a build of `chunks` (row i has vector `vectors[i]`). `sentences`:
    (sentence vectors, owning chunk row of each), for the sentence stage. `store`: an empty vector
    store to fill instead of the one chosen by size. On any failure nothing is published and the
    partial build directory is removed."""
    if len(chunks) != len(vectors):
        raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
    build_id = new_build_id()
    build_dir = index_dir / BUILDS / build_id
    dim = int(vectors.shape[1]) if vectors.ndim == 2 else 0
    try:
        build_dir.mkdir(parents=True)
        store = store or new_store(dim, len(chunks))
        store.add(np.arange(len(chunks), dtype=np.int64), np.reshape(vectors, (len(chunks), dim)))
        blobs = {
            **chunk_table_files(chunks),
            VECTORS_FILE: store.to_bytes(),
            **lexical_files(chunks),
            GLOSSARY_FILE: mine_glossary(chunk.text for chunk in chunks).to_json(),
            FILES_FILE: (files or BuildFiles([])).to_json(),
            **(sentence_files(*sentences) if sentences is not None else {}),
        }
        for name, data in blobs.items():
            write_durably(build_dir / name, data)
        manifest = Manifest(
            build_id=build_id, created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            model_name=model_name, dim=dim, chunk_count=len(chunks), file_count=file_count,
            chunking=chunking, files={name: sha256(data) for name, data in blobs.items()},
            vector_store=store.describe(), notes_dir=notes_dir, semsearch_version=__version__,
            collections=dict(collections or {}), sizes={name: len(data) for name, data in blobs.items()},
            edges={name: edges_digest(data) for name, data in blobs.items()},
        )
        write_durably(build_dir / MANIFEST_FILE, manifest.to_json())
        fsync_dir(build_dir)
        verify_build(build_dir)  # read every file back, whole, before anyone can see it
        load_index(build_dir)
        publish(index_dir, build_id)
    except BaseException as exc:
        shutil.rmtree(build_dir, ignore_errors=True)
        if isinstance(exc, OSError):
            raise IndexBuildError(
                f"Could not write the index to {index_dir}: {exc.strerror or exc}; "
                "the previous index is unchanged."
            ) from exc
        raise
    prune_builds(index_dir)
    logger.info("published build %s (%d chunks)", build_id, len(chunks))
    return manifest
