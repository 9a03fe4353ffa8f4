"""`drkit index [--follow]`: copy the primary's binlogs into the archive and index every transaction.

The indexer reads the archive, never the primary's files: one connection (the server's binlog tool)
feeds both the raw copy and the index. Records and checkpoint commit together (crash-safe); a
checkpoint from another primary is refused; binlogs the primary purged before drkit copied them are
named and recorded as a gap (drkit/index/gaps.py), and indexing goes on from its oldest binlog.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from drkit.binlog.scan import TableMapCache, scan_file
from drkit.classify import ClassifyRules
from drkit.compression import binlog_size
from drkit.config import Config, NodeConfig
from drkit.errors import DrkitError, ExitCode
from drkit.index import gaps
from drkit.index.compaction import CheckpointReader, Compactor, compress_closed
from drkit.index.delivery import StoredTransactions
from drkit.index.diskwatch import DiskWatch, OnDisk
from drkit.index.gaps import Gap
from drkit.index.layout import Scanned
from drkit.index.recording import scanned
from drkit.index.store import IndexStore
from drkit.index.walcheckpoint import WalCheckpointer
from drkit.index.writer import BatchWriter, IndexWriterError, InlineWriter, ProcessWriter
from drkit.io.archive import ArchiveError, ArchiveLock, ArchiveWriter, archived_files
from drkit.io.diskroom import DiskRoom, disk_room
from drkit.io.mysql import Session, connect
from drkit.model.coords import BinlogCoord, file_sequence
from drkit.retry import Backoff

log = logging.getLogger(__name__)

BATCH = 2000
# A low guess of the binlog bytes one transaction takes (about 1,000 in the shop workload of
# benchmarks/index_throughput.py, 2,400 in sysbench's): it errs towards keeping the indexes.
BINLOG_BYTES_PER_TRANSACTION = 1000
BACKOFF = Backoff((0.2, 0.5, 1.0, 2.0, 5.0, 10.0))  # between reconnections; the last repeats
STABLE_SECONDS = 10.0  # a stream that lasted this long starts the backoff over
POLL = 0.005  # while following, how often to look for new bytes (two stat calls when idle)
COPY_POLL = 0.005  # while `drkit index` copies a backlog, how soon to look again at its end
REPLACED_PREFIX = ".replaced-"
DISK_POLL = 0.5  # while the disk is low, how often to look again

OnNew = Callable[[StoredTransactions], None]
Report = Callable[[str], None]


class IndexGapError(DrkitError):
    """Transactions the index needs are gone from the primary and missing from the archive."""

    exit_code = ExitCode.REFUSED


class DiskLowError(DrkitError):
    """The archive's filesystem is below `[retention] min_free`: copying would fill it."""

    exit_code = ExitCode.REFUSED


class SourceChangedError(DrkitError):
    """The index belongs to a different primary than the configured one."""

    exit_code = ExitCode.REFUSED


@dataclass(frozen=True)
class IndexResult:
    new: int
    checkpoint: BinlogCoord | None
    total: int
    seconds: float


@dataclass(frozen=True)
class PrimaryBinlogs:
    identity: str
    files: tuple[str, ...]  # oldest first
    mariadb: bool
    sizes: tuple[int, ...] = ()  # of each file, as SHOW BINARY LOGS tells

    def backlog(self, first: str) -> int:
        """The bytes of `first` and every later file: what a copy from `first` brings."""
        return sum(size for name, size in zip(self.files, self.sizes, strict=True) if name >= first)


def rules_from(config: Config) -> ClassifyRules:
    return ClassifyRules(config.classify.mass_rows, config.classify.ignore_tables)


