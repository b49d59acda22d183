"""Compaction on its own: merge the published build's segments without reading or embedding a note.

A sync that defers compaction (`build_index(compaction="defer")`, what `semsearch index --watch`
does) only appends its segment and records its deletions, so an edit is searchable as soon as it is
embedded; `compact_index` later does the merge that sync skipped, through the same writer path
(`writer.write_sync` with nothing deleted and nothing added), when the folder is quiet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import IndexNotFoundError
from ..index.format import current_build_dir, read_manifest, remove_partial_builds
from ..index.loader import DELETED_FILE, Index, load_current
from ..index.segments import read_deletions
from ..index.writer import BuildMeta, compaction_plan, write_sync
from .build import index_lock

logger = logging.getLogger(__name__)


def _due(parts: list[tuple[int, int]]) -> bool:
    """Whether `compaction_plan` would merge any of these segments (stored rows, live rows)."""
    kept = [(stored, live) for stored, live in parts if live]  # a sync drops the emptied ones anyway
    return compaction_plan(kept, 0) < len(kept)


def _parts(index: Index) -> list[tuple[int, int]]:
    return [(stored, len(index.rows.live_rows(s))) for s, stored in enumerate(index.rows.sizes)]


def pending_compaction(index_dir: Path) -> bool:
    """Whether the published build has segments a compaction would merge, from its manifest and
    deletion list only (False when there is no build)."""
    try:
        build_dir = current_build_dir(index_dir)
    except IndexNotFoundError:
        return False
    stored = {s["name"]: int(s["rows"]) for s in read_manifest(build_dir).segments}
    deleted = read_deletions((build_dir / DELETED_FILE).read_bytes(), stored)
    return _due([(rows, rows - len(deleted.get(name, ()))) for name, rows in stored.items()])


def compact_index(index_dir: Path, *, force: bool = False, wait: bool = False,
                  on_wait: Callable[[], None] | None = None) -> bool:
    """Under the build lock, publish the published build with its segments merged as
    `compaction_plan` says (`force`: all into one, its deleted rows dropped): the same passages
    ranked with the same scores, nothing read or embedded. Returns whether it wrote a build (False:
    nothing was due or there is no build; forced, IndexNotFoundError). `wait`: wait for a build in
    progress instead of raising IndexLockedError."""
    if force:
        current_build_dir(index_dir)  # IndexNotFoundError, before the lock makes the folder
    elif not pending_compaction(index_dir):  # the common case, without taking the lock
        return False
    with index_lock(index_dir, wait=wait, on_wait=on_wait):
        remove_partial_builds(index_dir)
        previous = load_current(index_dir)
        parts = _parts(previous)
        if not (_due(parts) or force and (len(parts) > 1 or any(stored > live for stored, live in parts))):
            return False
        m = previous.manifest
        meta = BuildMeta(m.model_name, m.chunking, m.file_count, previous.files, m.notes_dir, m.collections)
        sentences = None
        if previous.sentences is not None:
            sentences = (np.zeros((0, m.dim), np.float32), np.zeros(0, np.int32))
        manifest = write_sync(index_dir, previous, np.zeros(0, np.int64), [], np.zeros((0, m.dim), np.float32),
                              sentences, meta, compact=force)
    logger.info("compacted build %s (%d segments) into %s (%d segments)", m.build_id, len(m.segments),
                manifest.build_id, len(manifest.segments))
    return True
