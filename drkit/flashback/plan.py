"""The flashback plan (pure): which transactions to reverse, on which tables, and how each row
image becomes a reverse statement; every refusal names what was seen and the way out.

The plan holds no rows: a transaction of a million rows is streamed from the archive when the
plan runs (drkit.flashback.run), and each image goes through `reverse_statement` here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from drkit.binlog.rows import RowImage
from drkit.dialect import rows as sql
from drkit.dialect.sql import Sql
from drkit.errors import RefusedError
from drkit.index.records import IndexedTransaction

ABORT = "abort"
SKIP = "skip"


@dataclass(frozen=True)
class TableFacts:
    """A table as the primary has it now (`exists` False when it is gone)."""

    table: str
    exists: bool
    columns: tuple[str, ...] = ()
    generated: tuple[str, ...] = ()
    key: tuple[str, ...] = ()
    cascades: tuple[str, ...] = ()  # "shop.lines (lines_ibfk_1): ON DELETE CASCADE"
    triggers: tuple[str, ...] = ()


@dataclass(frozen=True)
class TargetFacts:
    """One target transaction: the index's record, its row events, what the archive holds."""

    transaction: IndexedTransaction
    row_events: tuple[tuple[int, int], ...]
    archive_problem: str | None = None
    binlog_columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    binary_json: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class FlashbackFacts:
    """Everything the plan decides on, gathered before anything is changed."""

    node: str
    reachable: bool
    targets: tuple[TargetFacts, ...]
    tables: Mapping[str, TableFacts]
    table_filter: str | None = None
    on_conflict: str = ABORT
    sql_file: Path | None = None


@dataclass(frozen=True)
class TablePlan:
    """How one table's images become statements: the columns written, compared, and the key."""

    table: str
    write: tuple[str, ...]
    compare: tuple[str, ...]
    key: tuple[str, ...]


@dataclass(frozen=True)
class PlannedTarget:
    id: int
    gtid: str | None
    file: str
    label: str
    row_events: tuple[tuple[int, int], ...]
    rows: tuple[int, int, int]  # inserts, updates, deletes in the tables reversed


@dataclass(frozen=True)
class FlashbackPlan:
    """Reverse these transactions' row changes, newest first, as one transaction on `node`."""

    node: str
    targets: tuple[PlannedTarget, ...]  # newest first
    tables: Mapping[str, TablePlan]
    on_conflict: str
    sql_file: Path | None
    notes: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        return sum(sum(t.rows) for t in self.targets)

    def render(self) -> str:
        where = f"written to {self.sql_file}" if self.sql_file else f"on {self.node}"
        lines = [
            f"flashback: reverse {self.rows} row changes of {len(self.targets)} "
            f"transaction{'s' if len(self.targets) != 1 else ''}, newest first, as one "
            f"transaction {where}"
        ]
        for target in self.targets:
            ins, upd, dele = target.rows
            lines.append(f"  {target.label}  (undo: {dele} deletes, {upd} updates, {ins} inserts)")
        for table in self.tables.values():
            lines.append(
                f"  {table.table}: each statement acts only on a row holding the image the "
                f"disaster left ({len(table.compare)} columns compared NULL-safe"
                + (f", key {', '.join(table.key)}" if table.key else ", no primary key")
                + ")"
            )
        lines.append(
            "  a row changed since is a conflict: "
            + (
                "nothing is applied and the conflicts are listed (exit 3)"
                if self.on_conflict == ABORT
                else "it is skipped and reported, the rest is applied"
            )
        )
        if not self.sql_file:
            lines.append("  afterwards every affected row is compared with its before image")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        return {
            "node": self.node,
            "sql_file": str(self.sql_file) if self.sql_file else None,
            "on_conflict": self.on_conflict,
            "rows": self.rows,
            "targets": [
                {
                    "id": t.id,
                    "gtid": t.gtid,
                    "file": t.file,
                    "rows": {"insert": t.rows[0], "update": t.rows[1], "delete": t.rows[2]},
                }
                for t in self.targets
            ],
            "tables": {
                name: {"compare": list(t.compare), "write": list(t.write), "key": list(t.key)}
                for name, t in self.tables.items()
            },
            "notes": list(self.notes),
        }


