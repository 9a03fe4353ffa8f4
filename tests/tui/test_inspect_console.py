"""The Inspect screen (issue 17) on a real sandbox at 80x24: T typed, the plan exactly as --dry-run
prints it, the answer as of T page by page, CSV export, the replica held at T until leaving asks;
then a T past an unnamed DROP is refused and `o` names it, as the recovery screen does."""

from __future__ import annotations

import asyncio
import csv
import time
from typing import Any

from textual.message import Message
from textual.widgets import DataTable, Static, TextArea

from drkit.service import Operations
from drkit.timeparse import iso
from tests.support.sandbox import Sandbox
from tests.tui.conftest import until
from tests.tui.test_incident_path import first
from tui.app import DrkitApp
from tui.messages import (
    InspectAnswered,
    InspectPrepared,
    OperationFailed,
    RecoveryCrossesDestructive,
)
from tui.screens.dashboard import DashboardScreen
from tui.screens.inspect import PAGE, InspectScreen, LeaveInspection

QUERY = "SELECT id, total FROM shop.orders ORDER BY id"


def at(box: Sandbox, when: float, *statements: str) -> None:
    """Statements on the primary, committed at `when` as far as the binlog says."""
    box.sql("primary", f"SET timestamp = {when:.0f}", *statements, app=True)


def order_history(box: Sandbox, now: float) -> float:
    """Order 42's total goes 10 -> 20 -> 30 (150 orders in all); the moment it was 20."""
    at(box, now - 900, "CREATE DATABASE shop")
    values = ", ".join(f"({n}, {10 if n == 42 else n})" for n in range(1, 151))
    at(
        box,
        now - 900,
        "CREATE TABLE shop.orders (id INT PRIMARY KEY, total INT)",
        f"INSERT INTO shop.orders VALUES {values}",
    )
    at(box, now - 600, "UPDATE shop.orders SET total = 20 WHERE id = 42")
    at(box, now - 540, "UPDATE shop.orders SET total = 30 WHERE id = 42")
    assert box.drkit("index").returncode == 0
    return now - 570


def cells(table: DataTable[Any]) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def open_inspect(pilot: Any, app: DrkitApp, when: str) -> InspectScreen:
    await pilot.press("i")
    screen = await until(
        pilot, lambda: app.screen if isinstance(app.screen, InspectScreen) else None, "Inspect"
    )
    await pilot.press(*when, "enter")
    editor = screen.query_one("#query", TextArea)
    assert app.focused is editor
    assert editor.language == "sql", "tree-sitter's SQL grammar is a dependency: highlighted"
    await pilot.press(*QUERY)
    await pilot.press("ctrl+r")
    return screen


