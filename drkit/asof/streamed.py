"""`drkit asof --into` of a table with a primary key: the rows no change since T touched travel
from the replica to the primary through the servers' own tools (the extract pump,
drkit.io.extract), and only the rows the rewind changed pass through drkit.

Why the dump holds the rows of the position the rewind starts from: before anything is read, a
second session takes `LOCK TABLES t READ` on the replica. While it holds, no transaction that
writes t can commit there (the applier waits for the lock; readers do not). drkit's snapshot
(the position, read in it as drkit.asof.snapshot does, the table's digest sum, the rows of the
keys the archive's changes touch) and the dump's `--single-transaction` snapshot are both taken
while the lock holds, so both see the same rows of t: those of the pinned position. The lock
goes as soon as the dump's first row shows its snapshot exists, so the applier waits a moment,
not the whole copy; closing the session on any failure releases it too.

On the primary the dump writes the present into the staging table (drkit.asof.copy); then one
transaction replaces the rewound keys' rows with their rows at T; then the check of the driver
path: the rows no change touched by digest sum against the replica's snapshot, the rewound rows
read back value by value; only then does the staging table take the asked name.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from drkit.asof.copy import (
    KEY_BATCH,
    Copy,
    create_target,
    digests_agree,
    drop_staging,
    finish_copy,
    insert_rows,
    publish,
    staging_of,
    start_copy,
)
from drkit.asof.plan import AsofPlan, AsofRange, parse_table, tag
from drkit.asof.rewind import Rewinder, Row, row_reader
from drkit.asof.run import AsofResult, RowChange, row_changes, table_range
from drkit.asof.snapshot import Pinning, TableShape, describe_table
from drkit.config import Config, NodeConfig
from drkit.dialect import asof as sql
from drkit.dialect.dump import tool_names
from drkit.dialect.rows import begin, commit, rollback, utc_session
from drkit.errors import DrkitError, NodeError
from drkit.index.store import IndexStore
from drkit.io.audit import AuditLog
from drkit.io.extract import copy_table
from drkit.io.facts import gather
from drkit.io.mysql import Session, connect
from drkit.io.programs import find_program

log = logging.getLogger(__name__)

HOW = (
    "the unchanged rows streamed by {tool} | {client}, the rewound ones replaced in one transaction"
)


def run_streamed(
    config: Config,
    store: IndexStore,
    plan: AsofPlan,
    audit: AuditLog,
    *,
    timeout: float,
    pinned: Callable[[str], None] | None = None,
) -> AsofResult | None:
    """The plan's table at T written to its target, or None when this path cannot serve it (no
    primary key, the servers' tools missing, the read lock refused): the driver path then runs.

    `pinned` runs once the position is read, the read lock still held, before the dump starts
    (a test makes the primary write the table there: the copy must not hold it)."""
    from drkit.io.lock import engine_lock

    assert plan.into is not None and plan.destination is not None and plan.where is None
    started = time.monotonic()
    node = config.node(plan.node)
    with engine_lock(config.folder, what="asof --into", command=audit.command):
        reader = connect(node)
        try:
            _limit(reader, timeout)
            table = describe_table(reader, plan.table)
            tools = _tools(reader.version.is_mariadb)
            if not table.key or tools is None:
                return None
            pinning = Pinning.choose(reader, node)  # refuses a MySQL applier that runs
            lock = _ReadLock.take(node, plan.table, timeout)
            if lock is None:
                return None
            with lock:
                start_copy(config, plan, audit, how=HOW.format(tool=tools[0], client=tools[1]))
                result = _Streamed(config, store, plan, audit, reader, table, lock, started)
                return result.run(pinning, pinned)
        finally:
            reader.close()


class _Streamed:
    """One streamed copy: the replica's snapshot, the dump beside the rewind, the fix-up."""

    def __init__(
        self,
        config: Config,
        store: IndexStore,
        plan: AsofPlan,
        audit: AuditLog,
        reader: Session,
        table: TableShape,
        lock: _ReadLock,
        started: float,
    ) -> None:
        self.config, self.store, self.plan, self.audit = config, store, plan, audit
        self.reader, self.table, self.lock, self.started = reader, table, lock, started
        self.timings: dict[str, float] = {}
        assert plan.into is not None and plan.destination is not None
        self.target = plan.into
        self.staging = staging_of(plan.into)  # written and checked there, renamed once verified
        self.primary = config.node(plan.destination)

    def run(self, pinning: Pinning, pinned: Callable[[str], None] | None) -> AsofResult:
        plan, reader, table = self.plan, self.reader, self.table
        begun = time.monotonic()
        position = pinning.before()
        for statement in reader.dialect.read_only_snapshot():
            reader.run(statement)
        position = pinning.inside(position)
        digest = reader.one(sql.table_digest(plan.table, table.columns)) or {}
        count_now, total_now = int(digest.get("n") or 0), int(digest.get("total") or 0)
        self.timings["read"] = time.monotonic() - begun
        if pinned is not None:
            pinned(position)
        writer = connect(self.primary, observer=self.audit)
        created = False
        try:
            writer.run(utc_session())
            create_target(writer, plan, table)
            created = True
            with ThreadPoolExecutor(max_workers=1) as pool:
                # The dump runs beside the archive's decoding: it is the servers' work.
                dumped = pool.submit(self._dump, reader.version.is_mariadb)
                try:
                    rewound = self._rewind(position)
                except BaseException:
                    with contextlib.suppress(Exception):  # the rewind's failure is the news
                        dumped.result()
                    raise
                self.timings["copy"] = dumped.result()
            pinning.after(position)  # MySQL, or an applier that was stopped: it must still be
            copy = self._replace(writer, rewound, count_now, total_now)
            if not copy.verified:
                self._compare_every_row(writer, rewound, copy)
            reader.run(reader.dialect.end_snapshot())
            publish(writer, self.target, copy)
        except BaseException as exc:
            if created:
                drop_staging(writer, self.target, exc)
            raise
        finally:
            writer.close()
        finish_copy(self.audit, copy)
        applied = rewound.found.applied
        result = AsofResult(
            plan.table,
            plan.at,
            plan.node,
            position,
            tag(applied),
            table.columns,
            [],
            count_now,
            rewound.rewinder.undone,
            rewound.transactions,
            table.key,
            timings=self.timings,
            row_count=rewound.count(count_now),
            rows_kept=False,
        )
        result.seconds_to_answer = rewound.answered - self.started
        result.into, result.destination = copy.target, copy.node
        result.written, result.verified = copy.written, copy.verified
        result.checked = copy.checked
        result.timings.update(copy.timings)
        result.seconds = time.monotonic() - self.started
        return result

    def _dump(self, mariadb: bool) -> float:
        begun = time.monotonic()
        copy_table(
            self.reader.node,
            self.primary,
            self.plan.table,
            self.staging,
            mariadb=mariadb,
            snapshot_taken=self.lock.release,
        )
        return time.monotonic() - begun

    def _rewind(self, position: str) -> _Rewound:
        """The range at the pinned position, its changes undone on the touched keys' rows."""
        plan, reader, table = self.plan, self.reader, self.table
        schema, name = parse_table(plan.table)
        begun = time.monotonic()
        facts = dataclasses.replace(
            gather(reader.node),
            gtid_executed_text=position,
            gtid_slave_pos_text=position,
            gtid_binlog_pos_text="",
        )
        found, _ = table_range(
            self.config, self.store, plan.node, schema, name, plan.at, facts, position
        )
        changes = list(
            row_changes(self.config.index.archive_dir, self.store, schema, name, table, found)
        )
        rewinder = Rewinder(table.columns, table.key)
        keys = _touched_keys(rewinder, changes)
        rows, digests = _rows_with_keys(reader, plan.table, table, keys)
        rewinder.load(rows)
        for change in changes:
            rewinder.undo(change.operation, change.before, change.after, change.label)
        self.timings["rewind"] = time.monotonic() - begun
        return _Rewound(
            found=found,
            rewinder=rewinder,
            keys=keys,
            present=len(rows),
            present_digests=sum(digests),
            transactions=len({change.transaction for change in changes}),
            answered=time.monotonic(),
        )

    def _replace(self, writer: Session, rewound: _Rewound, count_now: int, total_now: int) -> Copy:
        """The touched keys' rows replaced by their rows at T, in one transaction; checked."""
        table, target = self.table, self.staging
        copy = Copy(self.target, self.primary.name)
        keys = rewound.keys
        at_t = rewound.rewinder.rows_of(keys)
        begun = time.monotonic()
        writer.run(sql.foreign_key_checks(False))
        writer.run(begin())
        try:
            for first in range(0, len(keys), KEY_BATCH):
                writer.affected(sql.delete_keys(target, table.key, keys[first : first + KEY_BATCH]))
            written = [c for c in table.columns if c not in table.generated]
            insert_rows(writer, target, at_t, table.columns, written)
            writer.run(commit())
        except BaseException:
            with contextlib.suppress(DrkitError):
                writer.run(rollback())
            raise
        writer.run(sql.foreign_key_checks(True))
        copy.timings["write"] = time.monotonic() - begun
        begun = time.monotonic()
        untouched = total_now - rewound.present_digests
        copy.verified, copy.written = digests_agree(
            writer, target, table, keys, at_t, rewound.count(count_now), untouched
        )
        copy.checked = (
            "digests of the unchanged rows (streamed by the servers' tools), values of the "
            "rewound ones"
        )
        copy.timings["verify"] = time.monotonic() - begun
        return copy

    def _compare_every_row(self, writer: Session, rewound: _Rewound, copy: Copy) -> None:
        """The digests disagreed (servers of two versions print a value apart, or the copy is
        wrong): the rows at T, the pinned snapshot's with the rewound ones in place, against
        every row of the copy."""
        from collections import Counter

        begun = time.monotonic()
        table = self.table
        pairs = list(zip(table.columns, table.types, strict=True))
        canonical = row_reader(table.types)
        rewinder, touched = rewound.rewinder, set(rewound.keys)
        _, raw = self.reader.table(sql.select_rows(self.plan.table, pairs))  # still pinned
        expected = Counter(
            row for row in map(canonical, raw) if rewinder.key_of(row) not in touched
        )
        del raw
        expected.update(rewinder.rows_of(rewound.keys))
        _, back = writer.table(sql.select_rows(self.staging, pairs))
        copy.verified = Counter(map(canonical, back)) == expected
        copy.written, copy.checked = len(back), "every row read back"
        copy.timings["verify"] += time.monotonic() - begun


