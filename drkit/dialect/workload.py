"""SQL for the demo's sample application schema (the same text on both flavours)."""

from __future__ import annotations

from drkit.dialect.sql import Sql


def sample_schema_statements(orders: int) -> list[Sql]:
    values = ", ".join(f"({i % 10 + 1}, {i * 7 % 500 + 1}.{i % 100:02d})" for i in range(orders))
    customers = ", ".join(f"('customer {i}')" for i in range(1, 11))
    return [
        Sql("CREATE DATABASE IF NOT EXISTS shop"),
        Sql(
            "CREATE TABLE IF NOT EXISTS shop.customers ("
            "id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL)"
        ),
        Sql(
            "CREATE TABLE IF NOT EXISTS shop.orders ("
            "id INT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL, "
            "total DECIMAL(10,2) NOT NULL, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)"
        ),
        Sql(f"INSERT INTO shop.customers (name) VALUES {customers}"),
        Sql(f"INSERT INTO shop.orders (customer_id, total) VALUES {values}"),
    ]


# -- drill workloads -----------------------------------------------------------------------------

DRILL_COLUMNS = (
    "id INT PRIMARY KEY, customer_id INT NOT NULL, amount DECIMAL(12,2) NOT NULL, "
    "status VARCHAR(12) NOT NULL, note VARCHAR(64) NULL, updated_at DATETIME NOT NULL"
)
_STATUSES = ("new", "paid", "shipped", "cancelled")


def drill_table(table: str) -> list[Sql]:
    """Create a drill table (and its schema) with a fixed, realistic shape."""
    from drkit.dialect.sql import quote_ident, quote_table

    schema = table.split(".", 1)[0]
    return [
        Sql(f"CREATE DATABASE IF NOT EXISTS {quote_ident(schema)}"),
        Sql(f"CREATE TABLE IF NOT EXISTS {quote_table(table)} ({DRILL_COLUMNS})"),
    ]


def drill_rows(table: str, first_id: int, rows: list[tuple[int, int, str, str]]) -> Sql:
    """One multi-row INSERT; rows are (customer_id, cents, status, note)."""
    from drkit.dialect.sql import quote_string, quote_table

    values = ", ".join(
        f"({first_id + i}, {customer}, {cents // 100}.{cents % 100:02d}, {quote_string(status)}, "
        f"{quote_string(note)}, '2026-01-01 00:00:00' + INTERVAL {first_id + i} SECOND)"
        for i, (customer, cents, status, note) in enumerate(rows)
    )
    return Sql(
        f"INSERT INTO {quote_table(table)} (id, customer_id, amount, status, note, updated_at) VALUES {values}"
    )


def drill_update(table: str, row_id: int, cents: int, status_index: int) -> Sql:
    from drkit.dialect.sql import quote_string, quote_table

    status = _STATUSES[status_index % len(_STATUSES)]
    return Sql(
        f"UPDATE {quote_table(table)} SET amount = {cents // 100}.{cents % 100:02d}, "
        f"status = {quote_string(status)}, updated_at = updated_at + INTERVAL 1 SECOND WHERE id = {int(row_id)}"
    )


def drill_statuses() -> tuple[str, ...]:
    return _STATUSES


def drill_delete(table: str, row_id: int) -> Sql:
    from drkit.dialect.sql import quote_table

    return Sql(f"DELETE FROM {quote_table(table)} WHERE id = {int(row_id)}")


def drill_max_id(table: str) -> Sql:
    from drkit.dialect.sql import quote_table, read

    return read(f"SELECT COALESCE(MAX(id), 0) AS n FROM {quote_table(table)}")


def drill_fingerprint(table: str) -> list[Sql]:
    """Row count and CHECKSUM TABLE, as an inspection asks them (one result set each)."""
    from drkit.dialect.sql import quote_table, read

    return [
        read(f"SELECT COUNT(*) AS n FROM {quote_table(table)}"),
        read(f"CHECKSUM TABLE {quote_table(table)} EXTENDED"),
    ]
