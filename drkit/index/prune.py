"""Remove the index's oldest transactions: every row below one id, in one SQLite transaction."""

from __future__ import annotations

import sqlite3

from drkit.index.records import IndexedTransaction
from drkit.index.store import IndexStore, store_error


def first_at_or_after(store: IndexStore, timestamp: float) -> IndexedTransaction | None:
    """The oldest indexed transaction committed at or after `timestamp` (by id order)."""
    try:
        row = store.conn.execute(
            "SELECT MIN(id) FROM transactions WHERE ts >= ?", (int(timestamp),)
        ).fetchone()
    except sqlite3.DatabaseError as exc:
        raise store_error(store.path, exc) from None
    return store.get(int(row[0])) if row and row[0] is not None else None


def count_before(store: IndexStore, tx_id: int) -> int:
    """How many indexed transactions have an id below `tx_id`."""
    try:
        row = store.conn.execute("SELECT COUNT(*) FROM transactions WHERE id < ?", (tx_id,))
        return int(row.fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise store_error(store.path, exc) from None


def delete_before(store: IndexStore, tx_id: int) -> int:
    """Delete every transaction (and its tables and findings) with an id below `tx_id`; how many went.

    The newest row is never below `tx_id` (callers keep it), so the next id stays dense.
    """
    conn = store.conn
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DELETE FROM transaction_tables WHERE tx_id < ?", (tx_id,))
            conn.execute("DELETE FROM findings WHERE tx_id < ?", (tx_id,))
            removed = conn.execute("DELETE FROM transactions WHERE id < ?", (tx_id,)).rowcount
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        raise store_error(store.path, exc) from None
    return int(removed)
