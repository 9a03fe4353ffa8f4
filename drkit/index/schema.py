"""The index's SQLite schema and its migrations, applied in order by `user_version`."""

from __future__ import annotations

import sqlite3

# Each entry moves the schema from version N to N+1; never edit one that has shipped.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE checkpoint (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        file TEXT NOT NULL,
        pos INTEGER NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE transactions (
        id INTEGER PRIMARY KEY,
        gtid TEXT,
        file TEXT NOT NULL,
        file_seq INTEGER NOT NULL,
        start_pos INTEGER NOT NULL,
        end_pos INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        server_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        statement TEXT NOT NULL,
        rows_insert INTEGER NOT NULL,
        rows_update INTEGER NOT NULL,
        rows_delete INTEGER NOT NULL,
        destructive_class TEXT,
        severity INTEGER,
        reason TEXT,
        row_events TEXT NOT NULL
    );
    CREATE UNIQUE INDEX transactions_coord ON transactions (file_seq, start_pos);
    CREATE INDEX transactions_gtid ON transactions (gtid);
    CREATE INDEX transactions_ts ON transactions (ts);
    CREATE INDEX transactions_destructive ON transactions (ts) WHERE destructive_class IS NOT NULL;
    CREATE TABLE transaction_tables (
        tx_id INTEGER NOT NULL REFERENCES transactions (id),
        schema_name TEXT NOT NULL,
        table_name TEXT NOT NULL,
        inserts INTEGER NOT NULL,
        updates INTEGER NOT NULL,
        deletes INTEGER NOT NULL,
        PRIMARY KEY (tx_id, schema_name, table_name)
    ) WITHOUT ROWID;
    CREATE INDEX transaction_tables_name ON transaction_tables (schema_name, table_name, tx_id);
    """,
    # 2: every finding of a transaction, in the classifier's order (the worst stays in
    # `transactions`, where `drkit events` filters and shows it). Indexes written before knew only
    # the worst finding, and not which tables it named: it becomes the one finding, naming every
    # table the transaction touched (`drkit index --rebuild` reads them all again from the archive).
    """
    CREATE TABLE findings (
        tx_id INTEGER NOT NULL REFERENCES transactions (id),
        seq INTEGER NOT NULL,
        class TEXT NOT NULL,
        severity INTEGER,
        reason TEXT NOT NULL,
        tables TEXT NOT NULL,
        PRIMARY KEY (tx_id, seq)
    ) WITHOUT ROWID;
    INSERT INTO findings (tx_id, seq, class, severity, reason, tables)
    SELECT t.id, 0, t.destructive_class, t.severity, COALESCE(t.reason, ''),
           (SELECT json_group_array(tt.schema_name || '.' || tt.table_name)
            FROM transaction_tables tt WHERE tt.tx_id = t.id)
    FROM transactions t WHERE t.destructive_class IS NOT NULL;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
FINDINGS_SCHEMA = 2  # the first version with the `findings` table

# The indexes only readers use that cost the writer more to keep up row by row than to build
# once (the writer itself needs the primary keys and transactions_coord, which refuses a
# transaction stored twice). A long catch-up drops them and builds them at its end
# (IndexStore.bulk_load). transactions_ts and transactions_destructive stay: ts only grows, so
# keeping its index costs about what building it would (benchmarks/index_write.py), and about
# one row in a hundred enters the other. Their definitions are migration 1's.
DEFERRED_INDEXES: dict[str, str] = {
    "transactions_gtid": "ON transactions (gtid)",
    "transaction_tables_name": "ON transaction_tables (schema_name, table_name, tx_id)",
}


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the database to SCHEMA_VERSION; refuse one written by a newer drkit."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > SCHEMA_VERSION:
        raise RuntimeError(
            f"index schema version {current} is newer than this drkit understands ({SCHEMA_VERSION})"
        )
    for version in range(current, SCHEMA_VERSION):
        # One script, one transaction: a migration either happens whole or not at all.
        conn.executescript(
            f"BEGIN; {MIGRATIONS[version]}; PRAGMA user_version = {version + 1}; COMMIT;"
        )


def missing_deferred_indexes(conn: sqlite3.Connection) -> list[str]:
    """The deferred indexes the database lacks (a bulk load dropped them and did not finish)."""
    present = {
        str(row[0]) for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    }
    return [name for name in DEFERRED_INDEXES if name not in present]


def drop_deferred_indexes(conn: sqlite3.Connection) -> None:
    """Drop the deferred indexes, in the caller's transaction."""
    for name in DEFERRED_INDEXES:
        conn.execute(f"DROP INDEX IF EXISTS {name}")


def build_deferred_indexes(conn: sqlite3.Connection) -> list[str]:
    """Build the deferred indexes the database lacks, in the caller's transaction; their names."""
    missing = missing_deferred_indexes(conn)
    for name in missing:
        conn.execute(f"CREATE INDEX IF NOT EXISTS {name} {DEFERRED_INDEXES[name]}")
    return missing
