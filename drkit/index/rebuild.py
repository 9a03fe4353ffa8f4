"""`drkit index --rebuild`: a new index from drkit's own binlog archive, without the primary.

The archive holds the primary's binlog files byte for byte, and indexing is a pure function of
those bytes: scanning them again from the oldest file gives the same transactions, ids, GTIDs,
positions and checkpoint as the index built while following. The new index is built beside the
old one and takes its place only when whole; the old file (damaged, usually) is moved aside,
never deleted. The archive's lock is held throughout, so no `index --follow` or guard writes
either meanwhile.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

from drkit.compression import stored_size
from drkit.config import Config
from drkit.errors import RefusedError
from drkit.index import first_ids
from drkit.index.first_ids import FirstId
from drkit.index.indexer import Indexer, Report
from drkit.index.store import IndexDamagedError, IndexStore, IndexStoreError
from drkit.io.archive import ArchiveBusyError, ArchiveLock, archived_files, holder
from drkit.model.coords import file_sequence

BUILDING_SUFFIX = ".rebuilding"
ASIDE_INFIX = ".before-rebuild-"
SIDE_FILES = ("-wal", "-shm")  # SQLite's companions of a WAL database: they move with it
CHECK_SECONDS = 2.0  # how long the plan lets SQLite check the current index
KEPT_META = ("source", "primary")  # the primary's identity, recorded by `drkit index`


@dataclass(frozen=True)
class RebuildPlan:
    """What `drkit index --rebuild` will do; printed as the dry run, then executed as is."""

    index: Path
    building: Path  # the new index while it is built
    aside: Path | None  # where the current index goes; None when there is none
    current: str  # the current index's state, in words
    archive_dir: Path
    files: tuple[str, ...]  # archived binlog files, oldest first
    archive_bytes: int
    first_id: FirstId | None = None  # the recorded first id of an archived file (after a prune)

    def render(self) -> str:
        span = self.files[0] if len(self.files) == 1 else f"{self.files[0]} to {self.files[-1]}"
        lines = [
            f"rebuild the index {self.index} from the binlog archive {self.archive_dir} "
            f"({len(self.files)} files, {span}, {self.archive_bytes / 1e6:.1f} MB); "
            "the primary is not contacted",
            f"  1. index every archived transaction into {self.building} "
            "(removed again if this fails)",
        ]
        if self.first_id is not None:
            lines.append(
                f"     ids as before: {self.first_id.file} starts at #{self.first_id.id} "
                f"({self.first_id.gtid or 'no GTID'}), as recorded by the prune that removed "
                f"the files before it ({first_ids.FILE_NAME})"
            )
        if self.aside is not None:
            lines.append(
                f"  2. move the current index aside to {self.aside}, with its -wal and -shm "
                f"files (kept, never deleted); now: {self.current}"
            )
        else:
            lines.append("  2. there is no current index: nothing to move aside")
        lines.append(f"  3. put the new index in place as {self.index}")
        lines.append(
            "the archive's lock is held throughout: no `drkit index` or `drkit guard` writes "
            "meanwhile; afterwards `drkit index` copies and indexes what the primary wrote since"
        )
        return "\n".join(lines)


@dataclass(frozen=True)
class RebuildResult:
    index: Path
    aside: Path | None
    transactions: int
    checkpoint: str | None
    identity_kept: bool  # the primary's identity was carried over from the old index
    seconds: float


def plan_rebuild(config: Config, now: float | None = None) -> RebuildPlan:
    """Look at the index and the archive; RefusedError when a rebuild cannot be done now."""
    index = config.index.path
    archive_dir = config.index.archive_dir
    _refuse_if_followed(archive_dir, holder(archive_dir))
    files = archived_files(archive_dir)
    if not files:
        raise RefusedError(
            f"the binlog archive {archive_dir} holds no binlog files: nothing to rebuild the "
            f"index {index} from",
            hint="run `drkit index` to build the index from the primary",
        )
    stamp = dt.datetime.fromtimestamp(time.time() if now is None else now, tz=dt.UTC)
    aside = index.with_name(f"{index.name}{ASIDE_INFIX}{stamp:%Y%m%dT%H%M%SZ}")
    return RebuildPlan(
        index=index,
        building=index.with_name(index.name + BUILDING_SUFFIX),
        aside=aside if index.exists() else None,
        current=_state_of(index),
        archive_dir=archive_dir,
        files=tuple(path.name for path in files),
        archive_bytes=sum(stored_size(path) for path in files),
        first_id=_first_id(archive_dir, files),
    )


def _first_id(archive_dir: Path, files: list[Path]) -> FirstId | None:
    """The recorded first id of the oldest archived file that has one (None: ids start at 1)."""
    recorded = first_ids.load(archive_dir)
    for path in files:
        entry = recorded.get(file_sequence(path.name))
        if entry is not None:
            return entry
    return None


def rebuild(config: Config, plan: RebuildPlan, report: Report = lambda _: None) -> RebuildResult:
    """Execute the plan under the archive's lock (RefusedError naming the pid that holds it)."""
    started = time.monotonic()
    lock = ArchiveLock(plan.archive_dir)
    try:
        lock.acquire()
    except ArchiveBusyError as exc:
        _refuse_if_followed(plan.archive_dir, exc.pid if exc.pid is not None else -1)
        raise
    try:
        _remove(plan.building)  # left by an interrupted rebuild: ours to remove
        try:
            transactions, checkpoint, kept = _build(config, plan, report)
        except BaseException:
            _remove(plan.building)
            raise
        aside = _move_aside(plan)
        for suffix in ("", *SIDE_FILES):
            source = _with_suffix(plan.building, suffix)
            if source.exists():
                source.replace(_with_suffix(plan.index, suffix))
    finally:
        lock.release()
    return RebuildResult(
        plan.index, aside, transactions, checkpoint, kept, time.monotonic() - started
    )


