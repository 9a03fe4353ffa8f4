"""A dead or stalled node shows on the dashboard, and the console answers keys meanwhile."""

from __future__ import annotations

import asyncio
import os
import signal

from textual.message import Message
from textual.widgets import DataTable, Static

from drkit.service import Operations
from tests.support.sandbox import Sandbox
from tests.tui.conftest import until
from tui.app import DrkitApp
from tui.messages import StatusGathered
from tui.screens.dashboard import DashboardScreen
from tui.screens.help import HelpScreen
from tui.screens.timeline import TimelineScreen


def reachable(app: DrkitApp, node: str) -> bool | None:
    observation = app.observation
    facts = observation.status.node(node) if observation else None
    return None if facts is None else facts.reachable


def test_killed_node_shows_unreachable_and_the_console_stays_responsive(sandbox: Sandbox) -> None:
    app = DrkitApp(Operations(sandbox.config(), command="drkit tui"), refresh_every=0.5)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: reachable(app, "replica"), "the replica up")
            sandbox.kill("replica")
            await until(pilot, lambda: reachable(app, "replica") is False, "the replica down")
            dashboard = app.screen
            assert isinstance(dashboard, DashboardScreen)
            nodes = dashboard.query_one("#nodes", DataTable)
            await until(
                pilot,
                lambda: str(nodes.get_cell("replica", "state")) == "DOWN",
                "DOWN in the replica's row",
            )
            assert str(nodes.get_cell("primary", "state")) == "up"
            assert "unreachable" in str(nodes.get_cell("replica", "last error"))
            await pilot.press("down")  # the replica's row: its detail says why
            detail = str(dashboard.query_one("#node-detail", Static).render())
            assert "replica" in detail and "unreachable" in detail

            # Keys still work: help opens and closes, the timeline opens.
            await pilot.press("question_mark")
            await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is dashboard, "the dashboard again")
            await pilot.press("t")
            await until(pilot, lambda: isinstance(app.screen, TimelineScreen), "the timeline")

    asyncio.run(scenario())


def test_a_stalled_node_never_freezes_the_screen(sandbox: Sandbox) -> None:
    """SIGSTOP the primary: a status round hangs on it while the console keeps answering keys."""
    messages: list[Message] = []
    # No periodic refresh: this test starts the one round it watches.
    app = DrkitApp(
        Operations(sandbox.config(), command="drkit tui"), refresh_every=0, status_timeout=60
    )
    pid = sandbox.state.nodes["primary"].pid
    assert pid is not None

    async def scenario() -> None:
        async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
            await until(pilot, lambda: app.observation, "a first status")
            os.kill(pid, signal.SIGSTOP)
            try:
                rounds = sum(isinstance(m, StatusGathered) for m in messages)
                app.refresh_status()
                worker = app._status_worker
                assert worker is not None
                await pilot.press("question_mark")
                await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
                await pilot.press("escape")
                await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "dashboard")
                # The round is still out, held by the stopped primary, and nothing waited for it.
                assert worker.is_running
                assert sum(isinstance(m, StatusGathered) for m in messages) == rounds
            finally:
                os.kill(pid, signal.SIGCONT)
            await until(
                pilot,
                lambda: sum(isinstance(m, StatusGathered) for m in messages) > rounds,
                "the round finishing once the primary runs again",
            )

    asyncio.run(scenario())
