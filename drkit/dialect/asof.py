"""SQL for `drkit asof`: reading a table's rows in the form the binlog decoder gives them, the
replica's applied position inside the same snapshot, and writing the rewound rows to a new table.

Functions, not dialect methods: the text is the same on MariaDB and MySQL 8 (the position read
is MariaDB's table; `asof` pins MySQL by other means). Times travel as UTC wall-clock text: the
session sets `time_zone = '+00:00'` first (`rows.utc_session`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from drkit.dialect.rows import literal
from drkit.dialect.sql import Sql, quote_ident, quote_string, quote_table, read

# Column types whose value the driver would give in another form than the binlog decoder:
# FLOAT widened to DOUBLE (the driver parses the server's 6-digit text, the binlog holds the
# exact single-precision value), SET as its text ("a,c", not a Python set), and temporal types as
# text so that zero dates ("0000-00-00") survive instead of becoming NULL.
_AS_DOUBLE = frozenset({"float"})
_AS_TEXT = frozenset({"set", "date", "datetime", "timestamp"})


def column_types(table: str) -> Sql:
    """Each column of the table: name, type, whether the server computes it, in table order."""
    schema, _, name = table.partition(".")
    return read(
        "SELECT COLUMN_NAME AS name, DATA_TYPE AS data_type, "
        "(EXTRA LIKE '%GENERATED%' OR EXTRA IN ('VIRTUAL', 'PERSISTENT', 'STORED')) AS generated, "
        "COLUMN_KEY AS column_key "
        "FROM information_schema.COLUMNS "
        f"WHERE TABLE_SCHEMA = {quote_string(schema)} AND TABLE_NAME = {quote_string(name)} "
        "ORDER BY ORDINAL_POSITION"
    )


def primary_key(table: str) -> Sql:
    """The primary key's columns, in key order (no row: the table has none)."""
    schema, _, name = table.partition(".")
    return read(
        "SELECT COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE "
        f"WHERE TABLE_SCHEMA = {quote_string(schema)} AND TABLE_NAME = {quote_string(name)} "
        "AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION"
    )


def select_rows(table: str, columns: Sequence[tuple[str, str]], *, digest: bool = False) -> Sql:
    """Every row, each column in the decoder's form; `columns` are (name, DATA_TYPE) pairs.
    With `digest`, a last column holds the row's digest (`row_digest`)."""
    extra = f", {row_digest([c for c, _ in columns])} AS `drkit_digest`" if digest else ""
    return read(f"SELECT {_expressions(columns)}{extra} FROM {quote_table(table)}")


def row_digest(columns: Sequence[str]) -> str:
    """A row's CRC32 over its columns as the server prints them (QUOTE tells NULL from 'NULL'):
    two servers of one version give one row the same digest, whatever the driver makes of it."""
    quoted = ", ".join(f"QUOTE({quote_ident(c)})" for c in columns)
    return f"CRC32(CONCAT_WS(',', {quoted}))"


def table_digest(table: str, columns: Sequence[str]) -> Sql:
    """The row count and the sum of the rows' digests."""
    return read(
        f"SELECT COUNT(*) AS n, COALESCE(SUM({row_digest(columns)}), 0) AS total "
        f"FROM {quote_table(table)}"
    )


def rows_with_keys(
    table: str,
    columns: Sequence[tuple[str, str]],
    key: Sequence[str],
    keys: Sequence[Sequence[object]],
) -> Sql:
    """The rows whose primary key is one of `keys`, as `select_rows(..., digest=True)`."""
    digest = row_digest([c for c, _ in columns])
    return read(
        f"SELECT {_expressions(columns)}, {digest} AS `drkit_digest` "
        f"FROM {quote_table(table)} WHERE {_keys_in(key, keys)}"
    )


def delete_keys(table: str, key: Sequence[str], keys: Sequence[Sequence[object]]) -> Sql:
    """Remove the rows whose primary key is one of `keys`; printed with the count, not values."""
    head = f"DELETE FROM {quote_table(table)} WHERE "
    return Sql(head + _keys_in(key, keys), redacted=f"{head}... ({len(keys)} keys)")


def may_read(table: str) -> Sql:
    """Reads no row: the server refuses it exactly when the account may not SELECT the table."""
    return read(f"SELECT 1 FROM {quote_table(table)} WHERE 0")


def rename_table(old: str, new: str) -> Sql:
    """One atomic step: readers see no table under `new`, then the whole of `old` there."""
    return Sql(f"RENAME TABLE {quote_table(old)} TO {quote_table(new)}")


def lock_table_read(table: str) -> Sql:
    """A shared lock that lets every reader in and holds every writer (the applier) out."""
    return Sql(f"LOCK TABLES {quote_table(table)} READ", changes=False)


