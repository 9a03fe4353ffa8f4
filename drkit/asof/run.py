"""Gather, rewind and write `drkit asof`: one table as it was at a T earlier than the delayed
replica's position, with no server rewound.

The delayed replica keeps applying while its rows are read. Its position is pinned by reading
MariaDB's `mysql.gtid_slave_pos` inside the same consistent snapshot as the rows: the applier
writes that table in the transaction it applies, so the snapshot sees exactly the position of
its rows (no stop, no privilege beyond SELECT, the delay countdown untouched). Where that table
is not transactional, or on MySQL (whose executed set is not a table the snapshot sees), the
applier must be stopped and the position must read the same before and after the rows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from drkit.asof.images import changes_newest_first
from drkit.asof.plan import (
    AsofPlan,
    AsofRange,
    decide_range,
    parse_table,
    refuse_archive_gaps,
    refuse_unreadable,
    tag,
)
from drkit.asof.rewind import Rewinder, Row, Undone, row_reader
from drkit.binlog.rows import RowImage
from drkit.config import Config, NodeConfig
from drkit.dialect import asof as sql
from drkit.dialect.rows import begin, commit, rollback, utc_session
from drkit.dialect.sql import Sql
from drkit.errors import DrkitError, RefusedError
from drkit.index.position import last_applied
from drkit.index.span import TableSpan, table_span, unreadable_between
from drkit.index.store import IndexStore
from drkit.io.audit import AuditLog
from drkit.io.facts import gather
from drkit.io.mysql import Session, connect
from drkit.model.facts import NodeFacts
from drkit.timeparse import iso, parse_time

INSERT_BATCH_BYTES = 512 * 1024  # one INSERT's text, well under max_allowed_packet
WHERE_BATCH = 500  # changed rows judged by --where per statement
KEY_BATCH = 1000  # rewound rows read back per statement


@dataclass
class AsofResult:
    """The table at T: its columns and rows, what was undone, where it was written."""

    table: str
    at: float
    node: str
    position: str  # the replica's applied position the rows were read at
    applied: str
    columns: tuple[str, ...]
    rows: list[Row]
    rows_read: int
    undone: Undone
    transactions: int
    key: tuple[str, ...]
    where: str | None = None
    into: str | None = None
    destination: str | None = None
    written: int | None = None
    verified: bool | None = None
    checked: str | None = None  # how the copy was compared with the rows
    seconds_to_answer: float = 0.0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def to_json(self, with_rows: bool = True) -> dict[str, object]:
        from drkit.flashback.values import as_json

        data: dict[str, object] = {
            "table": self.table,
            "at": iso(self.at),
            "node": self.node,
            "position": self.position,
            "applied": self.applied,
            "key": list(self.key),
            "where": self.where,
            "rows_read": self.rows_read,
            "transactions": self.transactions,
            "undone": {
                "insert": self.undone.inserts,
                "update": self.undone.updates,
                "delete": self.undone.deletes,
            },
            "row_count": len(self.rows),
            "columns": list(self.columns),
            "into": self.into,
            "destination": self.destination,
            "written": self.written,
            "verified": self.verified,
            "checked": self.checked,
            "seconds_to_answer": round(self.seconds_to_answer, 3),
            "seconds": round(self.seconds, 3),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }
        if with_rows:
            data["rows"] = [[as_json(v) for v in row] for row in self.rows]
        return data

    def summary(self) -> str:
        undone = self.undone
        text = (
            f"{self.table} as of {iso(self.at)}: {len(self.rows)} rows "
            f"({self.rows_read} read on {self.node} at {self.position or '-'}, "
            f"{undone.total} row changes of {self.transactions} transactions undone: "
            f"{undone.inserts} inserts, {undone.updates} updates, {undone.deletes} deletes) "
            f"in {self.seconds_to_answer:.2f}s"
        )
        if self.into:
            verdict = "verified" if self.verified else "NOT VERIFIED"
            text += (
                f"\nwritten to {self.into} on {self.destination}: {self.written} rows, "
                f"{verdict} ({self.checked})"
            )
        return text


# -- preparing ------------------------------------------------------------------------------------


def prepare_asof(
    config: Config,
    store: IndexStore,
    node: NodeConfig,
    table: str,
    at: str,
    *,
    where: str | None = None,
    into: str | None = None,
    now: float | None = None,
) -> AsofPlan:
    """Check what can be checked before reading a row, and plan (RefusedError when it must not)."""
    schema, name = parse_table(table)
    when = parse_time(at, time.time() if now is None else now)
    if where is not None and not where.strip():
        from drkit.errors import UsageError

        raise UsageError("--where needs a condition")
    facts = gather(node)
    if not facts.reachable:
        raise RefusedError(
            f"{node.name} does not answer ({facts.unreachable_reason}): its rows are where the "
            "rewind starts",
            hint="`drkit history --table S.T --key ...` reads one row's versions from the archive alone",
        )
    found = _range(config, store, node.name, schema, name, when, facts, facts.gtid_slave_pos_text)
    target = destination = None
    if into is not None:
        target, destination = _check_into(config, f"{schema}.{name}", into)
    return AsofPlan(
        f"{schema}.{name}",
        when,
        node.name,
        found[0],
        found[1],
        where=where.strip() if where else None,
        into=target,
        destination=destination,
    )


def _range(
    config: Config,
    store: IndexStore,
    node: str,
    schema: str,
    table: str,
    when: float,
    facts: NodeFacts,
    position: str,
) -> tuple[AsofRange, TableSpan]:
    from drkit.io.archive import archived_files

    latest = store.latest()
    applied, in_order = last_applied(facts, store, latest)
    found = decide_range(
        node,
        when,
        oldest=store.oldest(),
        latest=latest,
        after_t=store.first_after_time(when),
        applied=applied,
        applied_in_order=in_order,
        position=position or facts.gtid_executed_text,
    )
    span = table_span(store, schema, table, found.first_id, found.last_id)
    if not found.empty:
        refuse_unreadable(
            f"{schema}.{table}",
            unreadable_between(store, schema, table, found.first_id, found.last_id),
        )
        sizes = {p.name: p.stat().st_size for p in archived_files(config.index.archive_dir)}
        refuse_archive_gaps(sizes, span, str(config.index.archive_dir))
    return found, span


def _check_into(config: Config, table: str, into: str) -> tuple[str, str]:
    """The target on the primary: it must answer, be writable, and not hold the table yet."""
    from drkit.extract.plan import parse_tables
    from drkit.io.mysql import session

    _, target = parse_tables(table, into)
    primary = config.require_primary()
    facts = gather(primary)
    if not facts.reachable:
        raise RefusedError(
            f"{primary.name} does not answer ({facts.unreachable_reason}): --into has nowhere "
            "to write",
            hint="leave out --into: --json or --csv FILE give the rows without a server",
        )
    if facts.read_only:
        raise RefusedError(
            f"{primary.name} is read-only (fenced?): --into cannot write there",
            hint="leave out --into, or make it writable again first",
        )
    with session(primary) as opened:
        if opened.one(opened.dialect.table_type(target)) is not None:
            schema, _, name = target.partition(".")
            raise RefusedError(
                f"{target} exists on {primary.name}: asof never overwrites a table",
                hint=f"choose a name that does not exist: --into {schema}.{name}_2",
            )
    return target, primary.name


# -- running --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableShape:
    columns: tuple[str, ...]
    types: tuple[str, ...]
    generated: tuple[str, ...]
    key: tuple[str, ...]
    definition: str


def run_asof(
    config: Config,
    store: IndexStore,
    plan: AsofPlan,
    audit: AuditLog,
    *,
    timeout: float = 3600.0,
) -> AsofResult:
    """Read, pin, rewind (and write with --into): the plan's table as of its T."""
    started = time.monotonic()
    node = config.node(plan.node)
    schema, name = parse_table(plan.table)
    timings: dict[str, float] = {}
    session = connect(node)
    try:
        for limit in session.dialect.session_time_limits(min(timeout, 600.0)):
            session.run(limit)
        session.run(utc_session())
        table = describe_table(session, plan.table)
        begun = time.monotonic()
        digest = plan.into is not None and bool(table.key) and plan.where is None
        snapshot = read_snapshot(session, plan.table, table, where=plan.where, digest=digest)
        timings["read"] = time.monotonic() - begun
        facts = dataclasses.replace(
            gather(node),
            gtid_executed_text=snapshot.position,
            gtid_slave_pos_text=snapshot.position,
            gtid_binlog_pos_text="",
        )
        found, _ = _range(config, store, node.name, schema, name, plan.at, facts, snapshot.position)
        begun = time.monotonic()
        rewinder = Rewinder(table.columns, table.key)
        rewinder.load(snapshot.rows)
        read_count = len(snapshot.rows)
        untouched: int | None = None
        transactions = _undo(config.index.archive_dir, store, rewinder, schema, name, table, found)
        timings["rewind"] = time.monotonic() - begun
        if plan.where:
            result_rows = _where(session, plan.where, table, rewinder, snapshot.matching)
        else:
            result_rows = list(rewinder.rows())
        if snapshot.digests is not None:
            untouched = _untouched_digest(snapshot, rewinder)
    finally:
        session.close()
    position = snapshot.position
    result = AsofResult(
        plan.table,
        plan.at,
        node.name,
        position,
        tag(found.applied),
        table.columns,
        result_rows,
        read_count,
        rewinder.undone,
        transactions,
        table.key,
        where=plan.where,
        timings=timings,
    )
    result.seconds_to_answer = time.monotonic() - started
    if plan.into:
        _write(config, plan, table, result, audit, rewinder, untouched)
    result.seconds = time.monotonic() - started
    return result


