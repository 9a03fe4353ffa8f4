"""The console's navigation, focus, alarm states and resume (issue 18, items 1-3 and 8), driven with
Pilot at 80x24 over the fixed facade of tests/tui/fake.py."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Static

from drkit.checks.alarm import Alarm, AlarmState
from drkit.checks.result import CheckResult, PromotionChecklist
from drkit.dialect.sql import Sql
from drkit.errors import DestructiveInRange
from drkit.index.store import Filters
from drkit.plan.steps import Plan, SqlStep
from tests.tui.fake import DELAY, DROP, NOW, FakeOperations, status
from tui.app import DrkitApp
from tui.screens.dashboard import DashboardScreen
from tui.screens.promotion import PromotionScreen
from tui.screens.recovery import RecoveryScreen
from tui.screens.resume import ResumeScreen
from tui.screens.timeline import TimelineScreen
from tui.widgets.alarm import AlarmBanner


class Scripted(FakeOperations):
    """The fixed facade, with the alarm's state chosen by the test and every action recorded."""

    def __init__(self, state: AlarmState | None = None, *, alarm: bool = True) -> None:
        super().__init__()
        self.state = state
        self.with_alarm = alarm
        self.index_exists = True
        self.freezes = 0
        self.resumes: list[Plan] = []
        self.refuse_resume = True
        self.named: tuple[str, ...] = ()

    def status(self, timeout: float = 5.0) -> Any:
        found = status()
        if not self.index_exists and found.index is not None:
            found = replace(found, index=replace(found.index, exists=False))
        return found

    def alarm(self, facts: Any = None) -> Alarm | None:
        if not self.with_alarm:
            return None
        running = self.state in (None, AlarmState.RUNNING, AlarmState.NAMED, AlarmState.MISSED)
        return Alarm("delayed", DROP, DROP.timestamp + DELAY, running, self.state)

    def freeze(self, plan: Any = None, node: str | None = None) -> Any:
        self.freezes += 1
        return SimpleNamespace(
            node="delayed",
            was_running=True,
            executed_at="x",
            pending=0,
            first_destructive=None,
        )

    def plan_freeze(self, node: str | None = None) -> Any:
        return None

    def plan_resume(
        self, *, force: bool = False, node: str | None = None, through: tuple[str, ...] = ()
    ) -> Plan:
        self.named = through
        if self.refuse_resume and not through:
            raise DestructiveInRange("resuming replication would apply #200", None, (200,))
        return Plan(
            title="Resume delayed with a 3600s delay",
            node="delayed",
            steps=(SqlStep("delayed", Sql("START SLAVE"), "fetch and apply again, delayed"),),
        )

    def resume(self, plan: Plan, node: str | None = None) -> Any:
        self.resumes.append(plan)
        return status().node("delayed")


def console(ops: FakeOperations) -> DrkitApp:
    return DrkitApp(ops, clock=lambda: NOW, refresh_every=0)


async def settled(pilot: Pilot[Any]) -> None:
    for _ in range(2):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def banner(app: DrkitApp) -> str:
    return str(app.screen.query_one(AlarmBanner).render())


def test_t_opens_the_timeline_after_a_finished_recovery_not_the_recovery() -> None:
    app = console(FakeOperations())

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            await pilot.press("t", "x")
            await settled(pilot)
            await pilot.press("enter")
            await settled(pilot)
            recovery = app.screen
            assert isinstance(recovery, RecoveryScreen)
            recovery.report = SimpleNamespace()  # as after RecoveryFinished
            recovery.refresh_bindings()
            recovery.set_focus(None)
            await pilot.press("p")
            await settled(pilot)
            assert isinstance(app.screen, PromotionScreen)
            await pilot.press("escape")
            await settled(pilot)
            assert isinstance(app.screen, DashboardScreen)
            await pilot.press("t")
            await settled(pilot)
            assert isinstance(app.screen, TimelineScreen)
            assert len(app.screen_stack) == 1
            # Keys now go to the timeline: s is nobody's, p is not the recovery's promotion.
            await pilot.press("s")
            assert isinstance(app.screen, TimelineScreen)

    asyncio.run(scenario())


def test_a_running_recovery_is_kept_to_come_back_to() -> None:
    app = console(FakeOperations())

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            await pilot.press("t", "x")
            await settled(pilot)
            await pilot.press("enter")
            await settled(pilot)
            recovery = app.screen
            assert isinstance(recovery, RecoveryScreen)
            recovery.running = True
            app.action_mode("dashboard")
            await settled(pilot)
            app.action_mode("timeline")
            await settled(pilot)
            assert app.screen is recovery
            recovery.running = False

    asyncio.run(scenario())