class Indexer:
    """Keeps one index and one archive current with the configured primary."""

    def __init__(
        self, config: Config, report: Report = lambda _: None, index_path: Path | None = None
    ) -> None:
        self.config = config
        self.primary: NodeConfig = config.require_primary()
        self.archive_dir = config.index.archive_dir
        self.store = IndexStore(index_path or config.index.path)
        self.rules = rules_from(config)
        self.report = report
        self.lock = ArchiveLock(self.archive_dir)
        self._seen: tuple[Path, int] | None = None  # the file and size the last scan ended on
        # Following, a scan every few milliseconds would otherwise parse the same table maps
        # and build the same row counters each time (a fifth of its work).
        self._table_maps = TableMapCache()

    def __enter__(self) -> Indexer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()

    # -- one shot -------------------------------------------------------------------------------

    def run_once(self, on_new: OnNew | None = None) -> IndexResult:
        """Copy what the primary has beyond the checkpoint, index it, return.

        The files are indexed while the server's tool copies them (the copy is another process:
        it costs the scan nothing), so a long backlog takes about as long as indexing alone.
        """
        started = time.monotonic()
        self.lock.acquire()
        try:
            self._refuse_if_disk_low()
            binlogs = self._primary_binlogs()
            first = self._first_file_to_fetch(binlogs, on_new)
            writer = ArchiveWriter(self.primary, self.archive_dir, mariadb=binlogs.mariadb)
            with self._refetching(first):
                writer.start_fetch(first)
                try:
                    new = self.scan(
                        on_new,
                        copying=lambda: writer.fetching(self._disk_low_reason),
                        expected=binlogs.backlog(first),
                    )
                except BaseException:
                    writer.stop()
                    raise
                writer.finish_fetch(should_stop=self._disk_low_reason)
            new += self.scan(on_new)  # a copy set aside and put back may reach further
            if self._compressing:
                compress_closed(
                    self.archive_dir, self.store.checkpoint(), self.config.retention.compress_level
                )
        finally:
            self.lock.release()
        return IndexResult(
            new, self.store.checkpoint(), self.store.count(), time.monotonic() - started
        )

    # -- following ------------------------------------------------------------------------------

    def follow(
        self,
        stop: threading.Event,
        on_new: OnNew | None = None,
        poll: float = POLL,
        on_state: Callable[[str], None] | None = None,
        on_disk: OnDisk | None = None,
    ) -> None:
        """Keep copying and indexing until `stop` is set; reconnect with backoff when the primary goes.

        Below `[retention] min_free` on the archive's filesystem, the copier is stopped (what it
        wrote whole is indexed, the file it was writing is copied again later) and `on_disk`
        hears it; copying resumes from the checkpoint once there is room.
        """
        self.lock.acquire()
        checkpointer = self._background_checkpoints()
        stream = _Stream()
        compactor = self._compactor()
        disk = DiskWatch(
            self.archive_dir,
            self.config.retention.min_free,
            lambda room, low: self._disk_changed(room, low, on_disk, on_state),
        )
        try:
            while not stop.is_set():
                if disk.low():
                    if stream.writer is not None:
                        stream.close()  # before the filesystem fills: no file is cut by ENOSPC
                        self._settle_replaced(force=True)
                        self.scan(on_new)
                    stop.wait(max(poll, DISK_POLL))
                    continue
                if not stream.alive() and not self._reconnect(stream, stop, on_new, on_state):
                    continue  # still down (or asked to stop): the loop condition decides
                if self._unchanged():
                    stop.wait(poll)
                    continue
                new = self.scan(on_new)
                self._settle_replaced()
                if compactor is not None:
                    compactor.poke(self.store.checkpoint())
                if not new:
                    stop.wait(poll)
        finally:
            if compactor is not None:
                compactor.close()
            stream.close()
            self._settle_replaced(force=True)
            try:
                self.scan(on_new)
            except DrkitError as exc:
                log.warning("the last scan before stopping failed: %s", exc.message)
            finally:
                try:
                    checkpointer.close()
                finally:
                    self.lock.release()

    def _background_checkpoints(self) -> WalCheckpointer:
        """Commits while following must not pay for SQLite's checkpoints (see walcheckpoint.py);
        the archive's lock is let go if the checkpointer cannot start."""
        try:
            return WalCheckpointer(self.store.path, self.store.conn).start()
        except BaseException:
            self.lock.release()
            raise

    def _disk_low_reason(self) -> str | None:
        room = disk_room(self.archive_dir, self.config.retention.min_free)
        return f"disk low: {room.describe()}" if room.low else None

    def _refuse_if_disk_low(self) -> None:
        reason = self._disk_low_reason()
        if reason is not None:
            raise DiskLowError(
                f"{reason}; no binlog was copied",
                hint="free space on it, run `drkit prune`, or lower [retention] min_free",
            )

    def _disk_changed(
        self,
        room: DiskRoom,
        low: bool,
        on_disk: OnDisk | None,
        on_state: Callable[[str], None] | None,
    ) -> None:
        checkpoint = self.store.checkpoint()
        if low:
            text = (
                f"disk low: {room.describe()}; copying the primary's binlogs stops at "
                f"{checkpoint} and resumes there once there is room (free space, or `drkit prune`)"
            )
        else:
            text = f"disk room again: {room.describe()}; copying resumes at {checkpoint}"
        self.report(text)
        if on_state is not None:
            on_state("copying stopped: disk low" if low else "resuming after disk low")
        if on_disk is not None:
            on_disk(room, low)

    @property
    def _compressing(self) -> bool:
        return self.config.retention.compress == "zstd"

    def _compactor(self) -> Compactor | None:
        if not self._compressing:
            return None
        reader = CheckpointReader(self.store.path)
        return Compactor(self.archive_dir, self.config.retention.compress_level, reader)

    def _reconnect(
        self,
        stream: _Stream,
        stop: threading.Event,
        on_new: OnNew | None,
        on_state: Callable[[str], None] | None,
    ) -> bool:
        """(Re)start the copier, waiting out the backoff first after a failure; True once running."""
        if stream.writer is not None:
            problem = f"lost the primary's binlog stream ({stream.writer.exit_reason()})"
            stream.close()
            # Keep what the tool wrote before it stopped and index it, then reconnect.
            self._settle_replaced(force=True)
            self.scan(on_new)
            if time.monotonic() - stream.connected_at > STABLE_SECONDS:
                stream.attempt = 0
            if self._back_off(stop, stream.attempt, problem, on_state):
                return False
            stream.attempt += 1
        try:
            stream.writer = self._start_following(on_new)
        except (SourceChangedError, IndexGapError):
            raise
        except DrkitError as exc:
            if exc.exit_code is ExitCode.USAGE and not stream.followed:
                # A refused login or a config error (an unset password_env) at start needs a
                # human, not a retry loop. Once following, a refusal is retried like a lost
                # primary: the password may be changing on both ends.
                raise
            problem = f"cannot follow {self.primary.name}: {exc.message}"
            self._back_off(stop, stream.attempt, problem, on_state)
            stream.attempt += 1
            return False
        stream.connected_at = time.monotonic()
        stream.followed = True
        if on_state:
            on_state(f"following {self.primary.name}")
        return True

    def _start_following(self, on_new: OnNew | None = None) -> ArchiveWriter:
        binlogs = self._primary_binlogs()
        first = self._first_file_to_fetch(binlogs, on_new)
        writer = ArchiveWriter(self.primary, self.archive_dir, mariadb=binlogs.mariadb)
        self._set_aside(first)
        try:
            writer.follow(first)
        except BaseException:
            self._settle_replaced(force=True)  # no copier after all: put the copies back
            raise
        return writer

    def _back_off(
        self,
        stop: threading.Event,
        attempt: int,
        problem: str,
        on_state: Callable[[str], None] | None,
    ) -> bool:
        """Report the problem and wait before the next attempt; True when asked to stop meanwhile."""
        delay = BACKOFF.pause(attempt)
        self.report(f"{problem}; retrying in {delay}s")
        if on_state:
            on_state(f"reconnecting: {problem}")
        return stop.wait(delay)

    # -- scanning the archive -------------------------------------------------------------------

    def index_archive(self) -> int:
        """Index what the archive holds beyond the checkpoint without asking the primary (the
        rebuild); copies an interrupted refetch set aside are settled first. The caller holds
        the archive's lock."""
        self._settle_replaced(force=True)
        count = self.scan()
        while (skip := self._archive_gap()) is not None:
            checkpoint, lost, resume = skip
            self._record_gap(checkpoint, lost, resume, where="the archive")
            count += self.scan()
        return count

    def _archive_gap(self) -> tuple[BinlogCoord, list[tuple[str, bool]], str] | None:
        """Where the archive itself has a hole (a gap the follower skipped): the checkpoint, the
        files missing from it, and the next file the archive holds."""
        checkpoint = self.store.checkpoint()
        if checkpoint is None:
            return None
        later = [
            path.name
            for path in archived_files(self.archive_dir)
            if file_sequence(path.name) > checkpoint.sequence
        ]
        if not later:
            return None
        lost = self._lost(checkpoint, later[0])
        return (checkpoint, lost, later[0]) if lost else None

    def scan(
        self,
        on_new: OnNew | None = None,
        *,
        copying: Callable[[], bool] = lambda: False,
        expected: int = 0,
    ) -> int:
        """Index every complete transaction the archive holds beyond the checkpoint.

        Files are taken strictly in sequence from the checkpoint's: one not (yet) in the archive,
        being copied again, stops the scan there rather than skipping ahead. While `copying()`
        says the copier is still at work, the scan waits at the end of what it has for more
        instead of returning. A long backlog (in the archive, or `expected` bytes on their way)
        is written by a second process while this one scans (see drkit/index/writer.py).
        """
        self._seen = None
        # Asked before each listing: a listing taken while the copier ran may miss its last files.
        more_coming = copying()
        files = self._listing()
        while not files and more_coming:
            time.sleep(COPY_POLL)
            more_coming = copying()
            files = self._listing()
        if not files:
            return 0
        stored = self.store.checkpoint()
        checkpoint = stored or BinlogCoord(files[min(files)].name, 4)
        writer = self._writer_for(files, checkpoint, expected)
        batches = _Batches(writer, stored, lambda: self._deliver(writer, on_new))
        try:
            self._scan_files(files, checkpoint, batches, copying, listed_while_copying=more_coming)
            writer.close()
        except BaseException:
            writer.abort()
            raise
        finally:
            self._deliver(writer, on_new)
        return batches.count

    def _writer_for(
        self, files: dict[int, Path], checkpoint: BinlogCoord, expected: int
    ) -> BatchWriter:
        """A writer process when the backlog is long enough to pay for one, else this process;
        loading in bulk when the backlog outweighs what the index holds (see _bulk_pays)."""
        threshold = int(self.config.index.writer_process_mb * 1_000_000)
        archived = sum(
            binlog_size(path) for seq, path in files.items() if seq >= checkpoint.sequence
        )
        backlog = max(archived, expected) - checkpoint.pos
        bulk = backlog >= threshold and self._bulk_pays(backlog)
        if self.config.index.writer_process and backlog >= threshold:
            try:
                writer = ProcessWriter(self.store.path, self.rules, self.store.next_id(), bulk=bulk)
            except IndexWriterError as exc:
                self.report(f"{exc.message}; indexing in this process")
            else:
                self.report(f"indexing {backlog / 1e6:.0f} MB of binlog with a writer process")
                return writer
        return InlineWriter(self.store, self.rules, bulk=bulk)

    def _bulk_pays(self, backlog: int) -> bool:
        """Whether building the deferred indexes once after the catch-up costs less than
        keeping them: when it brings at least as many transactions as the index holds (a
        build sorts them all, old and new)."""
        stored = self.store.next_id() - 1  # ids are dense: an upper bound after a prune
        return stored * BINLOG_BYTES_PER_TRANSACTION <= backlog

    def _scan_files(
        self,
        files: dict[int, Path],
        checkpoint: BinlogCoord,
        batches: _Batches,
        copying: Callable[[], bool],
        *,
        listed_while_copying: bool,
    ) -> None:
        while True:
            # Asked before the scan: once the copier has ended, one more pass reads all it wrote.
            more_coming = copying()
            if listed_while_copying and not more_coming:
                # The copier ended after `files` was listed: the files it wrote since must be
                # listed too, or this pass stops at the first of them and a second scan (with a
                # second writer process) has to index the rest.
                files = self._listing()
                listed_while_copying = False
            path = files.get(checkpoint.sequence)
            if path is None and more_coming:
                time.sleep(COPY_POLL)  # the copier has not started this file yet
                files = self._listing()
                listed_while_copying = True
                continue
            if path is None or path.name != checkpoint.file:
                return
            size = binlog_size(path)
            scan = scan_file(path, checkpoint.pos, table_maps=self._table_maps)
            batch: list[Scanned] = []
            for transaction in scan:
                batch.append(scanned(transaction))
                if len(batch) >= BATCH:
                    batches.submit(batch, BinlogCoord(path.name, transaction.end_pos))
                    batch = []
            following = files.get(checkpoint.sequence + 1)
            if following is None and not scan.finished and more_coming:
                # The end of what the copier has written so far: commit, wait, read on.
                position = BinlogCoord(path.name, scan.position)
                batches.submit(batch, position)
                checkpoint = position
                if binlog_size(path) == size:
                    time.sleep(COPY_POLL)  # nothing more yet
                files = self._listing()
                listed_while_copying = True
                continue
            if scan.finished:
                # A Rotate (or a Stop event: the server shut down) closes the file.
                position = BinlogCoord(scan.next_file or _next_name(path.name), 4)
            elif following is not None:
                # No closing event, yet the copier went on: the primary crashed while writing
                # this file. Whatever follows the last complete transaction was never committed.
                if scan.stop_reason != "end of file":
                    self.report(
                        f"{path.name} ends inside an uncommitted transaction at {scan.position} "
                        "(the primary crashed); moving on to the next file"
                    )
                position = BinlogCoord(following.name, 4)
            else:
                batches.submit(batch, BinlogCoord(path.name, scan.position))
                self._seen = (path, size)
                return
            batches.submit(batch, position)
            checkpoint = position

    def _listing(self) -> dict[int, Path]:
        """The archive's binlog files by sequence number."""
        return {file_sequence(path.name): path for path in archived_files(self.archive_dir)}

    def _deliver(self, writer: BatchWriter, on_new: OnNew | None) -> None:
        """Hand what the writer committed to `on_new`, read back as the index holds it."""
        for ids in writer.committed():
            if on_new is not None:
                on_new(StoredTransactions(self.store, ids))

    def _unchanged(self) -> bool:
        """Whether the archive is as the last scan left it: its last file no longer, no new one."""
        if self._seen is None:
            return False
        path, size = self._seen
        try:
            grown = path.stat().st_size != size
        except OSError:
            return False
        return not grown and not (path.parent / _next_name(path.name)).exists()

    # -- the primary ----------------------------------------------------------------------------

    def _primary_binlogs(self) -> PrimaryBinlogs:
        with connect(self.primary) as session:
            return self._binlogs_of(session)

    def _binlogs_of(self, session: Session) -> PrimaryBinlogs:
        d = session.dialect
        facts = session.one(d.node_variables()) or {}
        if session.version.is_mariadb:
            identity = (
                f"mariadb server_id={facts.get('server_id')} domain={facts.get('gtid_domain_id')}"
            )
        else:
            identity = f"mysql server_uuid={facts.get('server_uuid')}"
        listed = session.rows(d.binlog_files())
        files = tuple(str(row["Log_name"]) for row in listed)
        sizes = tuple(int(row.get("File_size") or 0) for row in listed)
        if not files:
            raise DrkitError(f"{self.primary.name} has no binary logs: is log_bin enabled?")
        recorded = self.store.meta("source")
        if recorded is None:
            self.store.set_meta("source", identity)
            self.store.set_meta("primary", f"{self.primary.name} {self.primary.address}")
        elif recorded != identity:
            raise SourceChangedError(
                f"the index {self.store.path} was built from another primary ({recorded}); "
                f"{self.primary.name} is {identity}",
                hint="point [index] path and archive_dir at new locations for this primary",
            )
        return PrimaryBinlogs(identity, files, session.version.is_mariadb, sizes)

    def _first_file_to_fetch(self, binlogs: PrimaryBinlogs, on_new: OnNew | None = None) -> str:
        """Where copying resumes: the checkpoint's file, or the oldest the primary still has."""
        checkpoint = self.store.checkpoint()
        oldest = binlogs.files[0]
        if checkpoint is None:
            # First run: index from the oldest binlog the primary still has.
            self.store.append([], BinlogCoord(oldest, 4))
            return oldest
        if checkpoint.file in binlogs.files:
            return checkpoint.file
        if checkpoint.sequence > file_sequence(binlogs.files[-1]):
            raise IndexGapError(
                f"the index checkpoint {checkpoint} is beyond the primary's newest binlog "
                f"{binlogs.files[-1]}",
                hint="the primary was rebuilt or its binlogs reset; start a new index for it",
            )
        # The checkpoint's file is purged on the primary: the archive must bridge the gap whole.
        if self._lost(checkpoint, oldest):
            # Index what the archive holds first: the gap starts where the archive ends.
            self.scan(on_new)
            checkpoint = self.store.checkpoint() or checkpoint
            lost = self._lost(checkpoint, oldest)
            if lost:
                self._record_gap(checkpoint, lost, oldest)
        return oldest

    def _lost(self, checkpoint: BinlogCoord, oldest: str) -> list[tuple[str, bool]]:
        """The files from the checkpoint's up to the primary's oldest that the archive does not
        hold whole: (name, a copy cut short is archived)."""
        archived = {path.name: path for path in archived_files(self.archive_dir)}
        bridge = [
            _sibling(checkpoint.file, n) for n in range(checkpoint.sequence, file_sequence(oldest))
        ]
        return [
            (name, name in archived)
            for name in bridge
            if name not in archived or not _closed(archived[name])
        ]

    def _record_gap(
        self,
        checkpoint: BinlogCoord,
        lost: list[tuple[str, bool]],
        oldest: str,
        where: str | None = None,
    ) -> None:
        """Say which binlogs are lost, record the gap in the index, go on from `oldest`."""
        last = self.store.latest()
        gap = Gap(
            after_id=last.id if last else 0,
            after_gtid=last.gtid if last else None,
            stopped_at=f"{checkpoint.file}:{checkpoint.pos}",
            lost=tuple(name for name, _ in lost),
            resumed_from=oldest,
            found_at=time.time(),
        )
        named = ", ".join(
            f"{name} (archived copy cut short)" if cut else name for name, cut in lost
        )
        resumes = "the primary's oldest binlog" if where is None else f"{where}'s next binlog"
        message = (
            f"binlog gap: {named} purged from {self.primary.name} before drkit archived "
            f"{'it' if len(lost) == 1 else 'them'} whole; the index stops at {checkpoint} "
            f"(#{gap.after_id}, {gap.after_gtid}) and {resumes} is {oldest}: indexing goes on "
            "from there, and a recovery, flashback or history across the gap is refused"
        )
        self.report(message)
        gaps.record(self.store, gap)
        self.store.append([], BinlogCoord(oldest, 4))
        self._seen = None  # the last scan ended before the gap: the next one starts after it

    # -- refetching without truncating a file someone may be reading -------------------------

    @contextlib.contextmanager
    def _refetching(self, first: str) -> Iterator[None]:
        self._set_aside(first)
        try:
            yield None
        finally:
            self._settle_replaced(force=True)

    def _set_aside(self, first: str) -> None:
        """Move archived copies of `first` and later files out of the way of the copier.

        The tool truncates a file it copies again, and the scanner may have it mapped: so each
        is renamed aside (the set-aside copy is dropped once the new one is as long, and put
        back if the new one falls short). The scanner then only sees files the running copier
        wrote whole, or is writing now.
        """
        for path in archived_files(self.archive_dir):
            if file_sequence(path.name) < file_sequence(first):
                continue
            aside = self.archive_dir / f"{REPLACED_PREFIX}{path.name}"
            if aside.exists() and aside.stat().st_size >= path.stat().st_size:
                path.unlink()  # left by an interrupted refetch: keep the longer copy
            else:
                path.replace(aside)

    def _settle_replaced(self, force: bool = False) -> None:
        """Drop a set-aside copy once the new one is as long; restore it if the new one fell short."""
        for aside in self.archive_dir.glob(f"{REPLACED_PREFIX}*"):
            fresh = self.archive_dir / aside.name[len(REPLACED_PREFIX) :]
            old_size = aside.stat().st_size
            new_size = fresh.stat().st_size if fresh.exists() else -1
            if new_size >= old_size:
                aside.unlink()
            elif force:
                aside.replace(fresh)