def _build(config: Config, plan: RebuildPlan, report: Report) -> tuple[int, str | None, bool]:
    """Index the whole archive into the plan's building file: count, checkpoint, identity kept."""
    with Indexer(config, report=report, index_path=plan.building) as indexer:
        anchor = plan.first_id
        if anchor is not None and file_sequence(anchor.file) == file_sequence(plan.files[0]):
            indexer.store.set_meta("first_id", str(anchor.id))  # numbering starts there
        indexer.index_archive()
        if anchor is not None:
            _align_ids(indexer.store, anchor, report)
        kept = _carry_identity(plan.index, indexer.store)
        checkpoint = indexer.store.checkpoint()
        return indexer.store.count(), str(checkpoint) if checkpoint else None, kept


def _align_ids(store: IndexStore, anchor: FirstId, report: Report) -> None:
    """Shift the new ids so that the anchor's transaction has its recorded id (a file older than
    the anchor's is in the archive too); say so when the archive does not hold it as recorded."""
    found = store.by_gtid(anchor.gtid) if anchor.gtid else None
    if found is None:
        first = store.conn.execute(
            "SELECT MIN(id) FROM transactions WHERE file_seq = ?", (file_sequence(anchor.file),)
        ).fetchone()[0]
        found = store.get(int(first)) if first is not None else None
    if found is None:
        report(
            f"{anchor.file} is not in the archive as {first_ids.FILE_NAME} records it: ids are "
            "numbered from the oldest archived file and may differ from the old index's"
        )
        return
    shift = anchor.id - found.id
    oldest = store.oldest()
    if shift == 0 or oldest is None:
        return
    if oldest.id + shift < 1:
        report(
            f"{anchor.file} starts at #{found.id} in the archive, not #{anchor.id} as recorded: "
            "ids are numbered from the oldest archived file and may differ from the old index's"
        )
        return
    renumber(store, shift)


def renumber(store: IndexStore, shift: int) -> None:
    """Add `shift` to every id, in one transaction (through negative ids: no collision midway)."""
    conn = store.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("UPDATE transactions SET id = -(id + ?)", (shift,))
        conn.execute("UPDATE transactions SET id = -id")
        for table in ("transaction_tables", "findings"):  # every table keyed by the id
            conn.execute(f"UPDATE {table} SET tx_id = -(tx_id + ?)", (shift,))
            conn.execute(f"UPDATE {table} SET tx_id = -tx_id")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _carry_identity(old: Path, new: IndexStore) -> bool:
    """Copy the primary's identity from the old index when it can still be read."""
    if not old.exists():
        return False
    try:
        store = IndexStore(old, readonly=True)
    except IndexStoreError:
        return False
    with store:
        try:
            values = {key: store.meta(key) for key in KEPT_META}
        except IndexStoreError:
            return False
    for key, value in values.items():
        if value is not None:
            new.set_meta(key, value)
    return values["source"] is not None


def _move_aside(plan: RebuildPlan) -> Path | None:
    """Rename the current index and its side files to the plan's aside name (never over one)."""
    if not plan.index.exists():
        return None
    wanted = plan.aside or plan.index.with_name(f"{plan.index.name}{ASIDE_INFIX}later")
    aside, n = wanted, 1
    while any(_with_suffix(aside, s).exists() for s in ("", *SIDE_FILES)):
        n += 1
        aside = wanted.with_name(f"{wanted.name}.{n}")
    for suffix in ("", *SIDE_FILES):
        source = _with_suffix(plan.index, suffix)
        if source.exists():
            source.replace(_with_suffix(aside, suffix))
    return aside


def _state_of(index: Path) -> str:
    """The current index in words: missing, damaged (how), sound, or unreadable (why)."""
    if not index.exists():
        return "missing"
    try:
        store = IndexStore(index, readonly=True)
    except IndexStoreError as exc:
        return f"unreadable: {exc.message}"
    with store:
        try:
            checked = store.verify(CHECK_SECONDS)
        except IndexDamagedError as exc:
            return f"damaged: {exc.message}"
        except IndexStoreError as exc:
            return f"unreadable: {exc.message}"
    return "checked sound" if checked else f"sound as far as {CHECK_SECONDS:.0f}s of checking went"


def _refuse_if_followed(archive_dir: Path, pid: int | None) -> None:
    if pid is None:
        return
    who = f"pid {pid}" if pid > 0 else "another process"
    raise RefusedError(
        f"the archive {archive_dir} is being written by {who} (a `drkit index --follow` or "
        "`drkit guard`): a rebuild now would race it; nothing was changed",
        hint=f"stop {who} first, then run `drkit index --rebuild` again",
    )


def _remove(path: Path) -> None:
    for suffix in ("", *SIDE_FILES):
        with contextlib.suppress(FileNotFoundError):
            _with_suffix(path, suffix).unlink()


def _with_suffix(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)