def test_inspect_at_t_pages_exports_and_restores_the_delay_on_leaving(sandbox: Sandbox) -> None:
    now = time.time()
    then = order_history(sandbox, now)
    messages: list[Message] = []
    app = DrkitApp(
        Operations(sandbox.config(), command="drkit tui"), refresh_every=0.5, status_timeout=5
    )

    async def scenario() -> None:
        async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
            await until(pilot, lambda: app.observation, "a first status")
            # The dashboard says which past can be seen, as `drkit status` computes it: nothing
            # of the index applied yet, the replica's position is unknown to it.
            window = str(app.screen.query_one("#window", Static).render())
            assert window.startswith("delayed: unknown"), window

            screen = await open_inspect(pilot, app, iso(then))
            prepared = await until(pilot, lambda: first(messages, InspectPrepared), "the plan")
            dry = await asyncio.to_thread(
                sandbox.drkit, "inspect", "--at", iso(then), "-e", QUERY, "--dry-run"
            )
            assert dry.returncode == 0, dry.stderr
            shown = str(screen.query_one("#inspect-plan", Static).render())
            assert shown == prepared.prepared.plan.render()
            assert dry.stdout.startswith(shown + "\n"), "the plan is what --dry-run prints"
            assert sandbox.replica_status("delayed")["SQL_Delay"] == 3600, "nothing ran yet"
            countdown = str(screen.query_one("#countdown", Static).render())
            assert countdown.startswith("delayed running, delay 1h00m00s"), countdown

            await pilot.press("enter")  # the run button has the focus once the plan is shown
            answered = await until(
                pilot,
                lambda: first(messages, InspectAnswered) or first(messages, OperationFailed),
                "the answer",
            )
            assert isinstance(answered, InspectAnswered), answered.text
            report = answered.report
            assert report.held and report.recovery.verified
            rows = cells(screen.query_one("#results", DataTable))
            assert len(rows) == PAGE and rows[41] == ["42", "20"], rows[41]
            assert "rows 1-100 of 150" in str(screen.query_one("#page-info", Static).render())
            await pilot.press("ctrl+n")
            rows = cells(screen.query_one("#results", DataTable))
            assert rows[0] == ["101", "101"] and len(rows) == 50
            # Held at T: the applier is stopped while the operator queries.
            held = sandbox.replica_status("delayed")
            assert held["Slave_SQL_Running"] == "No"
            assert sandbox.value("delayed", "SELECT total FROM shop.orders WHERE id = 42") == 20
            await until(
                pilot,
                lambda: "STOPPED" in str(screen.query_one("#countdown", Static).render()),
                "the countdown showing the held applier",
            )

            await pilot.press("ctrl+s")
            exported = sorted(sandbox.config().folder.glob("inspect-*.csv"))
            assert len(exported) == 1
            assert exported[0].stat().st_mode & 0o077 == 0, "only the operator reads it"
            with exported[0].open(newline="") as handle:
                table = list(csv.reader(handle))
            assert table[0] == ["id", "total"] and len(table) == 151
            assert table[42] == ["42", "20"]

            # Another query at the same T while held: planned again (nothing left to roll), run.
            messages.clear()
            editor = screen.query_one("#query", TextArea)
            editor.text = "SELECT total FROM shop.orders WHERE id = 42"
            editor.focus()
            await pilot.press("ctrl+r")
            again = await until(pilot, lambda: first(messages, InspectPrepared), "the plan again")
            assert again.prepared.request.stop.id == prepared.prepared.request.stop.id
            await pilot.press("enter")
            second = await until(
                pilot,
                lambda: first(messages, InspectAnswered) or first(messages, OperationFailed),
                "the second answer",
            )
            assert isinstance(second, InspectAnswered), second.text
            assert [list(r) for r in second.report.results[0].rows] == [[20]]
            assert cells(screen.query_one("#results", DataTable)) == [["20"]]

            # Leaving asks; r restores the delay and restarts replication, as `drkit resume`.
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, LeaveInspection), "the question")
            await pilot.press("r")
            await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")
            resumed = sandbox.replica_status("delayed")
            assert resumed["SQL_Delay"] == 3600 and resumed["Slave_SQL_Running"] == "Yes"
            # Now it has applied up to T: the past from there on can be seen by rolling forward.
            app.refresh_status()
            await until(
                pilot,
                lambda: (
                    f"delayed: inspect {iso(round(now - 600))} .. {iso(round(now - 540))} (rolling"
                    in str(app.screen.query_one("#window", Static).render())
                ),
                "the inspectable window",
            )

            # A T before what the replica applied cannot be reached forward: the window is named.
            messages.clear()
            screen = await open_inspect(pilot, app, iso(now - 700))
            await until(pilot, lambda: first(messages, OperationFailed), "the refusal")
            text = str(screen.query_one("#inspect-plan", Static).render())
            assert "earlier than what the delayed replica" in text, text
            assert "rolling forward reaches" in text and "asof" in text, text
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")

            # A T past an unnamed DROP is refused; o names it and the plan is shown again.
            at(sandbox, now - 450, "DROP TABLE shop.orders")
            assert (await asyncio.to_thread(sandbox.drkit, "index")).returncode == 0
            before = sandbox.value("delayed", "SELECT @@gtid_current_pos")
            messages.clear()
            screen = await open_inspect(pilot, app, iso(now - 300))
            refused = await until(
                pilot, lambda: first(messages, RecoveryCrossesDestructive), "the refusal"
            )
            text = str(screen.query_one("#inspect-plan", Static).render())
            assert "press o" in text and f"#{refused.ids[0]}" in text
            await pilot.press("o")
            named = await until(pilot, lambda: first(messages, InspectPrepared), "named")
            assert [t.id for t in named.prepared.request.through] == list(refused.ids)
            assert any("named with --through" in n for n in named.prepared.plan.notes)
            await pilot.press("escape")  # nothing held: it leaves without asking
            await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")
            assert sandbox.value("delayed", "SELECT @@gtid_current_pos") == before

    asyncio.run(scenario())
