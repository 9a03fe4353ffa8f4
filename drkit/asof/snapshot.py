"""The delayed replica's rows of one table and the applied position they are at, read on one
read-only snapshot while the replica keeps applying.

The position is pinned by reading MariaDB's `mysql.gtid_slave_pos` inside the same consistent
snapshot as the rows: the applier writes that table in the transaction it applies, so the
snapshot sees exactly the position of its rows (no stop, no privilege beyond SELECT, the delay
countdown untouched). Where that table is not transactional, or on MySQL (whose executed set is
not a table the snapshot sees), the applier must be stopped and the position must read the same
before and after the rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from drkit.asof.rewind import Row, row_reader
from drkit.config import NodeConfig
from drkit.dialect import asof as sql
from drkit.dialect.sql import Sql
from drkit.errors import RefusedError
from drkit.io.facts import gather
from drkit.io.mysql import Session


@dataclass(frozen=True)
class TableShape:
    """A table as the replica defines it: columns, their types, the generated ones, the key."""

    columns: tuple[str, ...]
    types: tuple[str, ...]
    generated: tuple[str, ...]
    key: tuple[str, ...]
    definition: str


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
    pinning = Pinning.choose(session, node)
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
        _, raw = where_query(session, sql.rows_where(name, pairs, where), where)
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


class Pinning:
    """How the position of the rows read is known (see the module's docstring); also used by
    drkit.asof.streamed."""

    def __init__(self, session: Session, node: NodeConfig, in_snapshot: bool) -> None:
        self.session = session
        self.node = node
        self.in_snapshot = in_snapshot

    @classmethod
    def choose(cls, session: Session, node: NodeConfig) -> Pinning:
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


def where_query(session: Session, statement: Sql, where: str) -> tuple[tuple[str, ...], list[Row]]:
    """A statement carrying the operator's --where: the server refusing it is bad usage."""
    from drkit.errors import NodeError, UsageError

    try:
        return session.table(statement)
    except NodeError as exc:
        raise UsageError(
            f"--where {where!r}: {session.node.name} refused the condition: "
            f"{exc.message.rpartition('failed: ')[2]}"
        ) from None