def test_the_confirmation_field_has_the_focus_once_the_plan_is_shown() -> None:
    app = console(FakeOperations())

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            await pilot.press("t", "x")
            await settled(pilot)
            await pilot.press("enter")
            await settled(pilot)
            assert app.focused is app.screen.query_one("#confirm-name", Input)
            await pilot.press(*"delayed")
            await pilot.pause()
            assert app.screen.query_one("#confirm-name", Input).value == "delayed"
            assert not app.screen.query_one("#confirm-run", Button).disabled

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("state", "words"),
    [
        (None, ("ALARM", "press f to freeze now")),
        (AlarmState.FROZEN, ("FROZEN", "press r to recover")),
        (AlarmState.RECOVERED, ("RECOVERED", "u: resume")),
        (AlarmState.NAMED, ("NAMED", "applies it on purpose")),
        (AlarmState.MISSED, ("DELAY RAN OUT", "way back")),
    ],
)
def test_alarm_states_each_say_where_the_replica_stands_and_what_next(
    state: AlarmState | None, words: tuple[str, ...]
) -> None:
    app = console(Scripted(state))

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            shown = banner(app)
            for word in words:
                assert word in shown, shown
            # After a recovery the banner no longer asks for one.
            assert ("press r to recover" in shown) == (state is AlarmState.FROZEN)

    asyncio.run(scenario())


def test_k_acknowledges_and_z_snoozes_the_alarm() -> None:
    app = console(Scripted(AlarmState.RECOVERED))

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            widget = app.screen.query_one(AlarmBanner)
            assert "RECOVERED" in banner(app)
            await pilot.press("k")
            await pilot.pause()
            assert banner(app).startswith("acknowledged: recovered #200")
            assert widget.has_class("-acknowledged")
            await pilot.press("k")
            await pilot.pause()
            assert "RECOVERED" in banner(app)
            await pilot.press("z")
            await pilot.pause()
            assert not widget.display

    asyncio.run(scenario())


def test_r_with_nothing_destructive_opens_the_timeline_without_freezing() -> None:
    ops = Scripted(alarm=False)
    app = console(ops)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            await pilot.press("r")
            await settled(pilot)
            assert ops.freezes == 0
            assert isinstance(app.screen, TimelineScreen)

    asyncio.run(scenario())


def test_r_with_no_index_says_so_and_changes_nothing() -> None:
    ops = Scripted(alarm=False)
    ops.index_exists = False
    app = console(ops)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            await pilot.press("r")
            await settled(pilot)
            assert ops.freezes == 0
            assert isinstance(app.screen, DashboardScreen)
            assert any("no index yet" in n.message for n in app._notifications)

    asyncio.run(scenario())


def test_r_with_a_destructive_transaction_on_its_way_freezes_first() -> None:
    ops = Scripted(None)
    app = console(ops)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            await pilot.press("r")
            await settled(pilot)
            assert ops.freezes == 1
            assert isinstance(app.screen, TimelineScreen)

    asyncio.run(scenario())


def test_u_resumes_from_the_console_naming_what_the_engine_refuses_to_apply_unnamed() -> None:
    ops = Scripted(AlarmState.RECOVERED)
    app = console(ops)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            await pilot.press("u")
            await settled(pilot)
            screen = app.screen
            assert isinstance(screen, ResumeScreen)
            assert "would apply #200" in str(screen.query_one("#plan", Static).render())
            await pilot.press("o")
            await settled(pilot)
            assert ops.named == ("200",)
            assert "START SLAVE" in str(screen.query_one("#plan", Static).render())
            assert app.focused is screen.query_one("#confirm-name", Input)
            await pilot.press(*"delayed", "enter")
            await settled(pilot)
            assert len(ops.resumes) == 1
            assert "delayed resumed" in str(screen.query_one("#result", Static).render())
            assert app.busy is None

    asyncio.run(scenario())


def test_a_filter_time_without_a_zone_is_read_as_local_time_and_said_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    app = console(FakeOperations())

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            await pilot.press("t")
            await settled(pilot)
            await pilot.press("slash", "tab")
            await pilot.press(*"2026-11-18T11:00", "enter")
            await settled(pilot)
            where = str(app.screen.query_one("#where", Static).render())
            assert "time window (CET (UTC+01:00))" in where, where

    try:
        asyncio.run(scenario())
    finally:
        monkeypatch.undo()
        time.tzset()


