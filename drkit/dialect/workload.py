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