@dataclass(frozen=True)
class Snapshot:
    """A table's rows on one consistent snapshot, and the applied position they are at."""

    position: str
    rows: list[Row]  # canonical values, table column order
    matching: list[Row] | None = None  # the rows satisfying --where, when one was given
    digests: list[int] | None = None  # each row's digest (`dialect.asof.row_digest`), if asked


def read_snapshot(
    session: Session,
    name: str,
    table: TableShape,
    *,
    where: str | None = None,
    digest: bool = False,
    pinned: Callable[[str], None] | None = None,
) -> Snapshot:
    """Every row of the table and the position they are at, on one read-only snapshot.

    `pinned` runs once the position is read, before the rows are (a test makes the replica
    apply more there: the rows must still be those of the position).
    """
    node = session.node
    pinning = _Pinning.choose(session, node)
    position = pinning.before()
    for statement in session.dialect.read_only_snapshot():
        session.run(statement)
    position = pinning.inside(position)
    if pinned is not None:
        pinned(position)
    pairs = list(zip(table.columns, table.types, strict=True))
    canonical = row_reader(table.types)
    _, raw = session.table(sql.select_rows(name, pairs, digest=digest))
    digests = None
    if digest:
        width = len(pairs)
        digests = [int(row[width]) for row in raw]
        rows = [canonical(row[:width]) for row in raw]
    else:
        rows = [canonical(row) for row in raw]
    del raw
    matching = None
    if where is not None:
        _, raw = _judged(session, sql.rows_where(name, pairs, where), where)
        matching = [canonical(row) for row in raw]
    session.run(session.dialect.end_snapshot())
    pinning.after(position)
    return Snapshot(position, rows, matching, digests)


