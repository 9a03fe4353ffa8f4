"""A disaster and its recovery on a sandbox, and ways to look at the data afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.sandbox import Sandbox
from tests.support.workload import drkit_json, fingerprint

SCHEMA = [
    "CREATE DATABASE IF NOT EXISTS shop",
    "CREATE TABLE shop.customers (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL)",
    "CREATE TABLE shop.orders (id INT PRIMARY KEY, customer_id INT NOT NULL, "
    "total DECIMAL(10,2), note VARCHAR(40), "
    "CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES shop.customers (id))",
    "CREATE TABLE shop.audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(40))",
]


def create_shop(box: Sandbox, orders: int = 100) -> None:
    """shop.customers (10 rows), shop.orders (`orders` rows, a foreign key), shop.audit."""
    box.sql("primary", *SCHEMA, app=True)
    customers = ", ".join(f"({i}, 'customer {i}')" for i in range(1, 11))
    box.sql("primary", f"INSERT INTO shop.customers VALUES {customers}", app=True)
    values = ", ".join(
        f"({i}, {i % 10 + 1}, {i * 3 % 500}.{i % 100:02d}, 'n{i}, with ''quotes''\\nand a newline')"
        for i in range(1, orders + 1)
    )
    box.sql("primary", f"INSERT INTO shop.orders VALUES {values}", app=True)


def drop_orders_and_recover(box: Sandbox, mode: str, later_writes: int = 2) -> tuple[int, int]:
    """The disaster (DROP TABLE shop.orders, then ordinary writes), indexed, recovered with
    `recover --before` or `--skip`; returns the orders' fingerprint from before the disaster."""
    create_shop(box)
    orders = fingerprint(box, "primary", "shop.orders")
    assert orders is not None
    box.sql("primary", "DROP TABLE shop.orders", app=True)
    for i in range(later_writes):
        box.sql("primary", f"INSERT INTO shop.audit (what) VALUES ('after {i}')", app=True)
    indexed = box.drkit("index")
    assert indexed.returncode == 0, indexed.stderr
    done, report = drkit_json(box, "recover", f"--{mode}", "latest-destructive", "--yes")
    assert done.returncode == 0, done.stderr
    assert report["verified"] is True
    assert fingerprint(box, "delayed", "shop.orders") == orders
    return orders


def run_drkit(
    config: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The real CLI on another config file (the sandbox's own helper always passes drkit.toml)."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("DRKIT_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "drkit", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )
