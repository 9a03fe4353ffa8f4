"""The whole incident, driven through the console against a real sandbox: a DROP TABLE raises the
alarm, f freezes, the timeline picks it, stop-before is planned, typed, run and verified, the table
is extracted back into the primary, and the delayed replica promoted behind HAProxy; on another
sandbox, a recovered replica is resumed from the console with the DROP named.

One recovery through the console serves the audit, extraction and promotion checks (each replay
cost a sandbox and a recovery); the resume test recovers with the CLI, as it only needs the state."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Static

from drkit.sandbox.layout import SandboxLayout
from drkit.sandbox.workload import write_sample_data
from drkit.service import Operations
from tests.support.sandbox import Sandbox
from tests.tui.conftest import until
from tui.app import DrkitApp
from tui.messages import (
    AuditRead,
    ChecklistGathered,
    Frozen,
    OperationFailed,
    PlanExecuted,
    PlanReady,
    RecoveryFinished,
    RecoveryPrepared,
    RecoveryProgressed,
)
from tui.screens.dashboard import DashboardScreen
from tui.screens.recovery import RecoveryScreen
from tui.screens.timeline import TimelineScreen
from tui.widgets.alarm import AlarmBanner


def first(messages: list[Message], kind: type[Any]) -> Any:
    return next((m for m in messages if isinstance(m, kind)), None)


def console(sandbox: Sandbox) -> DrkitApp:
    """The console on a sandbox whose primary holds shop.orders, indexed, nothing destructive yet."""
    write_sample_data(SandboxLayout(sandbox.directory.resolve()), sandbox.state)
    assert sandbox.drkit("index").returncode == 0
    return DrkitApp(
        Operations(sandbox.config(), command="drkit tui"), refresh_every=0.5, status_timeout=5
    )


async def recover_from_the_alarm(
    pilot: Pilot[Any], app: DrkitApp, sandbox: Sandbox, messages: list[Message]
) -> RecoveryScreen:
    """DROP TABLE, alarm, f, timeline, x, Enter, stop-before, typed name, Run, verified."""
    first_look = await until(pilot, lambda: app.observation, "a first status")
    assert first_look.alarm is None  # nothing destructive indexed yet
    assert [n.name for n in first_look.status.nodes] == ["primary", "replica", "delayed"]

    # The mistake, and the indexer picking it up.
    sandbox.sql("primary", "DROP TABLE shop.orders")
    indexed = await asyncio.to_thread(sandbox.drkit, "index")
    assert indexed.returncode == 0, indexed.stderr
    alarm = await until(pilot, lambda: app.observation and app.observation.alarm, "the alarm")
    assert alarm.transaction.destructive.category == "drop_table"
    assert alarm.applier_running
    banner = app.screen.query_one(AlarmBanner)
    assert banner.display
    shown = str(banner.render())
    assert "ALARM" in shown and "DROP TABLE `shop`.`orders`" in shown
    assert f"#{alarm.transaction.id}" in shown

    # f: freeze now, one key.
    await pilot.press("f")
    frozen = await until(pilot, lambda: first(messages, Frozen), "the freeze")
    assert frozen.report.was_running
    assert sandbox.replica_status("delayed")["Slave_SQL_Running"] == "No"
    await until(pilot, lambda: "FROZEN" in str(banner.render()), "the banner turning to FROZEN")

    # t: the timeline, destructive only, the DROP TABLE is the one row.
    await pilot.press("t")
    timeline = await until(
        pilot,
        lambda: app.screen if isinstance(app.screen, TimelineScreen) else None,
        "the timeline",
    )
    table = timeline.query_one("#rows", DataTable)
    await until(pilot, lambda: table.row_count >= 6, "the indexed transactions")
    await pilot.press("x")
    await until(pilot, lambda: table.row_count == 1, "only the destructive row")
    detail = str(timeline.query_one("#detail", Static).render())
    assert "DROP TABLE" in detail and alarm.transaction.gtid in detail
    await pilot.press("enter")

    # The plan, exactly as --dry-run prints it.
    screen = await until(
        pilot,
        lambda: app.screen if isinstance(app.screen, RecoveryScreen) else None,
        "the recovery screen",
    )
    prepared = await until(pilot, lambda: first(messages, RecoveryPrepared), "the recovery plan")
    assert prepared.mode == "before"
    target = str(alarm.transaction.id)
    dry_run = await asyncio.to_thread(sandbox.drkit, "recover", "--before", target, "--dry-run")
    assert dry_run.returncode == 0, dry_run.stderr
    shown_plan = str(screen.query_one("#plan", Static).render())
    assert prepared.prepared.plan.render() == dry_run.stdout.rstrip("\n")
    assert shown_plan == dry_run.stdout.rstrip("\n")

    # Confirm by typing the node's name: a wrong name leaves Run disabled.
    run = screen.query_one("#confirm-run", Button)
    await pilot.click("#confirm-name")
    await pilot.press(*"delaye")
    await pilot.pause()
    assert run.disabled
    await pilot.press("x")
    await pilot.pause()
    assert run.disabled
    await pilot.press("backspace", "d")
    await pilot.pause()
    assert screen.query_one("#confirm-name", Input).value == "delayed"
    assert not run.disabled
    await pilot.click("#confirm-run")

    finished = await until(
        pilot,
        lambda: first(messages, RecoveryFinished) or first(messages, OperationFailed),
        "the end of the recovery",
    )
    assert isinstance(finished, RecoveryFinished), finished.text
    assert finished.report.verified
    assert first(messages, RecoveryProgressed) is not None
    checks = screen.query_one("#verification", DataTable)
    rows = [[str(cell) for cell in checks.get_row_at(i)] for i in range(checks.row_count)]
    assert ["ok", "table shop.orders", "exists with 100 rows (`shop`.`orders`)"] in rows
    assert sandbox.value("delayed", "SELECT COUNT(*) FROM shop.orders") == 100
    assert (
        sandbox.value(
            "primary",
            "SELECT COUNT(*) FROM information_schema.tables "
            "WHERE table_schema = 'shop' AND table_name = 'orders'",
        )
        == 0
    )
    assert app.busy is None
    return screen


def test_drop_table_from_alarm_to_recovery_extract_and_promotion(haproxy_sandbox: Sandbox) -> None:
    sandbox = haproxy_sandbox
    messages: list[Message] = []
    app = console(sandbox)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
            await recover_from_the_alarm(pilot, app, sandbox, messages)
            await audit_shows_the_recovery(pilot, app, messages)
            await extract_brings_the_table_back(pilot, app, sandbox, messages)
            await promotion_shows_checks_plan_and_fates(pilot, app, sandbox, messages)

    asyncio.run(scenario())


async def audit_shows_the_recovery(
    pilot: Pilot[Any], app: DrkitApp, messages: list[Message]
) -> None:
    """Back to the dashboard, then the audit log: the recovery is its newest record."""
    await pilot.press("escape", "escape")
    await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")
    await pilot.press("a")
    read = await until(pilot, lambda: first(messages, AuditRead), "the audit log")
    assert read.records[0]["kind"] == "recovery-done"
    assert read.records[0]["verified"] is True
    records = app.screen.query_one("#records", DataTable)
    assert str(records.get_row_at(0)[1]) == "recovery-done"
    assert any(r.get("statement") == "STOP SLAVE SQL_THREAD" for r in read.records)
    await pilot.press("escape")
    await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")


async def extract_brings_the_table_back(
    pilot: Pilot[Any], app: DrkitApp, sandbox: Sandbox, messages: list[Message]
) -> None:
    """e: extract shop.orders back into the primary, typed confirmation of the primary."""
    await pilot.press("e")
    await until(pilot, lambda: first(messages, PlanReady), "the extraction plan")
    await pilot.click("#confirm-name")
    await pilot.press(*"primary", "enter")
    done = await until(
        pilot,
        lambda: first(messages, PlanExecuted) or first(messages, OperationFailed),
        "the end of the extraction",
    )
    assert isinstance(done, PlanExecuted), done.text
    assert sandbox.value("primary", "SELECT COUNT(*) FROM shop.orders") == 100
    checksum = "CHECKSUM TABLE shop.orders"
    assert (
        sandbox.sql("primary", checksum)[0]["Checksum"]
        == sandbox.sql("delayed", checksum)[0]["Checksum"]
    )
    # Back on the dashboard the banner follows the servers: recovered, not "press r".
    await pilot.press("escape")
    await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")
    app.refresh_status()
    await until(
        pilot,
        lambda: "RECOVERED" in str(app.screen.query_one(AlarmBanner).render()),
        "the banner turning to RECOVERED",
    )
    messages.clear()  # the promotion's plan and result are told apart from the extraction's


async def promotion_shows_checks_plan_and_fates(
    pilot: Pilot[Any], app: DrkitApp, sandbox: Sandbox, messages: list[Message]
) -> None:
    await pilot.press("p")
    gathered = await until(
        pilot, lambda: first(messages, ChecklistGathered), "the promotion checklist"
    )
    screen = app.screen
    checks = screen.query_one("#checks", DataTable)
    verdict = screen.query_one("#verdict", Static)
    await until(pilot, lambda: "checking" not in str(verdict.render()), "the verdict")
    assert str(verdict.render()).startswith("promotion is possible")
    # The same verdict as `drkit check promotion`, computed by the same code.
    cli = await asyncio.to_thread(sandbox.drkit, "check", "promotion", "--json")
    assert cli.returncode == 0, cli.stdout
    assert json.loads(cli.stdout)["verdict"] == str(verdict.render())
    names = [str(checks.get_row_at(i)[1]) for i in range(checks.row_count)]
    assert names == [r.name for r in gathered.checklist.results]
    plan_button = screen.query_one("#plan-button", Button)
    blocking = list(getattr(gathered.checklist, "blocking", ()))
    assert plan_button.disabled == bool(blocking)
    assert not blocking, [r.reason for r in blocking]
    await pilot.click("#plan-button")
    ready = await until(pilot, lambda: first(messages, PlanReady), "the promotion plan")
    assert str(screen.query_one("#plan", Static).render()) == ready.plan.render()
    await pilot.click("#confirm-name")
    await pilot.press(*ready.plan.node, "enter")
    done = await until(
        pilot,
        lambda: first(messages, PlanExecuted) or first(messages, OperationFailed),
        "the end of the promotion",
    )
    assert isinstance(done, PlanExecuted), done.text
    result = str(screen.query_one("#plan", Static).render())
    for node in ("primary", "replica", "delayed"):
        assert node in result
    assert sandbox.value("delayed", "SELECT @@read_only") == 0
    # Afterwards there is nothing left to promote, in the console and the CLI alike.
    await pilot.press("ctrl+r")
    await until(pilot, lambda: "nothing to promote" in str(verdict.render()), "the new verdict")
    assert plan_button.disabled
    again = await asyncio.to_thread(sandbox.drkit, "promote", "--dry-run")
    assert again.returncode == 3, again.stdout
    assert "not-promoted-yet" in again.stderr


def test_resume_from_the_console_names_the_drop_and_the_banner_follows(sandbox: Sandbox) -> None:
    app = console(sandbox)
    sandbox.sql("primary", "DROP TABLE shop.orders")
    assert sandbox.drkit("index").returncode == 0
    assert sandbox.drkit("freeze").returncode == 0
    recovered = sandbox.drkit("recover", "--before", "latest-destructive", "--yes")
    assert recovered.returncode == 0, recovered.stderr

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(
                pilot,
                lambda: "RECOVERED" in str(app.screen.query_one(AlarmBanner).render()),
                "the banner saying RECOVERED",
            )
            # u: resume from the console; the engine wants the DROP named (o), then the name typed.
            await pilot.press("u")
            await until(
                pilot,
                lambda: "press o" in str(app.screen.query_one("#plan").render()),
                "the resume refusal",
            )
            await pilot.press("o")
            await until(
                pilot,
                lambda: app.focused is app.screen.query_one("#confirm-name"),
                "the resume plan",
            )
            await pilot.press(*"delayed", "enter")
            await until(
                pilot,
                lambda: "resumed" in str(app.screen.query_one("#result").render()),
                "the resume",
            )
            assert sandbox.replica_status("delayed")["SQL_Delay"] == 3600
            await pilot.press("escape")
            app.refresh_status()
            await until(
                pilot,
                lambda: "NAMED" in str(app.screen.query_one(AlarmBanner).render()),
                "the banner turning to NAMED",
            )

    asyncio.run(scenario())
