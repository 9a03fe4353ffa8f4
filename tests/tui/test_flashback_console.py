"""The late-notice path in the console, on a real sandbox: a DELETE the delayed replica would
apply anyway, b on its timeline row, the plan, a conflict listed with nothing applied, then the
row settled and the flashback typed, run and verified; h shows one row's history."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.message import Message
from textual.widgets import DataTable, Input, Static

from drkit.sandbox.layout import SandboxLayout
from drkit.sandbox.workload import write_sample_data
from drkit.service import Operations
from tests.support.sandbox import Sandbox
from tests.support.workload import fingerprint
from tests.tui.conftest import until
from tui.app import DrkitApp
from tui.messages import FlashbackApplied, OperationFailed
from tui.screens.flashback import FlashbackPlanned, FlashbackScreen, HistoryRead, HistoryScreen
from tui.screens.timeline import TimelineScreen


def first(messages: list[Message], kind: type[Any]) -> Any:
    return next((m for m in messages if isinstance(m, kind)), None)


async def open_flashback(pilot: Any, app: DrkitApp, messages: list[Message]) -> FlashbackScreen:
    """t, x (destructive only: the DELETE is the newest), b; the plan is shown."""
    messages.clear()
    await pilot.press("t")
    timeline = await until(
        pilot,
        lambda: app.screen if isinstance(app.screen, TimelineScreen) else None,
        "the timeline",
    )
    table = timeline.query_one("#rows", DataTable)
    if not timeline.query_one("#destructive").value:
        await pilot.press("x")
    await until(
        pilot,
        lambda: (
            table.row_count >= 1 and "DELETE" in str(timeline.query_one("#detail", Static).render())
        ),
        "the DELETE highlighted",
    )
    await pilot.press("b")
    screen = await until(
        pilot,
        lambda: app.screen if isinstance(app.screen, FlashbackScreen) else None,
        "the flashback screen",
    )
    planned = await until(pilot, lambda: first(messages, FlashbackPlanned), "the plan")
    shown = str(screen.query_one("#plan", Static).render())
    assert planned.plan.render() in shown and "INSERT INTO `shop`.`orders`" in shown
    await pilot.click("#confirm-name")
    await pilot.press(*"primary", "enter")
    return screen


def test_flashback_from_the_timeline_with_a_conflict_then_verified(sandbox: Sandbox) -> None:
    write_sample_data(SandboxLayout(sandbox.directory.resolve()), sandbox.state)
    before = fingerprint(sandbox, "primary", "shop.orders")
    sandbox.sql("primary", "DELETE FROM shop.orders", app=True)
    # The application went on, and wrote one of the deleted keys again.
    sandbox.sql("primary", "INSERT INTO shop.orders (id, customer_id, total) VALUES (3, 1, 1.00)")
    assert sandbox.drkit("index").returncode == 0
    damaged = fingerprint(sandbox, "primary", "shop.orders")
    messages: list[Message] = []
    app = DrkitApp(
        Operations(sandbox.config(), command="drkit tui"), refresh_every=0.5, status_timeout=5
    )

    async def scenario() -> None:
        async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
            await until(pilot, lambda: app.observation, "a first status")
            await open_flashback(pilot, app, messages)
            failed = await until(pilot, lambda: first(messages, OperationFailed), "the conflict")
            assert "1 row changed since the disaster" in failed.text
            assert "id=3" in failed.text
            assert fingerprint(sandbox, "primary", "shop.orders") == damaged

            # h: the row's history, from the archive: inserted, deleted, inserted again.
            await pilot.press("h")
            history = await until(
                pilot,
                lambda: app.screen if isinstance(app.screen, HistoryScreen) else None,
                "the history screen",
            )
            assert history.query_one("#history-table", Input).value == "shop.orders"
            await pilot.press(*"id=3", "enter")
            read = await until(pilot, lambda: first(messages, HistoryRead), "the history")
            assert [v.operation for v in read.history.versions] == ["insert", "delete", "insert"]

            # Settled by hand; the flashback again, applied and verified.
            await asyncio.to_thread(sandbox.sql, "primary", "DELETE FROM shop.orders WHERE id = 3")
            await pilot.press("escape", "escape")
            await open_flashback(pilot, app, messages)
            done = await until(
                pilot,
                lambda: first(messages, FlashbackApplied) or first(messages, OperationFailed),
                "the end of the flashback",
            )
            assert isinstance(done, FlashbackApplied), done.text
            assert done.report.verified and done.report.applied == 100

    asyncio.run(scenario())
    assert fingerprint(sandbox, "primary", "shop.orders") == before
