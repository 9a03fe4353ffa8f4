"""Small, deterministic workloads for recovery tests, and ways to fingerprint their data."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from tests.support.sandbox import Sandbox, wait_for

SCHEMA = [
    "CREATE DATABASE IF NOT EXISTS shop",
    "CREATE TABLE shop.customers (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL)",
    "CREATE TABLE shop.orders (id INT PRIMARY KEY, customer_id INT NOT NULL, total DECIMAL(10,2), "
    "note VARCHAR(40))",
    "CREATE TABLE shop.audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(40))",
]


def create_shop(box: Sandbox, orders: int = 100) -> None:
    """shop.customers (10 rows), shop.orders (`orders` rows), shop.audit (empty), on the primary."""
    box.sql("primary", *SCHEMA, app=True)
    box.sql(
        "primary",
        "INSERT INTO shop.customers VALUES "
        + ", ".join(f"({i}, 'customer {i}')" for i in range(1, 11)),
        app=True,
    )
    values = ", ".join(
        f"({i}, {i % 10 + 1}, {i * 3 % 500}.{i % 100:02d}, 'n{i}')" for i in range(1, orders + 1)
    )
    box.sql("primary", f"INSERT INTO shop.orders VALUES {values}", app=True)


def fingerprint(box: Sandbox, node: str, table: str) -> tuple[int, int] | None:
    """(row count, CHECKSUM TABLE) of a table on a node; None when the table does not exist."""
    schema, name = table.split(".")
    exists = box.value(
        node,
        "SELECT COUNT(*) FROM information_schema.TABLES "
        f"WHERE TABLE_SCHEMA='{schema}' AND TABLE_NAME='{name}'",
    )
    if not exists:
        return None
    count = int(box.value(node, f"SELECT COUNT(*) FROM {table}"))
    rows = box.sql(node, f"CHECKSUM TABLE {table} EXTENDED")
    return count, int(rows[0]["Checksum"])


def gtid_pos(box: Sandbox, node: str) -> str:
    return str(
        box.value(
            node, "SELECT @@gtid_binlog_pos" if node == "primary" else "SELECT @@gtid_slave_pos"
        )
    )


def wait_replica_caught_up(box: Sandbox) -> None:
    target = gtid_pos(box, "primary")
    wait_for(lambda: gtid_pos(box, "replica") == target, timeout=20, what="the replica to catch up")


def index(box: Sandbox) -> None:
    done = box.drkit("index")
    assert done.returncode == 0, done.stderr


def drkit_json(
    box: Sandbox, *args: str, **kwargs: Any
) -> tuple[subprocess.CompletedProcess[str], Any]:
    """Run the CLI with --json; the completed process and the parsed output (None if not JSON)."""
    done = box.drkit(*args, "--json", **kwargs)
    try:
        data = json.loads(done.stdout) if done.stdout.strip() else None
    except ValueError:
        data = None
    return done, data


def latest_destructive(box: Sandbox) -> dict[str, Any]:
    done, events = drkit_json(box, "events", "--destructive", "--limit", "1")
    assert done.returncode == 0 and events, done.stderr
    return events[0]


def delayed_status(box: Sandbox) -> dict[str, Any]:
    return box.replica_status("delayed")
