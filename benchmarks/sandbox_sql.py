"""Plain SQL on a sandbox node, for the baselines the benchmarks time beside drkit (no drkit code
between the script and the server)."""

from __future__ import annotations

from typing import Any

import mysql.connector


def connect(state: Any, node: str) -> Any:
    """An autocommit connection to a sandbox node as its admin account (pure Python protocol)."""
    return mysql.connector.connect(
        host="127.0.0.1",
        port=state.nodes[node].port,
        user=state.admin.user,
        password=state.admin.password,
        autocommit=True,
        use_pure=True,
    )


def rows(conn: Any, sql: str) -> list[dict[str, Any]]:
    cur = conn.cursor(dictionary=True)
    cur.execute(sql)
    found = cur.fetchall() if cur.with_rows else []
    cur.close()
    return list(found)


def one(conn: Any, sql: str) -> dict[str, Any] | None:
    found = rows(conn, sql)
    return found[0] if found else None
