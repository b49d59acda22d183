"""What a build records of each notes file (`files.json`), one collection at a time.

A sync reads one collection's folder; the files of every other collection are carried from the
previous build as they were (`carried_files`), and the synced collection's files are compared with
that collection's files in the previous build only (`file_record`): a source is unique only within
its collection.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from ..index.loader import Index
from ..index.status import BuildFiles, FileState, FileStatus
from ..records import DEFAULT_COLLECTION, Chunk


@dataclass(slots=True)
class FileResult:
    """One file of the synced folder as read: its chunks, or why it was skipped or failed."""

    source: str
    chunks: list[Chunk] = field(default_factory=list)
    sha256: str = ""
    reason: str = ""  # skipped
    error: str = ""  # failed
    folder: bool = False  # `source` is a folder (`dir/`) that could not be listed
    collection: str = DEFAULT_COLLECTION
    reader: str = ""  # the format's reader (`formats.reader_name`), shown by `semsearch status`
    stat: tuple[int, int, int, int] | None = None  # (size, mtime_ns, ctime_ns, inode) before it was read
    rows: npt.NDArray[np.int64] | None = None  # not read: its passages are these rows of the previous build
    written: int | None = None  # its passages, already written to a segment (`chunks` then emptied)

    @property
    def count(self) -> int:
        """How many passages the file has."""
        if self.written is not None:
            return self.written
        return len(self.chunks) if self.rows is None else len(self.rows)

    def passages(self, previous: Index | None) -> list[Chunk]:
        """The file's chunks (parsed from `previous` when it was not read)."""
        if self.rows is None or previous is None:
            return self.chunks
        return [previous.chunks[int(r)] for r in self.rows]


def in_collection(results: list[FileResult], collection: str) -> list[FileResult]:
    """`results` (and their chunks) as files of `collection`."""
    for result in results:
        result.collection = collection
        if any(c.collection != collection for c in result.chunks):
            result.chunks = [replace(c, collection=collection) for c in result.chunks]
    return results


def carried_chunks(previous: Index | None, collection: str) -> list[Chunk]:
    """The previous build's chunks of every collection but `collection`, in their order."""
    return [] if previous is None else [c for c in previous.chunks if c.collection != collection]


def carried_files(previous: Index | None, collection: str) -> list[FileStatus]:
    """The previous build's files of every other collection, as this build holds them: unchanged
    (nothing of them was read or embedded again)."""
    if previous is None:
        return []
    return [replace(f, status="unchanged", embedded=0, renamed_from="") if f.status == "indexed" else
            replace(f, embedded=0, renamed_from="")
            for f in previous.files.files if f.collection != collection]


def keep_unreadable_folders(results: list[FileResult], previous: Index | None,
                            collection: str = DEFAULT_COLLECTION) -> list[FileResult]:
    """The previous build's files under a folder that could not be listed this time stay in the
    index (skipped, with the reason, and their passages kept): an unreadable folder never makes its
    notes disappear."""
    folders = [r for r in results if r.folder]
    if not folders or previous is None:
        return results
    present = {r.source for r in results}
    by_source = previous.rows_by_place
    kept: list[FileResult] = []
    for old in previous.files.files:
        if old.collection != collection:
            continue
        folder = next((f for f in folders if f.source == "./" or old.source.startswith(f.source)), None)
        if folder is None or old.source in present or old.status not in ("indexed", "unchanged", "skipped"):
            continue
        rows = by_source.get((collection, old.source), np.zeros(0, dtype=np.int64))
        if old.status == "skipped" and not len(rows):
            continue
        kept.append(FileResult(old.source, rows=rows, sha256=old.sha256,
                               reason=f"{folder.reason}; kept from the previous build", collection=collection))
    return results + kept


def file_record(results: list[FileResult], previous: Index | None, new: dict[str, int], *,
                embedded: int, reused: int, collection: str = DEFAULT_COLLECTION,
                carried: list[FileStatus] | None = None) -> BuildFiles:
    """Each file of `collection` against that collection in the previous build: same source and
    text is `unchanged`, the text of a file that is gone is `unchanged` with `renamed_from`, other
    readable files `indexed`. `carried`: the other collections' files, listed first."""
    before: dict[str, FileStatus] = {}
    if previous is not None:
        before = {s: f for s, f in previous.files.by_source(collection).items() if f.sha256}
    present = {r.source for r in results}
    gone = {f.sha256: s for s, f in sorted(before.items(), reverse=True) if s not in present}
    files: list[FileStatus] = []
    for r in results:
        if r.error:
            files.append(FileStatus(r.source, "failed", error=r.error, collection=collection, reader=r.reader))
            continue
        if r.reason:
            files.append(FileStatus(r.source, "skipped", chunks=r.count, sha256=r.sha256, reason=r.reason,
                                    collection=collection, reader=r.reader, stat=list(r.stat or ())))
            continue
        old = before.get(r.source)
        state: FileState = "unchanged"
        renamed_from = ""
        if old is None or old.sha256 != r.sha256:
            if r.sha256 in gone:
                renamed_from = gone.pop(r.sha256)
            else:
                state = "indexed"
        files.append(FileStatus(r.source, state, chunks=r.count, embedded=new.get(r.source, 0),
                                sha256=r.sha256, renamed_from=renamed_from, collection=collection,
                                reader=r.reader, stat=list(r.stat or ())))
    renamed = {f.renamed_from for f in files}
    removed = sorted(s for s, f in before.items() if s not in present and s not in renamed
                     and f.status in ("indexed", "unchanged"))
    return BuildFiles([*(carried or []), *files], embedded=embedded, reused=reused, removed=removed,
                      removed_from=[collection] * len(removed))