@dataclasses.dataclass(frozen=True)
class _Rewound:
    """The rewind of the touched keys: the rows at T, and what the replica held for them."""

    found: AsofRange
    rewinder: Rewinder
    keys: list[Row]
    present: int  # rows with those keys at the pinned position
    present_digests: int  # their digest sum there
    transactions: int
    answered: float  # monotonic time the rows at T were known

    def count(self, count_now: int) -> int:
        """Rows of the table at T: those no change touched, plus the rewound ones still there."""
        return count_now - self.present + len(self.rewinder.rows_of(self.keys))


class _ReadLock:
    """`LOCK TABLES t READ` in a session of its own on the replica (see the module's docstring)."""

    def __init__(self, session: Session) -> None:
        self._session: Session | None = session
        self._guard = threading.Lock()

    @classmethod
    def take(cls, node: NodeConfig, table: str, timeout: float) -> _ReadLock | None:
        """The lock held, or None when the server refuses it (a privilege, a lock wait too long)."""
        session = connect(node)
        try:
            _limit(session, min(timeout, 60.0))
            session.run(sql.lock_table_read(table))
        except NodeError as exc:
            session.close()
            log.info("no read lock on %s (%s): rows go through the driver", table, exc.message)
            return None
        return cls(session)

    def release(self) -> None:
        """Idempotent, from any thread: closing the session drops the lock."""
        with self._guard:
            session, self._session = self._session, None
        if session is not None:
            with contextlib.suppress(DrkitError):
                session.run(sql.unlock_tables())
            session.close()

    def __enter__(self) -> _ReadLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _tools(mariadb: bool) -> tuple[str, str] | None:
    dumps, clients = tool_names(mariadb)
    dump = next((name for name in dumps if find_program(name)), None)
    client = next((name for name in clients if find_program(name)), None)
    return None if dump is None or client is None else (dump, client)


def _limit(session: Session, timeout: float) -> None:
    for limit in session.dialect.session_time_limits(min(timeout, 600.0)):
        session.run(limit)
    session.run(utc_session())


def _touched_keys(rewinder: Rewinder, changes: Sequence[RowChange]) -> list[Row]:
    """Every key an image of the changes names, once, in the order first met."""
    keys: dict[Row, None] = {}
    for change in changes:
        for image in (change.before, change.after):
            if image is not None:
                keys[rewinder.key_of_image(image)] = None
    return list(keys)


def _rows_with_keys(
    session: Session, name: str, table: TableShape, keys: Sequence[Row]
) -> tuple[list[Row], list[int]]:
    """The rows holding these keys in the session's snapshot, and each one's digest."""
    pairs = list(zip(table.columns, table.types, strict=True))
    canonical = row_reader(table.types)
    width = len(pairs)
    rows: list[Row] = []
    digests: list[int] = []
    for first in range(0, len(keys), KEY_BATCH):
        statement = sql.rows_with_keys(name, pairs, table.key, keys[first : first + KEY_BATCH])
        for raw in session.table(statement)[1]:
            rows.append(canonical(raw[:width]))
            digests.append(int(str(raw[width])))
    return rows, digests