def test_at_80x24_one_notification_at_a_time_and_none_over_the_wizards_timeline() -> None:
    ops = Scripted(None)
    app = console(ops)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            for _ in range(4):
                await pilot.press("f")
                await settled(pilot)
            assert len(app._notifications) == 1
            app.clear_notifications()
            await pilot.press("r")  # freeze, then the timeline: its own line says what to do
            await settled(pilot)
            assert isinstance(app.screen, TimelineScreen)
            assert len(app._notifications) == 0
            where = str(app.screen.query_one("#where", Static).render())
            assert where.startswith("Enter: recover at the highlighted transaction")

    asyncio.run(scenario())


def test_radio_and_checkbox_glyphs_differ_on_and_off_without_colour() -> None:
    from tui.widgets.toggles import Check, Radio

    app = console(FakeOperations())

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            await pilot.press("t")
            await settled(pilot)
            box = app.screen.query_one("#destructive", Check)
            assert box.BUTTON_INNER == " "
            await pilot.press("x")
            await pilot.pause()
            assert box.BUTTON_INNER == "X"
            await pilot.press("enter")
            await settled(pilot)
            before = app.screen.query_one("#before", Radio)
            skip = app.screen.query_one("#skip", Radio)
            assert (before.BUTTON_INNER, skip.BUTTON_INNER) == ("●", " ")

    asyncio.run(scenario())


def test_sparklines_of_tps_and_lag_per_node() -> None:
    from tui.history import NodeHistory, sparkline

    assert sparkline([0, 1, 2, 4, None]) == "▁▂▄█·"
    assert sparkline([]) == ""
    report = status()
    delayed = report.nodes[2]
    history = NodeHistory()
    history.add(delayed)
    assert history.line() == ""  # one round: no rate yet
    later = replace(delayed, gathered_at=delayed.gathered_at + 2, gtid_slave_pos_text="0-1-120")
    history.add(later)
    line = history.line()
    assert line.startswith("tps ") and "10/s" in line and "lag " in line


LONG_REASONS = [
    CheckResult(
        "frozen-at-recovery-point",
        True,
        "delayed stopped just before #200 0-1-200 (DROP TABLE `shop`.`orders`), verified by the "
        "recovery of 14:02:11",
    ),
    CheckResult(
        "old-primary-fenced",
        False,
        "primary (10.0.0.1:3306) is writable (read_only=OFF) and answers: it must be fenced "
        "before promotion",
        "drkit promote sets read_only=ON on it and takes it out of the load balancer first",
        promote_fixes=True,
    ),
    CheckResult(
        "no-other-writer",
        True,
        "no node but primary is writable: replica read_only=ON, delayed read_only=ON",
    ),
    CheckResult(
        "transactions-lost",
        False,
        "41 transactions committed on the primary after #200 are not on delayed: "
        "0-1-201..0-1-241 (shop.customers, shop.orders)",
        "extract what matters from the old primary before rebuilding it",
        critical=False,
    ),
]


class LongReasons(FakeOperations):
    def check_promotion(self, node: str | None = None) -> PromotionChecklist:
        return PromotionChecklist(LONG_REASONS, NOW, node="delayed", old_primary="primary")


def test_promotion_reasons_are_whole_at_80x24_wrapped_in_the_table() -> None:
    app = console(LongReasons())

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            await pilot.press("p")
            await settled(pilot)
            table = app.screen.query_one("#checks", DataTable)
            lines = [
                strip.text
                for strip in table.render_lines(Region(0, 0, table.size.width, table.size.height))
            ]
            start = lines[0].index("reason")
            shown = " ".join(" ".join(line[start:].split()) for line in lines[1:])
            for result in LONG_REASONS:
                assert " ".join(result.reason.split()) in shown, (result.reason, lines)
            assert all(len(line.rstrip()) <= 80 for line in lines)
            marks = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
            assert marks == ["ok", "fix", "ok", "warn"]  # advisory failures never read FAIL
            # The pane under the table adds the highlighted check's way forward.
            await pilot.press("down")
            hint = str(app.screen.query_one("#hint", Static).render())
            assert hint == f"old-primary-fenced: hint: {LONG_REASONS[1].hint}"

    asyncio.run(scenario())


