"""`semsearch index --watch`: sync the index once, then again after each burst of changes.

Changes come from watchfiles (OS notifications, polling where there are none). A burst of saves is
one sync: it starts once the folder has been quiet for `quiet_ms`, or after `max_wait_ms` of
continuous changes. Changes made during a sync are kept and trigger the next one. A failed sync
is logged and the previous build keeps serving. Given `compact`, the syncs are expected to defer
their segment merges, and `compact()` runs once the folder has been quiet for `idle_ms` after a
sync (changes made meanwhile are kept, as during a sync).
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import IndexLockedError, SemsearchError

logger = logging.getLogger(__name__)


def notes_filter(root: Path, include: Sequence[str], ignore: Sequence[Path] = ()) -> Callable[[Any, str], bool]:
    """A watchfiles filter for changes that can affect the index: notes matching `include`, and
    anything that is not a file now (deleted files, folders), outside hidden folders and `ignore`
    (the index itself, when it lives inside the notes folder)."""
    from watchfiles import DefaultFilter

    default = DefaultFilter(ignore_paths=[str(p.resolve()) for p in ignore])
    real_root = root.resolve()

    def keep(change: Any, path: str) -> bool:
        if not default(change, path):
            return False
        try:
            relative = Path(path).resolve().relative_to(real_root)
        except ValueError:
            return False
        if any(part.startswith(".") for part in relative.parts):
            return False
        name = relative.name
        matches = any(fnmatch.fnmatch(relative.as_posix(), g) or fnmatch.fnmatch(name, g) for g in include)
        return matches or not Path(path).is_file()

    return keep


def run_sync(sync: Callable[[], object]) -> bool:
    """Run one sync; a failure is logged, never raised (the previous build keeps serving)."""
    try:
        sync()
        return True
    except SemsearchError as exc:
        logger.warning("sync failed, the previous build is still published: %s", exc)
    except Exception:
        logger.exception("sync failed, the previous build is still published")
    return False


def run_compaction(compact: Callable[[], bool]) -> bool:
    """Run one idle compaction; a failure is logged, never raised. Returns whether to try again at
    the next idle period (another build held the lock)."""
    try:
        if compact():
            logger.info("compacted the index while the folder was quiet")
    except IndexLockedError:
        logger.info("not compacting now: another build holds the index")
        return True
    except SemsearchError as exc:
        logger.warning("compaction failed, the previous build is still published: %s", exc)
    except Exception:
        logger.exception("compaction failed, the previous build is still published")
    return False


def watch_notes(notes_dir: Path, sync: Callable[[], object], *, include: Sequence[str],
                ignore: Sequence[Path] = (), quiet_ms: int = 500, max_wait_ms: int = 10_000,
                stop_event: Any = None, force_polling: bool | None = None,
                compact: Callable[[], bool] | None = None, idle_ms: int = 30_000) -> None:
    """Sync now, then after each burst of changes under `notes_dir`, until `stop_event` is set
    (or Ctrl-C); with `compact`, also compact after each sync once nothing changed for `idle_ms`."""
    from watchfiles import watch

    run_sync(sync)
    idle = compact is not None  # then watchfiles also yields (nothing) after idle_ms without a change
    due = idle
    for changes in watch(notes_dir, watch_filter=notes_filter(notes_dir, include, ignore),
                         step=quiet_ms, debounce=max(max_wait_ms, quiet_ms), stop_event=stop_event,
                         force_polling=force_polling, raise_interrupt=False,
                         rust_timeout=idle_ms if idle else 5_000, yield_on_timeout=idle):
        if changes:
            logger.info("%d change(s) under %s: syncing", len(changes), notes_dir)
            run_sync(sync)
            due = idle
        elif due and compact is not None:
            due = run_compaction(compact)