def unlock_tables() -> Sql:
    return Sql("UNLOCK TABLES", changes=False)


def _keys_in(key: Sequence[str], keys: Sequence[Sequence[object]]) -> str:
    if len(key) == 1:
        return f"{quote_ident(key[0])} IN ({', '.join(literal(k[0]) for k in keys)})"
    names = ", ".join(quote_ident(c) for c in key)
    tuples = ", ".join("(" + ", ".join(literal(v) for v in k) + ")" for k in keys)
    return f"({names}) IN ({tuples})"


def _expressions(columns: Sequence[tuple[str, str]]) -> str:
    parts = []
    for name, data_type in columns:
        q = quote_ident(name)
        kind = data_type.lower()
        if kind in _AS_DOUBLE:
            parts.append(f"CAST({q} AS DOUBLE) AS {q}")
        elif kind in _AS_TEXT:
            parts.append(f"CAST({q} AS CHAR) AS {q}")
        else:
            parts.append(q)
    return ", ".join(parts)


def slave_pos_rows() -> Sql:
    """MariaDB: the applied position as the replica's own InnoDB table holds it. Read inside a
    consistent snapshot, it is the position of exactly the rows that snapshot sees: the applier
    writes it in the same transaction as the changes it applies."""
    return read(
        "SELECT p.domain_id AS domain_id, p.server_id AS server_id, p.seq_no AS seq_no "
        "FROM mysql.gtid_slave_pos p JOIN (SELECT domain_id, MAX(sub_id) AS sub_id "
        "FROM mysql.gtid_slave_pos GROUP BY domain_id) m "
        "ON p.domain_id = m.domain_id AND p.sub_id = m.sub_id ORDER BY p.domain_id"
    )


def slave_pos_engine() -> Sql:
    """The storage engine of mysql.gtid_slave_pos, and whether other engines' tables exist."""
    return read(
        "SELECT ENGINE AS engine, "
        "(SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'mysql' "
        "AND TABLE_NAME LIKE 'gtid\\_slave\\_pos\\_%') AS others "
        "FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = 'mysql' AND TABLE_NAME = 'gtid_slave_pos'"
    )


def executed_position(mariadb: bool) -> Sql:
    """The node's applied position as the server reports it now (outside any snapshot)."""
    return read("SELECT @@gtid_slave_pos AS pos" if mariadb else "SELECT @@gtid_executed AS pos")


def insert_rows(table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> Sql:
    """One multi-row INSERT of rows given as value tuples in `columns` order (values as
    decoded-binlog literals); its printed form (the audit's) names the row count, not values."""
    names = ", ".join(quote_ident(c) for c in columns)
    values = ",".join("(" + ", ".join(map(literal, row)) + ")" for row in rows)
    head = f"INSERT INTO {quote_table(table)} ({names}) VALUES "
    return Sql(head + values, redacted=f"{head}... ({len(rows)} rows)")


def foreign_key_checks(on: bool) -> Sql:
    """The copy is a picture of T: its rows need not match the parents the primary holds now."""
    return Sql(f"SET SESSION foreign_key_checks = {1 if on else 0}", changes=False)


def matching_rows(rows: Sequence[Mapping[str, object]], columns: Sequence[str], where: str) -> Sql:
    """Which of `rows` satisfy `where`, numbered from 0: the rows travel as a derived table of
    literals, so the condition sees each row as it was at T, not as the table holds it now."""
    quoted = [quote_ident(c) for c in columns]
    selects = []
    for number, row in enumerate(rows):
        values = ", ".join(
            f"{_typed(row[c])} AS {q}" if number == 0 else _typed(row[c])
            for q, c in zip(quoted, columns, strict=True)
        )
        first = f"{number} AS `drkit_row`" if number == 0 else str(number)
        selects.append(f"SELECT {first}, {values}")
    derived = " UNION ALL ".join(selects)
    return read(f"SELECT `drkit_row` FROM ({derived}) AS asof_rows WHERE ({where})")


def rows_where(table: str, columns: Sequence[tuple[str, str]], where: str) -> Sql:
    """The table's rows that satisfy `where` now (the rows no change since T touched)."""
    return read(f"SELECT {_expressions(columns)} FROM {quote_table(table)} WHERE ({where})")


def _typed(value: object) -> str:
    """A literal that keeps its type in a derived table: times as DATE/TIMESTAMP/TIME literals."""
    import datetime as dt

    text = literal(value)
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP{text}"
    if isinstance(value, dt.date):
        return f"DATE{text}"
    if isinstance(value, dt.timedelta):
        return f"CAST({text} AS TIME(6))"
    return text