def describe_table(session: Session, table: str) -> TableShape:
    found = session.rows(sql.column_types(table))
    if not found:
        raise RefusedError(
            f"{table} does not exist on {session.node.name}: there are no current rows to rewind",
            hint=f"`drkit events --table {table}` shows when it was dropped or created; "
            "`drkit inspect --at T` or `drkit extract` after `drkit recover --before` reach it",
        )
    columns = tuple(str(r["name"]) for r in found)
    types = tuple(str(r["data_type"]).lower() for r in found)
    generated = tuple(str(r["name"]) for r in found if int(r["generated"] or 0))
    key = tuple(str(r["name"]) for r in session.rows(sql.primary_key(table)))
    create = session.one(session.dialect.show_create_table(table)) or {}
    return TableShape(columns, types, generated, key, str(create.get("Create Table") or ""))


class _Pinning:
    """How the position of the rows read is known (see the module's docstring)."""

    def __init__(self, session: Session, node: NodeConfig, in_snapshot: bool) -> None:
        self.session = session
        self.node = node
        self.in_snapshot = in_snapshot

    @classmethod
    def choose(cls, session: Session, node: NodeConfig) -> _Pinning:
        if session.version.is_mariadb:
            engine = session.one(sql.slave_pos_engine()) or {}
            if str(engine.get("engine") or "").lower() == "innodb" and not int(
                engine.get("others") or 0
            ):
                return cls(session, node, True)
        facts = gather(node)
        if facts.replica is not None and facts.replica.applier_running:
            raise RefusedError(
                f"{node.name} applies while its rows would be read, and this server keeps no "
                "applied position a snapshot can see (MySQL, or a non-InnoDB "
                "mysql.gtid_slave_pos): the rows could not be tied to a position",
                hint="`drkit freeze` first, then `drkit resume` after the answer",
            )
        return cls(session, node, False)

    def before(self) -> str:
        if self.in_snapshot:
            return ""
        return self._now()

    def inside(self, before: str) -> str:
        if not self.in_snapshot:
            return before
        rows = self.session.rows(sql.slave_pos_rows())
        return ",".join(f"{r['domain_id']}-{r['server_id']}-{r['seq_no']}" for r in rows)

    def after(self, position: str) -> None:
        if not self.in_snapshot and self._now() != position:
            raise RefusedError(
                f"{self.node.name} applied transactions while its rows were read "
                f"({position} -> {self._now()}): the rows are not tied to one position",
                hint="`drkit freeze` first, then `drkit resume` after the answer",
            )

    def _now(self) -> str:
        row = self.session.one(sql.executed_position(self.session.version.is_mariadb)) or {}
        return str(row.get("pos") or "").replace("\n", "")


