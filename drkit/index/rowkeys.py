"""A cache beside the index: which transactions changed which primary key of a table.

`drkit history` fills it on first use for a table (reading every row image of the table's
transactions once) and then only for transactions indexed since, so one key's history reads only
the transactions that changed that row. It is derived data: deleting the file loses nothing, and
a cache that no longer fits the index (rebuilt from another archive) is emptied.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS covered (
    schema_name TEXT NOT NULL,
    table_name TEXT NOT NULL,
    key_columns TEXT NOT NULL,
    last_tx INTEGER NOT NULL,
    last_gtid TEXT NOT NULL,
    PRIMARY KEY (schema_name, table_name)
);
CREATE TABLE IF NOT EXISTS row_keys (
    schema_name TEXT NOT NULL,
    table_name TEXT NOT NULL,
    key TEXT NOT NULL,
    tx_id INTEGER NOT NULL,
    PRIMARY KEY (schema_name, table_name, key, tx_id)
) WITHOUT ROWID;
"""


def cache_path(index: Path) -> Path:
    return index.with_name(index.name + "-rowkeys")


class RowKeyCache:
    """One open cache file (private to its owner, like the index)."""

    def __init__(self, path: Path) -> None:
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self.conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def covered(self, schema: str, table: str) -> tuple[tuple[str, ...], int, str] | None:
        """(key columns, last transaction id read, its GTID) for a table, or None."""
        row = self.conn.execute(
            "SELECT key_columns, last_tx, last_gtid FROM covered "
            "WHERE schema_name = ? AND table_name = ?",
            (schema, table),
        ).fetchone()
        if row is None:
            return None
        columns = tuple(c for c in str(row[0]).split("\x1f") if c)
        return columns, int(row[1]), str(row[2])

    def forget(self, schema: str, table: str) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute(
            "DELETE FROM row_keys WHERE schema_name = ? AND table_name = ?", (schema, table)
        )
        self.conn.execute(
            "DELETE FROM covered WHERE schema_name = ? AND table_name = ?", (schema, table)
        )
        self.conn.execute("COMMIT")

    def add(
        self,
        schema: str,
        table: str,
        key_columns: tuple[str, ...],
        keys: Iterable[tuple[str, int]],
        last_tx: int,
        last_gtid: str,
    ) -> None:
        """Record (key, transaction id) pairs and how far the table is covered, in one commit."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.executemany(
                "INSERT OR IGNORE INTO row_keys (schema_name, table_name, key, tx_id) "
                "VALUES (?, ?, ?, ?)",
                ((schema, table, key, tx_id) for key, tx_id in keys),
            )
            self.conn.execute(
                "INSERT INTO covered (schema_name, table_name, key_columns, last_tx, last_gtid) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (schema_name, table_name) DO UPDATE SET "
                "key_columns = excluded.key_columns, last_tx = excluded.last_tx, "
                "last_gtid = excluded.last_gtid",
                (schema, table, "\x1f".join(key_columns), last_tx, last_gtid),
            )
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def transactions(self, schema: str, table: str, key: str) -> list[int]:
        """Ids of the transactions that changed the row with this key, in order."""
        return [
            int(row[0])
            for row in self.conn.execute(
                "SELECT tx_id FROM row_keys WHERE schema_name = ? AND table_name = ? AND key = ? "
                "ORDER BY tx_id",
                (schema, table, key),
            )
        ]