def test_the_timeline_says_the_rows_a_drop_took_as_the_delayed_copy_counts_them() -> None:
    app = console(FakeOperations())

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            await pilot.press("t", "x")  # destructive only: the DROP TABLE first
            await settled(pilot)
            detail = str(app.screen.query_one("#detail", Static).render())
            assert "DROP TABLE" in detail
            assert "shop.orders: took 1234 rows (1230 on delayed at #100" in detail, detail
            assert "+0 ~0 -0" not in detail

    asyncio.run(scenario())


def test_i_in_the_timeline_inspects_as_of_the_highlighted_commit_and_keep_holds() -> None:
    from drkit.timeparse import iso
    from tui.screens.inspect import InspectScreen, LeaveInspection

    app = console(FakeOperations())

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            await pilot.press("t", "x")  # the DROP first
            await settled(pilot)
            await pilot.press("down")  # the DELETE without WHERE (#120)
            await settled(pilot)
            await pilot.press("i")
            await settled(pilot)
            screen = app.screen
            assert isinstance(screen, InspectScreen)
            picked = FakeOperations().search(Filters(destructive=True))[1]
            assert screen.query_one("#at", Input).value == iso(picked.timestamp)
            assert f"#{picked.id}" in str(screen.query_one("#inspect-plan", Static).render())
            await pilot.press(*"SELECT 1", "ctrl+r")
            await settled(pilot)
            await pilot.press("enter")
            await settled(pilot)
            assert screen.held_at
            # Leaving asks; k keeps the hold and says how to end it.
            await pilot.press("escape")
            await settled(pilot)
            assert isinstance(app.screen, LeaveInspection)
            await pilot.press("k")
            await settled(pilot)
            assert isinstance(app.screen, TimelineScreen)
            assert any("drkit resume" in n.message for n in app._notifications)

    asyncio.run(scenario())


class SlowRollForward(FakeOperations):
    """The roll-forward runs until Esc interrupts it, as the executor does: frozen, refused."""

    def inspect(self, prepared: Any, statements: tuple[str, ...], **options: Any) -> Any:
        from drkit.plan.executor import RecoveryInterrupted

        interrupted = options["interrupted"]
        if not interrupted.wait(10):
            raise AssertionError("never interrupted")
        raise RecoveryInterrupted("interrupted: the applier was stopped, delayed left frozen")


def test_esc_interrupts_the_inspect_roll_forward_and_leaves_it_frozen() -> None:
    from tui.screens.inspect import InspectScreen

    app = console(SlowRollForward())

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            await pilot.press("i", *"-20m", "enter", *"SELECT 1", "ctrl+r")
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
            await pilot.press("enter")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, InspectScreen) and screen.running
            assert app.busy == "roll-forward"
            await pilot.press("escape")
            await settled(pilot)
            assert app.screen is screen, "Esc interrupts first; it does not leave"
            assert not screen.running and app.busy is None and not screen.held_at
            text = str(screen.query_one("#inspect-plan", Static).render())
            assert "delayed left frozen" in text, text

    asyncio.run(scenario())


class RecordsInspect(FakeOperations):
    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def prepare_inspect(self, at: str, **request: Any) -> Any:
        self.asked.append(at)
        return super().prepare_inspect(at, **request)


def test_a_relative_t_is_resolved_once_so_the_run_is_the_plan_shown() -> None:
    from drkit.timeparse import iso

    ops = RecordsInspect()
    app = console(ops)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            await pilot.press("i", *"-20m", "enter", *"SELECT 1", "ctrl+r")
            await settled(pilot)
            await pilot.press("enter")
            await settled(pilot)
            # Planned and run at the same absolute T, whatever the clock did in between.
            assert ops.asked == [iso(NOW - 1200)] * 2
            assert app.screen.held_at

    asyncio.run(scenario())


class IndexBehindFreeze(Scripted):
    """Frozen with the index behind the replica: what is pending is unknown, not a count."""

    def freeze(self, plan: Any = None, node: str | None = None) -> Any:
        self.freezes += 1
        return SimpleNamespace(
            node="delayed",
            was_running=True,
            executed_at="x",
            pending=None,
            first_destructive=None,
            index_behind="the index is behind what delayed has applied (its position GTID "
            "0-1-9 is not indexed yet): run `drkit index`",
        )


def test_a_freeze_with_the_index_behind_says_so_instead_of_a_count() -> None:
    ops = IndexBehindFreeze(None)
    app = console(ops)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            await pilot.press("f")
            await settled(pilot)
            assert ops.freezes == 1
            said = [n.message for n in app._notifications]
            assert any("the index is behind what delayed has applied" in m for m in said), said
            assert not any("None" in m or "transactions not applied" in m for m in said), said

    asyncio.run(scenario())