def _undo(
    archive: Path,
    store: IndexStore,
    rewinder: Rewinder,
    schema: str,
    name: str,
    table: TableShape,
    found: AsofRange,
) -> int:
    """Undo, newest first, every row change of the table in the range; transactions read."""
    if found.empty:
        return 0
    seen: set[int] = set()
    checked: dict[tuple[str, ...], Mapping[str, str] | None] = {}
    event = -1
    names: Mapping[str, str] | None = None
    for change, row in changes_newest_first(
        archive, store, schema, name, found.first_id, found.last_id
    ):
        label = f"#{change.id}" + (f" ({change.gtid})" if change.gtid else "")
        seen.add(change.id)
        if row.event_pos != event:  # the rows of one event share their columns: check once
            event = row.event_pos
            names = _names(row, table, label, checked)
        before, after = row.before, row.after
        if names is not None:
            before = _renamed(before, names)
            after = _renamed(after, names)
        rewinder.undo(row.operation, before, after, label)
    return len(seen)


def _names(
    row: RowImage,
    table: TableShape,
    label: str,
    checked: dict[tuple[str, ...], Mapping[str, str] | None],
) -> Mapping[str, str] | None:
    """None when the images' labels are the table's columns; a label -> column map when the
    table map carried no names (positions); RefusedError when the images cannot be used."""
    found = [tuple(image) for image in (row.before, row.after) if image is not None]
    labels = found[0]
    if any(other != labels for other in found[1:]) or len(labels) != len(table.columns):
        raise RefusedError(
            f"{label}: its row images of {row.schema}.{row.table} are not FULL (they hold "
            f"{len(labels)} of {len(table.columns)} columns: binlog_row_image was not FULL "
            "when it was written): the columns left out cannot be put back",
            hint="set binlog_row_image=FULL on the primary; for a T after the replica's "
            "position, `drkit inspect --at T`",
        )
    if labels in checked:
        return checked[labels]
    mapping: Mapping[str, str] | None
    if labels == table.columns:
        mapping = None
    elif all(column.startswith("@") for column in labels):
        mapping = dict(zip(labels, table.columns, strict=True))  # no names: by position
    else:
        raise RefusedError(
            f"{label}: the binlog's columns of {row.schema}.{row.table} "
            f"({', '.join(labels)}) are not the table's on the replica "
            f"({', '.join(table.columns)}): its definition changed in a way the index did not see",
            hint="choose a T after the change; `drkit events --table S.T` lists the table's changes",
        )
    checked[labels] = mapping
    return mapping