def plan_flashback(facts: FlashbackFacts) -> FlashbackPlan:
    """The plan, or RefusedError saying what was seen, why it is unsafe, and what to do."""
    if not facts.targets:
        raise RefusedError(
            "no transaction to reverse: the index holds no row change in that range",
            hint="check `drkit events --table S.T`",
        )
    notes: list[str] = []
    planned: list[PlannedTarget] = []
    wanted: dict[str, set[str]] = {}  # table -> operations reversed in it
    ordered = sorted(facts.targets, key=lambda t: t.transaction.id, reverse=True)
    for target in ordered:
        tx = target.transaction
        _refuse_ddl(tx)
        if target.archive_problem:
            raise RefusedError(
                f"{tx.label}: {target.archive_problem}",
                hint="flashback reads the row images from drkit's archive; without them, "
                "`drkit recover --before` on the delayed replica (if it has not applied it) "
                "or a backup plus the archive are the ways back",
            )
        tables = [t for t in tx.tables if facts.table_filter in (None, t.table)]
        if not tables or not any(t.inserts + t.updates + t.deletes for t in tables):
            raise RefusedError(
                f"{tx.label} changed no row of {facts.table_filter or 'any table'}",
                hint="name a transaction that changed rows (`drkit events --table S.T`)",
            )
        rows = (
            sum(t.inserts for t in tables),
            sum(t.updates for t in tables),
            sum(t.deletes for t in tables),
        )
        for t in tables:
            ops = wanted.setdefault(t.table, set())
            if t.deletes:
                ops.add("delete")
            if t.updates:
                ops.add("update")
            if t.inserts:
                ops.add("insert")
            _refuse_unnamed(tx, t.table, target.binlog_columns.get(t.table, ()))
            _refuse_binary_json(tx, t.table, target.binary_json.get(t.table, ()))
        planned.append(PlannedTarget(tx.id, tx.gtid, tx.file, tx.label, target.row_events, rows))
    columns = _binlog_columns(ordered)
    table_plans: dict[str, TablePlan] = {}
    for table, ops in sorted(wanted.items()):
        binlog = columns.get(table, ())
        if facts.reachable:
            table_plans[table] = _table_plan(facts.tables.get(table), table, binlog, ops, notes)
        else:
            table_plans[table] = TablePlan(table, binlog, binlog, ())
    if not facts.reachable:
        notes.append(
            f"{facts.node} did not answer: the statements use the binlog's columns and primary "
            "key only (generated columns, cascading children and column changes not checked)"
        )
    return FlashbackPlan(
        facts.node, tuple(planned), table_plans, facts.on_conflict, facts.sql_file, tuple(notes)
    )


def _refuse_ddl(tx: IndexedTransaction) -> None:
    if tx.kind == "ddl" or (tx.destructive and tx.destructive.category in _DDL_CLASSES):
        raise RefusedError(
            f"{tx.label} is DDL: the binlog holds no row images of what it removed, so it "
            "cannot be reversed row by row",
            hint=f"roll the delayed replica to just before it (`drkit recover --before {tx.id}`) "
            "and copy the table back (`drkit extract --table S.T`); if the delayed replica "
            "has applied it too, a backup plus the archive is the way back",
        )


_DDL_CLASSES = {"drop_table", "truncate", "drop_database", "rename_table", "alter_table"}


def partial_images(label: str, table: str) -> RefusedError:
    """The refusal for row images that lack columns (binlog_row_image was not FULL)."""
    return RefusedError(
        f"{label}: the row images of {table} are not full (binlog_row_image was not "
        "FULL), so the state a row must hold cannot be compared",
        hint="set binlog_row_image=FULL on the primary for future flashbacks; for this "
        "one, `drkit recover` and `drkit extract`",
    )


def _refuse_unnamed(tx: IndexedTransaction, table: str, labels: Sequence[str]) -> None:
    if labels and any(label.startswith("@") for label in labels):
        raise RefusedError(
            f"{tx.label}: the binlog's table map of {table} carries no column names "
            "(binlog_row_metadata was not FULL), so its values cannot be placed by name",
            hint="set binlog_row_metadata=FULL (and binlog_row_image=FULL) on the primary for "
            "future flashbacks; for this one, `drkit recover` and `drkit extract`",
        )


