"""How many rows a DROP TABLE or TRUNCATE took, read on the delayed copy while it still holds them.

The binlog carries no row events for them, so the index cannot count them. The delayed replica
can while it has not applied the DROP: its COUNT(*) of the table, plus the row changes the index
counted between the replica's position and the DROP, is what the table held when it was dropped.
Whatever would make that a guess (a schema change in between, a change without row counts, the
replica applying changes to the table while it was counted, the DROP applied already, a node
that does not answer) leaves the number unknown and says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from drkit.config import Config, NodeConfig
from drkit.errors import IndexBehind
from drkit.index.position import last_applied
from drkit.index.records import IndexedTransaction
from drkit.index.store import Filters, IndexStore
from drkit.io.facts import gather, gather_with
from drkit.io.mysql import Session
from drkit.model.facts import NodeFacts

COUNT_SECONDS = 5.0  # the longest a COUNT(*) may take: `drkit events` must stay quick
CONNECT_SECONDS = 3.0  # a delayed node that does not answer costs `drkit events` this, once
PAGE = 1000


@dataclass(frozen=True)
class DroppedRows:
    """The rows one table held when a DROP or TRUNCATE took it (None: unknown, `how` says why)."""

    table: str
    rows: int | None
    how: str

    def to_json(self) -> dict[str, object]:
        return {"table": self.table, "rows": self.rows, "how": self.how}


def dropped_rows(
    config: Config, store: IndexStore, transactions: Sequence[IndexedTransaction]
) -> dict[int, tuple[DroppedRows, ...]]:
    """Per DROP or TRUNCATE among `transactions` (by id), the rows each of its tables held."""
    targets = [tx for tx in transactions if tx.rows_unknown]
    if not targets:
        return {}
    if not config.delayed:
        return {tx.id: _unknown(tx, "no delayed replica is configured") for tx in targets}
    node = config.delayed[0]
    tables = sorted({t.table for tx in targets for t in tx.tables if "*" not in t.table})
    before, counts = gather_with(node, lambda session: _count(session, tables), CONNECT_SECONDS)
    if not before.reachable:
        return {tx.id: _unknown(tx, f"{node.name} does not answer") for tx in targets}
    if counts is None:
        why = f"counting on {node.name} failed or took over {COUNT_SECONDS:.0f}s"
        return {tx.id: _unknown(tx, why) for tx in targets}
    after = gather(node, CONNECT_SECONDS)
    positions = _applied_around(store, node.name, before, after)
    if isinstance(positions, str):
        return {tx.id: _unknown(tx, positions) for tx in targets}
    first, last = positions
    return {
        tx.id: tuple(
            _judge(store, node, tx, table.table, counts.get(table.table), first, last)
            for table in tx.tables
        )
        for tx in targets
    }


def _applied_around(
    store: IndexStore, node: str, before: NodeFacts, after: NodeFacts
) -> tuple[IndexedTransaction, IndexedTransaction] | str:
    """The last indexed transaction the node applied before and after counting, or why unknown."""
    latest = store.latest()
    try:
        first = last_applied(before, store, latest)[0]
        last = last_applied(after, store, latest)[0] if after.reachable else None
    except IndexBehind as behind:
        return behind.message
    if first is None or last is None:
        return f"{node}'s position is not in the index"
    return first, last


def _count(session: Session, tables: list[str]) -> dict[str, int | None]:
    """COUNT(*) of each table that exists on the node (None: it does not), time-bounded."""
    dialect = session.dialect
    for limit in dialect.session_time_limits(COUNT_SECONDS):
        session.run(limit)
    found: dict[str, int | None] = {}
    for table in tables:
        exists = session.one(dialect.table_exists(table))
        if not exists or not exists["n"]:
            found[table] = None
            continue
        counted = session.one(dialect.count_rows(table))
        found[table] = int(counted["n"]) if counted else None
    return found


def _judge(
    store: IndexStore,
    node: NodeConfig,
    tx: IndexedTransaction,
    table: str,
    count: int | None,
    first: IndexedTransaction,
    last: IndexedTransaction,
) -> DroppedRows:
    """The table's rows at the DROP: the replica's count plus the index's changes after it."""
    if "*" in table:
        return DroppedRows(table, None, "a whole schema: its tables are not counted one by one")
    if last.id >= tx.id:
        return DroppedRows(table, None, f"{node.name} applied #{tx.id} already")
    changes = _changes(store, table, first.id, tx.id)
    if any(change.id <= last.id for change in changes):
        why = f"{node.name} applied changes to it while it was counted; freeze it and ask again"
        return DroppedRows(table, None, why)
    net, why = _net_change(changes, table)
    if net is None:  # a CREATE, ALTER, RENAME... on the way: the most precise reason
        return DroppedRows(table, None, why)
    if count is None:
        return DroppedRows(table, None, f"not on {node.name} at #{last.id}")
    how = f"{count} on {node.name} at #{last.id}"
    if changes:
        how += f", {net:+d} by {len(changes)} later indexed transactions"
    return DroppedRows(table, count + net, how)


def _net_change(changes: list[IndexedTransaction], table: str) -> tuple[int | None, str]:
    """Rows inserted minus rows deleted by `changes`; None (and why) when one is not counted."""
    whole_schema = table.split(".", maxsplit=1)[0] + ".*"
    net = 0
    for change in changes:
        rows = [t for t in change.tables if t.table in (table, whole_schema)]
        if change.kind != "dml" or not rows:
            return None, f"#{change.id} changed it by {change.kind.upper()}"
        if not any(r.inserts or r.updates or r.deletes for r in rows):
            return None, f"#{change.id} changed it without row counts"
        net += sum(r.inserts - r.deletes for r in rows)
    return net, ""


def _changes(
    store: IndexStore, table: str, after_id: int, before_id: int
) -> list[IndexedTransaction]:
    """Every indexed transaction touching `table` (or its whole schema) between the two ids."""
    found: list[IndexedTransaction] = []
    cursor = before_id
    while True:
        page = store.search(Filters(table=table, before_id=cursor, limit=PAGE))
        found += [tx for tx in page if tx.id > after_id]
        if len(page) < PAGE or page[-1].id <= after_id:
            return found
        cursor = page[-1].id


def _unknown(tx: IndexedTransaction, why: str) -> tuple[DroppedRows, ...]:
    return tuple(DroppedRows(t.table, None, why) for t in tx.tables)
