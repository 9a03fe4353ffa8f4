"""Prepare and run `drkit asof`: one table as it was at a T earlier than the delayed replica's
position, with no server rewound.

The replica's rows and their position come from one snapshot (drkit.asof.snapshot), the range
to undo is decided again at that position (drkit.asof.plan), the archive's row changes are
undone newest first (drkit.asof.images, drkit.asof.rewind), and --into writes the result
(drkit.asof.copy).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from drkit.asof.copy import check_into, untouched_digest, write_copy
from drkit.asof.images import changes_newest_first
from drkit.asof.plan import (
    AsofPlan,
    AsofRange,
    decide_range,
    parse_table,
    refuse_archive_gaps,
    refuse_skipped,
    refuse_unreadable,
    tag,
)
from drkit.asof.rewind import Rewinder, Row, Undone
from drkit.asof.snapshot import TableShape, describe_table, read_snapshot, where_query
from drkit.binlog.rows import RowImage
from drkit.config import Config, NodeConfig
from drkit.dialect import asof as sql
from drkit.dialect.rows import utc_session
from drkit.errors import IndexBehind, RefusedError
from drkit.index.position import last_applied
from drkit.index.records import IndexedTransaction
from drkit.index.span import TableSpan, table_span, unreadable_between
from drkit.index.store import IndexStore
from drkit.io.audit import AuditLog
from drkit.io.facts import gather
from drkit.io.mysql import Session, connect
from drkit.model.facts import NodeFacts
from drkit.timeparse import iso, parse_time

WHERE_BATCH = 500  # changed rows judged by --where per statement


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
    row_count: int | None = None  # rows at T, when `rows` does not hold them all
    rows_kept: bool = True  # False: the rows went server to server (--into), `rows` is empty

    @property
    def count(self) -> int:
        return len(self.rows) if self.row_count is None else self.row_count

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
            "row_count": self.count,
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
        if with_rows and self.rows_kept:
            data["rows"] = [[as_json(v) for v in row] for row in self.rows]
        return data

    def summary(self) -> str:
        undone = self.undone
        text = (
            f"{self.table} as of {iso(self.at)}: {self.count} rows "
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
    _refuse_login(facts)
    if not facts.reachable:
        raise RefusedError(
            f"{node.name} does not answer ({facts.unreachable_reason}): its rows are where the "
            "rewind starts",
            hint="`drkit history --table S.T --key ...` reads one row's versions from the archive alone",
        )
    _require_read(node, f"{schema}.{name}")
    found, span = table_range(
        config, store, node.name, schema, name, when, facts, facts.gtid_slave_pos_text
    )
    target = destination = None
    if into is not None:
        target, destination = check_into(config, f"{schema}.{name}", into)
    return AsofPlan(
        f"{schema}.{name}",
        when,
        node.name,
        found,
        span,
        where=where.strip() if where else None,
        into=target,
        destination=destination,
    )


def _refuse_login(facts: NodeFacts) -> None:
    """A refused login or TLS setting is a configuration problem (exit 2), not a dead node."""
    from drkit.errors import ConfigError
    from drkit.model.facts import Unreachable

    if facts.unreachable_kind in (Unreachable.AUTH, Unreachable.CONFIG):
        raise ConfigError(
            f"{facts.name} refused drkit's login ({facts.unreachable_reason})",
            hint="fix the password, account or TLS settings in the config; nothing was read",
        )


def _require_read(node: NodeConfig, table: str) -> None:
    """A lacking SELECT is said before anything is read (exit 2), not as a driver error later."""
    from drkit.asof.privileges import require_read
    from drkit.io.mysql import session

    with session(node) as opened:
        require_read(opened, table)


def table_range(
    config: Config,
    store: IndexStore,
    node: str,
    schema: str,
    table: str,
    when: float,
    facts: NodeFacts,
    position: str,
) -> tuple[AsofRange, TableSpan]:
    from drkit.compression import binlog_size
    from drkit.io.archive import archived_files

    latest = store.latest()
    behind = None
    try:
        applied, in_order = last_applied(facts, store, latest)
    except IndexBehind as exc:  # unknown, never "applied nothing": refused after T's own checks
        applied, in_order, behind = None, True, exc.message
    found = decide_range(
        node,
        when,
        oldest=store.oldest(),
        latest=latest,
        after_t=store.first_after_time(when),
        applied=applied,
        applied_in_order=in_order,
        position=position or facts.gtid_executed_text,
        index_behind=behind,
    )
    span = table_span(store, schema, table, found.first_id, found.last_id)
    if not found.empty:
        refuse_skipped(
            f"{schema}.{table}", node, _skipped_in(config, store, node, schema, table, found)
        )
        refuse_unreadable(
            f"{schema}.{table}",
            unreadable_between(store, schema, table, found.first_id, found.last_id),
        )
        # Decompressed sizes: they are compared with binlog offsets.
        sizes = {p.name: binlog_size(p) for p in archived_files(config.index.archive_dir)}
        refuse_archive_gaps(sizes, span, str(config.index.archive_dir))
    return found, span


def _skipped_in(
    config: Config, store: IndexStore, node: str, schema: str, table: str, found: AsofRange
) -> list[IndexedTransaction]:
    """The transactions of the table in the range that drkit's recoveries skipped on the node,
    oldest first (a skip made by hand is caught by the rewind's checks instead)."""
    from drkit.checks.record import skipped_ever
    from drkit.io.audit import read_audit

    name = f"{schema}.{table}"
    found_skipped = []
    for gtid in skipped_ever(read_audit(config.audit_path), node):
        tx = store.by_gtid(gtid)
        in_range = tx is not None and found.first_id <= tx.id <= found.last_id
        if in_range and tx is not None and any(rows.table == name for rows in tx.tables):
            found_skipped.append(tx)
    return sorted(found_skipped, key=lambda tx: tx.id)


# -- running --------------------------------------------------------------------------------------


def run_asof(
    config: Config,
    store: IndexStore,
    plan: AsofPlan,
    audit: AuditLog,
    *,
    timeout: float = 3600.0,
) -> AsofResult:
    """Read, pin, rewind (and write with --into): the plan's table as of its T."""
    if plan.into is not None and plan.where is None:
        from drkit.asof.streamed import run_streamed

        streamed = run_streamed(config, store, plan, audit, timeout=timeout)
        if streamed is not None:
            return streamed
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
        found, _ = table_range(
            config, store, node.name, schema, name, plan.at, facts, snapshot.position
        )
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
            untouched = untouched_digest(snapshot, rewinder)
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
        copy = write_copy(config, plan, table, result.rows, audit, rewinder, untouched)
        result.into, result.destination = copy.target, copy.node
        result.written, result.verified, result.checked = copy.written, copy.verified, copy.checked
        result.timings.update(copy.timings)
    result.seconds = time.monotonic() - started
    return result


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
    seen: set[int] = set()
    for change in row_changes(archive, store, schema, name, table, found):
        seen.add(change.transaction)
        rewinder.undo(change.operation, change.before, change.after, change.label)
    return len(seen)


class RowChange(NamedTuple):
    """One archived row change, its images keyed by the table's column names."""

    transaction: int  # its index id
    label: str  # `#42 (0-1-28)`, for messages
    operation: str
    before: Mapping[str, object] | None
    after: Mapping[str, object] | None


def row_changes(
    archive: Path,
    store: IndexStore,
    schema: str,
    name: str,
    table: TableShape,
    found: AsofRange,
) -> Iterator[RowChange]:
    """Every row change of the table in the range, newest first (RefusedError when the images
    cannot be used: not FULL, or columns the table does not have)."""
    if found.empty:
        return
    checked: dict[tuple[str, ...], Mapping[str, str] | None] = {}
    event = -1
    names: Mapping[str, str] | None = None
    for change, row in changes_newest_first(
        archive, store, schema, name, found.first_id, found.last_id
    ):
        label = f"#{change.id}" + (f" ({change.gtid})" if change.gtid else "")
        if row.event_pos != event:  # the rows of one event share their columns: check once
            event = row.event_pos
            names = _names(row, table, label, checked)
        before, after = row.before, row.after
        if names is not None:
            before = _renamed(before, names)
            after = _renamed(after, names)
        yield RowChange(change.id, label, row.operation, before, after)


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
        _, matched = where_query(session, sql.matching_rows(images, table.columns, where), where)
        kept.extend(batch[int(str(m[0]))] for m in matched)
    if table.key:
        kept.sort(key=lambda row: _order(rewinder.key_of(row)))
    return kept


def _order(key: Row) -> tuple[object, ...]:
    return tuple((value is None, value) for value in key)
