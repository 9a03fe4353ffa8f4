"""Sample application data for demos (written through the application account)."""

from __future__ import annotations

from dataclasses import replace

from drkit.config import PasswordSource
from drkit.io.mysql import connect
from drkit.sandbox.layout import SandboxLayout
from drkit.sandbox.state import SandboxState
from drkit.sandbox.topology import admin_node


def write_sample_data(layout: SandboxLayout, state: SandboxState, orders: int = 100) -> str:
    """Create shop.customers and shop.orders on the primary and fill them; returns a summary."""
    from drkit.dialect.workload import sample_schema_statements

    node = replace(
        admin_node(layout, state, "primary"),
        user=state.application.user,
        password=PasswordSource(literal=state.application.password),
    )
    with connect(node) as session:
        for sql in sample_schema_statements(orders):
            session.run(sql)
        count = session.one(session.dialect.count_rows("shop.orders"))
    return f"shop.orders holds {count['n'] if count else '?'} rows on the primary"