def _renamed(
    image: Mapping[str, object] | None, names: Mapping[str, str]
) -> Mapping[str, object] | None:
    return None if image is None else {names[k]: v for k, v in image.items()}


def _where(
    session: Session,
    where: str,
    table: TableShape,
    rewinder: Rewinder,
    matching_now: list[Row] | None,
) -> list[Row]:
    """The rows at T that satisfy --where: unchanged rows as the server judged them on the
    snapshot, changed ones judged on their T values sent as literals."""
    touched = rewinder.touched
    kept = [row for row in matching_now or () if rewinder.key_of(row) not in touched]
    changed = rewinder.rows_of(touched)
    for first in range(0, len(changed), WHERE_BATCH):
        batch = changed[first : first + WHERE_BATCH]
        images = [dict(zip(table.columns, row, strict=True)) for row in batch]
        _, matched = _judged(session, sql.matching_rows(images, table.columns, where), where)
        kept.extend(batch[int(str(m[0]))] for m in matched)
    if table.key:
        kept.sort(key=lambda row: _order(rewinder.key_of(row)))
    return kept


def _judged(session: Session, statement: Sql, where: str) -> tuple[tuple[str, ...], list[Row]]:
    """A statement carrying the operator's --where: the server refusing it is bad usage."""
    from drkit.errors import NodeError, UsageError

    try:
        return session.table(statement)
    except NodeError as exc:
        raise UsageError(
            f"--where {where!r}: {session.node.name} refused the condition: "
            f"{exc.message.rpartition('failed: ')[2]}"
        ) from None


def _order(key: Row) -> tuple[object, ...]:
    return tuple((value is None, value) for value in key)


def _write(
    config: Config,
    plan: AsofPlan,
    table: TableShape,
    result: AsofResult,
    audit: AuditLog,
    rewinder: Rewinder,
    untouched: int | None,
) -> None:
    """Create the target on the primary, insert the rows in one transaction, and check them."""
    from drkit.checks.privileges import require_privileges
    from drkit.io.lock import engine_lock

    assert plan.into is not None and plan.destination is not None
    primary = config.node(plan.destination)
    begun = time.monotonic()
    with engine_lock(config.folder, what="asof --into", command=audit.command):
        require_privileges([primary], ["extract"], "asof --into")
        _check_into(config, plan.table, plan.into)  # again, under the lock
        audit.event(
            "asof-into-started",
            node=primary.name,
            table=plan.table,
            target=plan.into,
            at=iso(plan.at),
        )
        session = connect(primary, observer=audit)
        try:
            d = session.dialect
            session.run(utc_session())
            schema = plan.into.partition(".")[0]
            exists = session.one(d.schema_exists(schema)) or {}
            if not int(next(iter(exists.values()), 0) or 0):
                session.run(d.create_schema(schema))
            session.run(
                d.create_table_like_source(
                    table.definition,
                    plan.table,
                    plan.into,
                    rename_foreign_keys=plan.into != plan.table,
                )
            )
            written = [c for c in table.columns if c not in table.generated]
            result.timings["prepare_write"] = time.monotonic() - begun
            begun = time.monotonic()
            session.run(sql.foreign_key_checks(False))
            session.run(begin())
            try:
                _insert(session, plan.into, result.rows, table.columns, written)
                session.run(commit())
            except BaseException:
                with contextlib.suppress(DrkitError):
                    session.run(rollback())
                raise
            session.run(sql.foreign_key_checks(True))
            result.timings["write"] = time.monotonic() - begun
            begun = time.monotonic()
            result.verified, result.written, result.checked = _verify(
                session, plan.into, table, result.rows, rewinder, untouched
            )
            result.timings["verify"] = time.monotonic() - begun
        finally:
            session.close()
    result.into, result.destination = plan.into, primary.name
    audit.event(
        "asof-into-done",
        node=primary.name,
        target=plan.into,
        rows=result.written,
        verified=result.verified,
        checked=result.checked,
    )