def _refuse_binary_json(tx: IndexedTransaction, table: str, columns: Sequence[str]) -> None:
    if columns:
        raise RefusedError(
            f"{tx.label}: {table} has MySQL binary JSON columns ({', '.join(columns)}), which "
            "drkit cannot turn back into SQL yet",
            hint="`drkit recover` and `drkit extract` from the delayed replica, or "
            "`mysqlbinlog -v` and a hand-written reversal",
        )


def _binlog_columns(targets: Sequence[TargetFacts]) -> dict[str, tuple[str, ...]]:
    """Each table's column labels from the newest target's table maps that name it."""
    found: dict[str, tuple[str, ...]] = {}
    for target in targets:
        for table, labels in target.binlog_columns.items():
            found.setdefault(table, labels)
    return found


def _table_plan(
    table: TableFacts | None,
    name: str,
    binlog: tuple[str, ...],
    ops: set[str],
    notes: list[str],
) -> TablePlan:
    if table is None or not table.exists:
        raise RefusedError(
            f"{name} does not exist on the primary any more: there is no row to put back into",
            hint=f"recreate it from the delayed replica (`drkit extract --table {name}`)",
        )
    missing = [c for c in binlog if c not in table.columns]
    if missing:
        raise RefusedError(
            f"{name} changed since: the binlog's column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} no longer exist{'s' if len(missing) == 1 else ''} on the "
            "primary, so the images cannot be mapped by name",
            hint="restore the columns, or copy the rows from the delayed replica "
            f"(`drkit extract --table {name} --into {name}_rescued`) and merge them by hand",
        )
    cascades = table.cascades if ops & {"delete", "update"} else ()
    if cascades:
        raise RefusedError(
            f"{name} has children the server changes with it ({'; '.join(cascades)}): "
            "those changes are not in the binlog, so flashback would bring the parent rows "
            "back without them",
            hint=f"roll the delayed replica to just before the disaster and copy {name} and "
            "its children back (`drkit recover --before ID`, `drkit extract`), or restore "
            "the children from a backup",
        )
    extra = [c for c in table.columns if c not in binlog and c not in table.generated]
    if extra:
        notes.append(
            f"{name}: column{'s' if len(extra) > 1 else ''} {', '.join(extra)} added since: "
            "restored rows get their defaults, and they are not compared"
        )
    if table.triggers:
        notes.append(
            f"{name}: its triggers fire on the reverse statements too: {', '.join(table.triggers)}"
        )
    usable = tuple(c for c in binlog if c not in table.generated)
    key = tuple(c for c in table.key if c in usable)
    if not table.key:
        notes.append(
            f"{name} has no primary key: a restored deleted row cannot be checked for a "
            "duplicate, and a matching row is any row with equal values"
        )
    return TablePlan(name, usable, usable, key)


@dataclass(frozen=True)
class Reverse:
    """One reverse statement and what it undoes, for conflicts and verification."""

    table: str
    operation: str  # the original operation: insert, update, delete
    sql: Sql
    key: Mapping[str, object]  # the row's key values (or the whole image without a key)
    restored: Mapping[str, object] | None  # the image that must hold afterwards (None: gone)
    left: Mapping[str, object]  # the image the disaster left, that the row must hold now


def reverse_statement(row: RowImage, table: TablePlan) -> Reverse | None:
    """The statement undoing one row change (None for an update that changed nothing)."""
    name = f"{row.schema}.{row.table}"
    if row.operation == "delete":
        assert row.before is not None
        key = _key(row.before, table)
        return Reverse(
            name,
            "delete",
            sql.restore_deleted(name, row.before, table.write, table.key),
            key,
            row.before,
            {},
        )
    if row.operation == "update":
        assert row.before is not None and row.after is not None
        if all(row.before[c] == row.after[c] for c in table.write):
            return None
        write = tuple(c for c in table.write if row.before[c] != row.after[c])
        return Reverse(
            name,
            "update",
            sql.undo_update(name, row.before, row.after, write, table.compare),
            _key(row.after, table),
            row.before,
            row.after,
        )
    assert row.after is not None
    return Reverse(
        name,
        "insert",
        sql.remove_inserted(name, row.after, table.compare),
        _key(row.after, table),
        None,
        row.after,
    )


def _key(image: Mapping[str, object], table: TablePlan) -> dict[str, object]:
    columns = table.key or table.compare
    return {c: image[c] for c in columns}
