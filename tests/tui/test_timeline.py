"""The timeline on a real index: pages as the cursor reaches the end, filters by table and time."""

from __future__ import annotations

import asyncio

from textual.widgets import DataTable, Input, Static

from drkit.index.store import Filters
from drkit.service import Operations
from tests.support.sandbox import Sandbox
from tests.tui.conftest import until
from tui.app import DrkitApp
from tui.screens.timeline import PAGE, TimelineScreen


def test_paging_and_filters(sandbox: Sandbox) -> None:
    sandbox.sql(
        "primary",
        "CREATE DATABASE shop",
        "CREATE TABLE shop.orders (id INT PRIMARY KEY)",
        "CREATE TABLE shop.carts (id INT PRIMARY KEY)",
        *(f"INSERT INTO shop.orders VALUES ({n})" for n in range(1, 121)),
        "INSERT INTO shop.carts VALUES (1)",
        "INSERT INTO shop.carts VALUES (2)",
    )
    assert sandbox.drkit("index").returncode == 0
    ops = Operations(sandbox.config(), command="drkit tui")
    newest_ids = [tx.id for tx in ops.search(Filters(limit=None))]
    assert 2 * PAGE < len(newest_ids) < 3 * PAGE  # three pages, the last one short
    app = DrkitApp(ops, refresh_every=0)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("t")
            screen = await until(
                pilot,
                lambda: app.screen if isinstance(app.screen, TimelineScreen) else None,
                "the timeline",
            )
            table = screen.query_one("#rows", DataTable)
            where = screen.query_one("#where", Static)
            await until(pilot, lambda: table.row_count == PAGE, "the first page")
            assert "more below" in str(where.render())
            assert [int(str(k.value)) for k in table.rows] == newest_ids[:PAGE]

            # The cursor at the end of the page reads the next one, and the next, until the end.
            await pilot.press("ctrl+end")
            await until(pilot, lambda: table.row_count == 2 * PAGE, "the second page")
            await pilot.press("ctrl+end")
            await until(pilot, lambda: table.row_count == len(newest_ids), "the last page")
            assert [int(str(k.value)) for k in table.rows] == newest_ids
            assert "more below" not in str(where.render())

            # A table filter: the two carts rows, and the CREATE TABLE (schema changes count).
            await pilot.press("slash")
            await pilot.press(*"shop.carts", "enter")
            await until(pilot, lambda: table.row_count == 3, "the shop.carts rows")
            statements = [str(table.get_row_at(i)[4]) for i in range(3)]
            assert statements[:2] == [
                "INSERT INTO shop.carts VALUES (2)",
                "INSERT INTO shop.carts VALUES (1)",
            ]
            assert statements[2].startswith("CREATE TABLE shop.carts")
            assert "table shop.carts" in str(where.render())

            # A time window in the future holds nothing; a bad time is a sentence, not a crash.
            since = screen.query_one("#since", Input)
            since.value = "2999-01-01T00:00:00Z"
            since.focus()
            await pilot.press("enter")
            await until(pilot, lambda: "nothing matches" in str(where.render()), "no rows")
            assert table.row_count == 0
            since.value = "yesterday-ish"
            since.focus()
            await pilot.press("enter")
            await until(pilot, lambda: "not a time" in str(where.render()), "the bad time said")
            assert app.is_running

    asyncio.run(scenario())
