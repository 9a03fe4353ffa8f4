"""The console keeps invariant 1: a plan that would apply an earlier, unapplied DROP is refused,
lists it, and is made only once the operator names it (the console's --through), and then runs."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.message import Message
from textual.widgets import Static

from drkit.index.store import Filters
from tests.support.sandbox import Sandbox
from tests.tui.conftest import until
from tests.tui.test_incident_path import console, first
from tui.messages import RecoveryCrossesDestructive, RecoveryPrepared
from tui.screens.recovery import RecoveryScreen


def test_an_earlier_drop_in_the_range_must_be_named_before_the_plan_is_shown(
    sandbox: Sandbox,
) -> None:
    messages: list[Message] = []
    app = console(sandbox)  # shop.customers and shop.orders, indexed
    sandbox.sql("primary", "DROP TABLE shop.orders")
    sandbox.sql("primary", "DROP TABLE shop.customers")
    assert sandbox.drkit("index").returncode == 0
    drops = app.ops.search(Filters(destructive=True))
    later, earlier = drops[0], drops[1]
    assert "customers" in later.statement and "orders" in earlier.statement

    async def scenario() -> None:
        async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
            await until(pilot, lambda: app.observation, "a first status")
            screen = RecoveryScreen(later)
            await app.push_screen(screen)
            refused: Any = await until(
                pilot, lambda: first(messages, RecoveryCrossesDestructive), "the refusal"
            )
            assert refused.ids == (earlier.id,)
            shown = str(screen.query_one("#plan", Static).render())
            assert f"#{earlier.id}" in shown and "press o" in shown
            assert screen.prepared is None, "no plan to confirm while the DROP is unnamed"
            await pilot.press("o")
            prepared: Any = await until(
                pilot, lambda: first(messages, RecoveryPrepared), "the plan with it named"
            )
            assert prepared.prepared.request.stop.id == later.id
            assert [t.id for t in prepared.prepared.request.through] == [earlier.id]
            assert any("named with --through" in n for n in prepared.prepared.plan.notes)
            prepared.prepared.release()

    asyncio.run(scenario())
    # Nothing ran: the delayed replica still replicates with its delay.
    status = sandbox.replica_status("delayed")
    assert status["SQL_Delay"] == 3600 and status["Slave_SQL_Running"] == "Yes"
