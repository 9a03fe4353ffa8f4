"""The first index id of an archived binlog file, kept in the archive so ids survive a rebuild.

Ids are dense and given in binlog order from the first file indexed. A prune removes the oldest
files and rows, so a rebuild from what is left would start counting at 1 again, and every id a
recovery record, a pending freeze or an operator's note names would point at another transaction.
Before it removes anything, a prune writes here the id and GTID of the first transaction of the
oldest file it keeps; `drkit index --rebuild` numbers from there. The file sits in the archive
(the index may be the damaged thing a rebuild replaces), hidden so no reader takes it for a binlog.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from drkit.index.store import IndexStore
from drkit.model.coords import file_sequence

FILE_NAME = ".drkit-first-ids.json"
MODE = 0o600


@dataclass(frozen=True)
class FirstId:
    """The id (and GTID) the first transaction of one archived binlog file has in the index."""

    file: str
    id: int
    gtid: str | None

    @property
    def sequence(self) -> int:
        return file_sequence(self.file)


def load(archive_dir: Path) -> dict[int, FirstId]:
    """The recorded first ids by file sequence; empty when none was recorded or it is unreadable."""
    try:
        data = json.loads((archive_dir / FILE_NAME).read_text(encoding="utf-8"))
        entries = [FirstId(str(e["file"]), int(e["id"]), e.get("gtid")) for e in data["files"]]
        return {entry.sequence: entry for entry in entries}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def remember(archive_dir: Path, store: IndexStore, file: str, keep_from: int) -> FirstId | None:
    """Record the first id of `file` before a prune removes the files before it and the rows below
    `keep_from`; entries of files older than it go. An earlier record of the file is kept: a
    prune may already have removed that file's first rows from the index."""
    known = load(archive_dir)
    sequence = file_sequence(file)
    entry = known.get(sequence) or _first_in(store, file)
    if entry is None or entry.id > keep_from:
        return known.get(sequence)
    kept = {seq: e for seq, e in known.items() if seq > sequence}
    kept[sequence] = entry
    _write(archive_dir, list(kept.values()))
    return entry


def _first_in(store: IndexStore, file: str) -> FirstId | None:
    row = store.conn.execute(
        "SELECT id, gtid FROM transactions WHERE file_seq = ? ORDER BY start_pos LIMIT 1",
        (file_sequence(file),),
    ).fetchone()
    return None if row is None else FirstId(file, int(row[0]), row[1])


def _write(archive_dir: Path, entries: list[FirstId]) -> None:
    """Replace the file atomically (a synced temporary file renamed over it)."""
    archive_dir.mkdir(parents=True, exist_ok=True)
    path = archive_dir / FILE_NAME
    text = json.dumps(
        {"files": [e.__dict__ for e in sorted(entries, key=lambda e: e.sequence)]}, indent=1
    )
    tmp = path.with_name(f"{FILE_NAME}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
