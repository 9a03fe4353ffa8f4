"""Remove the index's oldest transactions: every row below one id, a few thousand ids per SQLite
transaction so that no writer waits long."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from drkit.index.records import IndexedTransaction
from drkit.index.store import IndexStore, store_error

# Ids deleted per SQLite transaction: a few milliseconds of the write lock each.
CHUNK = 2000


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


def delete_before(
    store: IndexStore,
    tx_id: int,
    *,
    chunk: int = CHUNK,
    between: Callable[[int], None] | None = None,
) -> int:
    """Delete every transaction (and its tables and findings) with an id below `tx_id`; how many
    went.

    In SQLite transactions of `chunk` ids, oldest first: the indexer (and through it the guard's
    freeze path) waits for one chunk at most, never for a whole prune. `between(removed so far)`
    runs after each chunk is committed. The newest row is never below `tx_id` (callers keep it),
    so the next id stays dense.
    """
    conn = store.conn
    removed = 0
    try:
        low = conn.execute("SELECT MIN(id) FROM transactions").fetchone()[0]
        while low is not None and low < tx_id:
            high = min(int(low) + chunk, tx_id)
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("DELETE FROM transaction_tables WHERE tx_id < ?", (high,))
                conn.execute("DELETE FROM findings WHERE tx_id < ?", (high,))
                removed += conn.execute("DELETE FROM transactions WHERE id < ?", (high,)).rowcount
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            if between is not None:
                between(removed)
            low = high
    except sqlite3.DatabaseError as exc:
        raise store_error(store.path, exc) from None
    return removed
