"""The transactions that changed one table, oldest first, with where their row events are.

`drkit history` and `drkit flashback --table` read these; the table-name index answers without
touching the other transactions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from drkit.index.layout import unpack_pairs
from drkit.index.store import IndexStore


@dataclass(frozen=True, slots=True)
class TableChange:
    """One transaction that changed the table: identity, time, and its row events' offsets."""

    id: int
    gtid: str | None
    file: str
    timestamp: int
    row_events: tuple[tuple[int, int], ...]


def table_changes(
    store: IndexStore,
    schema: str,
    table: str,
    *,
    since: float | None = None,
    until: float | None = None,
    first_id: int | None = None,
    last_id: int | None = None,
    newest_first: bool = False,
) -> Iterator[TableChange]:
    """Transactions with row changes in `schema.table`, in id order (or newest first)."""
    sql = (
        "SELECT t.id, t.gtid, t.file, t.ts, t.row_events FROM transaction_tables tt "
        "CROSS JOIN transactions t ON t.id = tt.tx_id "
        "WHERE tt.schema_name = ? AND tt.table_name = ? "
        "AND tt.inserts + tt.updates + tt.deletes > 0 AND tt.tx_id BETWEEN ? AND ?"
    )
    params: list[object] = [schema, table, first_id or 0, last_id if last_id else 2**62]
    if since is not None:
        sql += " AND t.ts >= ?"
        params.append(int(since))
    if until is not None:
        sql += " AND t.ts <= ?"
        params.append(int(until))
    sql += " ORDER BY tt.tx_id " + ("DESC" if newest_first else "ASC")
    for tx_id, gtid, file, ts, row_events in store.conn.execute(sql, params):
        yield TableChange(int(tx_id), gtid, str(file), int(ts), tuple(unpack_pairs(row_events)))


def change(store: IndexStore, tx_id: int) -> TableChange | None:
    """One transaction as `table_changes` gives it."""
    row = store.conn.execute(
        "SELECT id, gtid, file, ts, row_events FROM transactions WHERE id = ?", (tx_id,)
    ).fetchone()
    if row is None:
        return None
    return TableChange(int(row[0]), row[1], str(row[2]), int(row[3]), tuple(unpack_pairs(row[4])))


def gtid_of(store: IndexStore, tx_id: int) -> str | None:
    row = store.conn.execute("SELECT gtid FROM transactions WHERE id = ?", (tx_id,)).fetchone()
    return None if row is None else (str(row[0]) if row[0] is not None else "")