class _Batches:
    """Batches on their way to the writer, and the checkpoint they last moved."""

    def __init__(
        self, writer: BatchWriter, checkpoint: BinlogCoord | None, deliver: Callable[[], None]
    ) -> None:
        self.writer = writer
        self.checkpoint = checkpoint
        self.count = 0
        self._deliver = deliver

    def submit(self, batch: list[Scanned], checkpoint: BinlogCoord) -> None:
        if not batch and checkpoint == self.checkpoint:
            return
        self.writer.submit(batch, checkpoint)
        self.checkpoint = checkpoint
        self.count += len(batch)
        # What is committed reaches `on_new` now, not at the end of a long catch-up: the guard
        # freezes the delayed replica on what it hears.
        self._deliver()


@dataclass
class _Stream:
    """The copier following the primary, and the backoff state between its reconnections."""

    writer: ArchiveWriter | None = None
    attempt: int = 0
    connected_at: float = 0.0
    followed: bool = False  # the copier has started once

    def alive(self) -> bool:
        return self.writer is not None and self.writer.running()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.stop()
            self.writer = None


def _sibling(name: str, sequence: int) -> str:
    """The binlog file name with the same base and this sequence number."""
    base, _, digits = name.rpartition(".")
    return f"{base}.{sequence:0{len(digits)}d}"


def _next_name(name: str) -> str:
    return _sibling(name, file_sequence(name) + 1)


def _closed(path: Path) -> bool:
    """Whether an archived binlog copy is whole: it ends with the Rotate or Stop event."""
    scan = scan_file(path)
    for _ in scan:
        pass
    return scan.finished


def archive_path(config: Config, file: str) -> Path:
    return config.index.archive_dir / file


__all__ = ["ArchiveError", "IndexResult", "Indexer"]
