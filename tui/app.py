"""The incident console: gathers the world in worker threads, shows it, and guides the operator."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker

from drkit.errors import DrkitError
from drkit.render import counted
from tui.failures import reported
from tui.messages import Frozen, Observation, OperationFailed, StatusGathered
from tui.screens.audit import AuditScreen
from tui.screens.dashboard import DashboardScreen
from tui.screens.help import HelpScreen
from tui.screens.promotion import PromotionScreen
from tui.screens.timeline import TimelineScreen

if TYPE_CHECKING:
    from drkit.checks.alarm import Alarm
    from drkit.index.records import IndexedTransaction
    from drkit.service import Operations


class DrkitApp(App[None]):
    """`drkit tui`: the dashboard, the alarm, the timeline and the guided recovery."""

    TITLE = "drkit incident console"
    CSS_PATH = "console.tcss"
    ENABLE_COMMAND_PALETTE = False
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        "dashboard": DashboardScreen,
        "timeline": TimelineScreen,
        "promotion": PromotionScreen,
        "audit": AuditScreen,
    }
    DEFAULT_MODE = "dashboard"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "freeze", "Freeze"),
        Binding("question_mark", "help", "Help", key_display="?"),
    ]

    observation: reactive[Observation | None] = reactive(None, always_update=True)

    def __init__(
        self,
        ops: Operations,
        *,
        clock: Callable[[], float] = time.time,
        refresh_every: float = 3.0,
        status_timeout: float = 3.0,
    ) -> None:
        super().__init__()
        self.ops = ops
        self.clock = clock
        self.refresh_every = refresh_every
        self.status_timeout = status_timeout
        self.status_error = ""  # why the last status round failed as a whole, if it did
        self.busy: str | None = None  # what irreversible action runs now, if any
        self._status_worker: Worker[None] | None = None
        self._pick_after_freeze = False
        self._pick: IndexedTransaction | None = None
        self.pick_pending = False
        # The operator's answers to the alarm, per (transaction id, state): a new state asks again.
        self.acknowledged: set[tuple[int, str]] = set()
        self.snoozed: dict[tuple[int, str], float] = {}

    def on_mount(self) -> None:
        self.sub_title = str(self.ops.config.path)
        self.refresh_status()
        if self.refresh_every > 0:
            self.set_interval(self.refresh_every, self.refresh_status)

    # -- gathering -----------------------------------------------------------------------------

    def refresh_status(self) -> None:
        """Start a status round unless one is still out (a slow node delays it, never the screen)."""
        if self._status_worker is None or self._status_worker.is_finished:
            self._status_worker = self.gather_status()

    @work(thread=True, group="status", exit_on_error=False)
    def gather_status(self) -> None:
        """Gather nodes, DRBD, the balancer, the alarm, the index and the recovery state."""
        with reported(self, "status"):
            ops = self.ops
            status = ops.status(timeout=self.status_timeout)
            delayed = ops.config.delayed
            facts = status.node(delayed[0].name) if delayed else None
            problems: list[str] = []
            if facts is not None and not facts.reachable:
                problems.append(f"alarm unknown: {facts.name} is unreachable")
            try:
                alarm = ops.alarm(facts) if facts is not None else None
            except DrkitError as exc:
                alarm = None
                problems.append(f"alarm: {exc.message}")
            try:
                recovery = ops.recovery_state()
            except DrkitError as exc:
                recovery = None
                problems.append(f"recovery state: {exc.message}")
            self.post_message(StatusGathered(Observation(status, alarm, recovery, tuple(problems))))

    @on(StatusGathered)
    def _status_gathered(self, event: StatusGathered) -> None:
        self.status_error = ""
        had_alarm = self.observation is not None and self.observation.alarm is not None
        self.observation = event.observation
        if had_alarm != (event.observation.alarm is not None):
            self.refresh_bindings()  # k and z are offered only with an alarm

    # -- freezing -----------------------------------------------------------------------------

    def action_freeze(self) -> None:
        """Stop the delayed replica's applier now: one key, no question (it is the safe move)."""
        if self.busy:
            # The running plan owns the replica; Esc on its screen interrupts it and leaves it frozen.
            self.say(
                f"a {self.busy} is running: Esc on its screen interrupts it", severity="warning"
            )
            return
        if not self._pick_after_freeze:  # in the wizard the banner and the timeline say it
            self.say("freezing the delayed replica…", timeout=2)
        self.freeze_now()

    def action_recover(self) -> None:
        """The recovery wizard: freeze when a destructive transaction is on its way, then pick the
        target in the timeline; with nothing destructive pending nothing is stopped."""
        if self.busy:
            self.say(f"a {self.busy} is running", severity="warning")
            return
        from drkit.checks.alarm import AlarmState

        index = self.observation.status.index if self.observation else None
        if index is not None and not index.exists:
            self.say(
                "no index yet: nothing to recover at; run `drkit index` first (nothing was changed)",
                severity="warning",
            )
            return
        alarm = self.observation.alarm if self.observation else None
        if alarm is not None and alarm.kind in (AlarmState.RUNNING, AlarmState.FROZEN):
            self._pick_after_freeze = True
            self.action_freeze()
            return
        # Nothing destructive on its way: the replica keeps running; the plan stops it if run.
        self.pick_in_timeline(alarm.transaction if alarm is not None else None)

    def action_acknowledge(self) -> None:
        """Seen: the alarm shrinks to one quiet line until its state changes."""
        alarm = self.observation.alarm if self.observation else None
        if alarm is None:
            return
        key = (alarm.transaction.id, alarm.kind.value)
        if key in self.acknowledged:
            self.acknowledged.discard(key)
        else:
            self.acknowledged.add(key)
        self.mutate_reactive(DrkitApp.observation)

    def action_snooze(self, minutes: float = 10) -> None:
        """Hide the alarm for a while; it comes back then, or at once if its state changes."""
        alarm = self.observation.alarm if self.observation else None
        if alarm is None:
            return
        self.snoozed[(alarm.transaction.id, alarm.kind.value)] = self.clock() + minutes * 60
        self.mutate_reactive(DrkitApp.observation)

    def alarm_shown(self) -> tuple[Alarm | None, bool]:
        """The alarm to show (None: none, or snoozed) and whether it was acknowledged."""
        alarm = self.observation.alarm if self.observation else None
        if alarm is None:
            return None, False
        key = (alarm.transaction.id, alarm.kind.value)
        if self.snoozed.get(key, 0) > self.clock():
            return None, False
        return alarm, key in self.acknowledged

    def action_extract(self) -> None:
        """Copy a table of the alarm's transaction back into the primary (after a recovery)."""
        if self.busy:
            self.say(f"a {self.busy} is running", severity="warning")
            return
        from tui.screens.extract import ExtractScreen

        alarm = self.observation.alarm if self.observation else None
        tables = [t.table for t in alarm.transaction.tables] if alarm else []
        self.push_screen(ExtractScreen(tables[0] if tables else ""))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("acknowledge", "snooze"):
            return self.observation is not None and self.observation.alarm is not None
        return True

    def action_inspect(self, at: str = "", about: str = "") -> None:
        """The database as it was at T: the Inspect screen (the delayed replica rolled forward)."""
        if self.busy:
            self.say(f"a {self.busy} is running", severity="warning")
            return
        from tui.screens.inspect import InspectScreen

        self.push_screen(InspectScreen(at, about=about))

    def action_resume(self) -> None:
        """Restore the delay and restart replication: the plan, then the node's name typed."""
        if self.busy:
            self.say(f"a {self.busy} is running", severity="warning")
            return
        from tui.screens.resume import ResumeScreen

        self.push_screen(ResumeScreen())

    @work(thread=True, group="freeze", exit_on_error=False)
    def freeze_now(self) -> None:
        """Plan and run the freeze; post Frozen with what is pending behind the stop."""
        with reported(self, "freeze"):
            report = self.ops.freeze(self.ops.plan_freeze())
            self.post_message(Frozen(report))

    @on(Frozen)
    def _frozen(self, event: Frozen) -> None:
        report = event.report
        state = "frozen" if report.was_running else "was already frozen"
        if not self._pick_after_freeze:
            pending = (
                report.index_behind or "what is not applied yet is unknown"
                if report.pending is None
                else f"{counted(report.pending, 'indexed transaction')} not applied"
            )
            self.say(f"{report.node} {state} at {report.executed_at or '-'}; {pending}", timeout=4)
        self.refresh_status()
        if self._pick_after_freeze:
            self._pick_after_freeze = False
            self.pick_in_timeline(report.first_destructive)

    def pick_in_timeline(self, target: IndexedTransaction | None) -> None:
        """Open the timeline at `target` (or at the newest) for the operator to choose."""
        self._pick = target
        self.pick_pending = True
        self.switch_mode("timeline")
        while len(self.screen_stack) > 1:
            self.pop_screen()
        # The timeline's own description line says what to do: no toast over its rows.

    def take_pick(self) -> IndexedTransaction | None:
        """The transaction the timeline should open at, once (None: the newest)."""
        if not self.pick_pending:
            return None
        picked, self._pick, self.pick_pending = self._pick, None, False
        return picked

    # -- everything else ----------------------------------------------------------------------

    @on(OperationFailed)
    def _failed(self, event: OperationFailed) -> None:
        if event.what == "status":
            self.status_error = event.text
        if event.what == "freeze":
            self._pick_after_freeze = False
        self.say(event.text, title="error", severity="error", timeout=10)

    def say(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float = 4.0,
    ) -> None:
        """One notification at a time: at 80x24 a stack of them covers the screen; a new one
        replaces the last (what stays true is on the screens themselves)."""
        self.clear_notifications()
        self.notify(message, title=title, severity=severity, timeout=timeout)

    def action_mode(self, mode: str) -> None:
        """Go to `mode` at its own screen: a finished wizard left on a stack is closed, never
        reopened (a running one is kept, to come back to)."""
        self._close_finished()
        self.switch_mode(mode)
        self._close_finished()

    def _close_finished(self) -> None:
        from tui.screens.base import ConsoleScreen

        while len(self.screen_stack) > 1:
            top = self.screen_stack[-1]
            if isinstance(top, ConsoleScreen) and top.holds_work:
                return
            self.pop_screen()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        if self.busy:
            self.say(
                f"a {self.busy} is running: wait for it, or press Esc on its screen to interrupt",
                severity="warning",
            )
            return
        self.exit()

    def _handle_exception(self, error: Exception) -> None:
        """A DrkitError that escaped a handler is a message, not a crash."""
        if isinstance(error, DrkitError):
            self.say(
                error.message + (f"\nhint: {error.hint}" if error.hint else ""),
                title="error",
                severity="error",
                timeout=12,
            )
            return
        super()._handle_exception(error)
