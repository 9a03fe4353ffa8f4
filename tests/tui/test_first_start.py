"""The console on its worst day: no index yet, then every node down. It says so and stays usable."""

from __future__ import annotations

import asyncio

from textual.message import Message
from textual.widgets import DataTable, Static

from drkit.service import Operations
from tests.support.sandbox import Sandbox
from tests.tui.conftest import until
from tui.app import DrkitApp
from tui.messages import OperationFailed
from tui.screens.timeline import TimelineScreen


def test_no_index_then_every_node_down(sandbox: Sandbox) -> None:
    config = sandbox.config()
    assert not config.index.path.exists()
    messages: list[Message] = []
    app = DrkitApp(Operations(config, command="drkit tui"), refresh_every=0.5)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
            observation = await until(pilot, lambda: app.observation, "a first status")
            assert observation.alarm is None
            dashboard = app.screen
            index = str(dashboard.query_one("#index", Static).render())
            assert index.startswith("no index yet at ") and "drkit index --follow" in index

            await pilot.press("t")
            timeline = await until(
                pilot,
                lambda: app.screen if isinstance(app.screen, TimelineScreen) else None,
                "the timeline",
            )
            where = timeline.query_one("#where", Static)
            await until(pilot, lambda: "no index at" in str(where.render()), "no index said")
            assert "drkit index" in str(where.render())  # the hint
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is dashboard, "the dashboard")

            for node in ("primary", "replica", "delayed"):
                sandbox.kill(node)
            await until(
                pilot,
                lambda: (
                    app.observation and not any(n.reachable for n in app.observation.status.nodes)
                ),
                "every node down",
            )
            nodes = dashboard.query_one("#nodes", DataTable)
            await until(
                pilot,
                lambda: all(
                    str(nodes.get_cell(n, "state")) == "DOWN" for n in ("primary", "delayed")
                ),
                "DOWN in every row",
            )
            detail = dashboard.query_one("#node-detail", Static)
            assert "alarm unknown: delayed is unreachable" in str(detail.render())
            await pilot.press("f")
            failed = await until(
                pilot,
                lambda: next(
                    (m for m in messages if isinstance(m, OperationFailed) and m.what == "freeze"),
                    None,
                ),
                "the freeze refused",
            )
            assert failed.message.startswith("cannot freeze delayed")
            assert "Traceback" not in failed.text
            assert app.is_running and app.screen is dashboard

    asyncio.run(scenario())
