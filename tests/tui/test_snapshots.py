"""How the console looks at 80x24, from fixed values (tests/tui/fake.py): dashboard, timeline, plan."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from tests.tui.fake import NOW, FakeOperations
from tui.app import DrkitApp


def fake_console() -> DrkitApp:
    return DrkitApp(FakeOperations(), clock=lambda: NOW, refresh_every=0)


async def settled(pilot: Pilot[Any]) -> None:
    """Wait until every worker has posted and every message has been handled."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_dashboard(snap_compare: Any) -> None:
    assert snap_compare(fake_console(), run_before=settled)


def test_timeline(snap_compare: Any) -> None:
    async def open_timeline(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        await pilot.press("t")
        await settled(pilot)
        await pilot.press("down", "down")
        await settled(pilot)

    assert snap_compare(fake_console(), run_before=open_timeline)


def test_plan_screen(snap_compare: Any) -> None:
    async def open_plan(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        await pilot.press("t", "x")
        await settled(pilot)
        await pilot.press("enter")
        await settled(pilot)
        await pilot.click("#confirm-name")
        pilot.app.screen.query_one("#confirm-name", Input).cursor_blink = False
        await pilot.press(*"delay")
        await pilot.pause()

    assert snap_compare(fake_console(), run_before=open_plan)


def test_inspect_screen(snap_compare: Any) -> None:
    """The Inspect screen after an answer: T, the countdown, the window, the query, the page."""

    async def answer(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        await pilot.press("i")
        await settled(pilot)
        pilot.app.screen.query_one("#at", Input).cursor_blink = False
        await pilot.press(*"-20m", "enter")
        await pilot.press(*"SELECT * FROM shop.orders")
        await pilot.press("ctrl+r")
        await settled(pilot)
        await pilot.press("enter")
        await settled(pilot)

    assert snap_compare(fake_console(), run_before=answer)