def _untouched_digest(snapshot: Snapshot, rewinder: Rewinder) -> int:
    """The digest sum of the rows read that no undone change concerned: at T they are as read."""
    assert snapshot.digests is not None
    key_of, touched = rewinder.key_of, rewinder.touched
    return sum(
        digest
        for row, digest in zip(snapshot.rows, snapshot.digests, strict=True)
        if key_of(row) not in touched
    )


def _verify(
    session: Session,
    target: str,
    table: TableShape,
    rows: Sequence[Row],
    rewinder: Rewinder,
    untouched: int | None,
) -> tuple[bool, int, str]:
    """Whether the copy holds exactly `rows`: (verdict, rows found, how it was checked).

    With digests: the rows no change concerned are compared by digest sum against the same rows
    on the replica (the servers print them, so one server version gives one digest), and the
    rewound rows are read back and compared value by value. Without them (no primary key,
    --where), or when the sums differ, every row is read back and compared.
    """
    pairs = list(zip(table.columns, table.types, strict=True))
    canonical = row_reader(table.types)
    if untouched is not None:
        found = session.one(sql.table_digest(target, table.columns)) or {}
        count, total = int(found.get("n") or 0), int(found.get("total") or 0)
        keys = list(rewinder.touched)
        back: list[Row] = []
        back_total = 0
        width = len(pairs)
        for first in range(0, len(keys), KEY_BATCH):
            statement = sql.rows_with_keys(
                target, pairs, table.key, keys[first : first + KEY_BATCH]
            )
            for raw in session.table(statement)[1]:
                back.append(canonical(raw[:width]))
                back_total += int(str(raw[width]))
        if (
            count == len(rows)
            and total - back_total == untouched
            and _same_rows(rewinder.rows_of(keys), back, table)
        ):
            return True, count, "digests of the unchanged rows, values of the rewound ones"
    _, everything = session.table(sql.select_rows(target, pairs))
    found_rows = [canonical(row) for row in everything]
    return _same_rows(rows, found_rows, table), len(found_rows), "every row read back"


def _insert(
    session: Session,
    target: str,
    rows: Sequence[Row],
    columns: Sequence[str],
    written: Sequence[str],
) -> None:
    """The rows as multi-row INSERTs; the next statement's text is built in a thread while the
    server runs the current one (the driver lets the GIL go while it waits)."""
    from concurrent.futures import ThreadPoolExecutor

    statements = (sql.insert_rows(target, written, b) for b in _batches(rows, columns, written))
    with ThreadPoolExecutor(max_workers=1) as pool:
        upcoming = pool.submit(next, statements, None)
        while True:
            statement = upcoming.result()
            if statement is None:
                return
            upcoming = pool.submit(next, statements, None)
            session.run(statement)


def _batches(
    rows: Sequence[Row], columns: Sequence[str], written: Sequence[str]
) -> Iterator[list[Row]]:
    """The written columns' values, in batches whose INSERT text stays near INSERT_BATCH_BYTES."""
    keep = [columns.index(c) for c in written]
    every = len(keep) == len(columns)
    batch: list[Row] = []
    size = 0
    for row in rows:
        batch.append(row if every else tuple([row[i] for i in keep]))
        size += sum([len(v) if isinstance(v, str | bytes) else 8 for v in row]) + 8
        if size >= INSERT_BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _same_rows(expected: Sequence[Row], found: Sequence[Row], table: TableShape) -> bool:
    """The rows read back equal the rows written (as multisets: the server orders them)."""
    from collections import Counter

    return Counter(expected) == Counter(found)
