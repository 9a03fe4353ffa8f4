"""Inspect: the database as it was at T, queried on the delayed replica rolled forward to T.

The screen runs `drkit inspect --hold` through the facade: the plan is shown first (exactly what
--dry-run prints), the roll-forward runs once confirmed, and the replica is kept at T while the
operator queries it; leaving the screen asks whether to restore the delay or keep the hold.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, Static, TextArea

from tui.failures import reported
from tui.format import countdown_line, one_line, span, utc, window_line
from tui.messages import (
    InspectAnswered,
    InspectPrepared,
    OperationFailed,
    RecoveryCrossesDestructive,
    RecoveryProgressed,
    RecoveryStepStarted,
    Resumed,
)
from tui.screens.base import ConsoleScreen

if TYPE_CHECKING:
    from drkit.pitr.inspect import InspectReport, QueryResult
    from drkit.pitr.recovery import PreparedRecovery
    from drkit.plan.executor import Progress
    from drkit.plan.steps import Step

PAGE = 100  # result rows per page of the table: a DataTable of 100,000 rows would stall the screen


def sql_editor() -> TextArea:
    """The query editor, with SQL highlighting where tree-sitter's SQL grammar is installed."""
    try:  # Textual's own probe for a grammar; a private module, so a missing one is no error
        from textual._tree_sitter import get_language

        language = "sql" if get_language("sql") is not None else None
    except ImportError:
        language = None
    return TextArea.code_editor(
        "",
        language=language,
        id="query",
        compact=True,
        show_line_numbers=False,
        soft_wrap=True,
        tab_behavior="focus",
        # The operator writes the SQL; the console itself writes none (tests/unit checks it).
        placeholder="the queries to run at T, read-only; several: end each with ;",
    )


class InspectScreen(ConsoleScreen):
    """T, the queries, the plan, then the answer page by page; the replica is held at T meanwhile."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "run", "Plan/Run"),
        Binding("o", "apply_named", "Apply them on purpose"),
        Binding("ctrl+n", "page(1)", "Next rows"),
        Binding("ctrl+b", "page(-1)", "Prev rows"),
        Binding("ctrl+s", "export", "CSV"),
        Binding("ctrl+l", "next_answer", "Next answer"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, at: str = "", *, about: str = "") -> None:
        super().__init__()
        self.at = at
        self.about = about  # where T came from (a transaction of the timeline), for the first line
        self.prepared: PreparedRecovery | None = None  # the plan on screen (no lock is held)
        self.planned_at = ""  # the T the plan on screen was made for, as typed
        self.resolved_at = ""  # the same, resolved once to an absolute time (ISO, UTC)
        self.shown_intent: tuple[object, ...] = ()
        self.through: tuple[str, ...] = ()
        self.crossing: tuple[int, ...] = ()
        self.running = False
        self.interrupted = threading.Event()
        self.report: InspectReport | None = None
        self.held_at = ""  # the T this screen holds the replica at (its last answer's)
        self.result_index = 0
        self.page = 0
        self.leaving = False
        self.zone = ""  # how a T without a zone was read (local time), said with the plan

    @property
    def holds_work(self) -> bool:
        return self.running

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="inspect-bar"):
            yield Label("at")
            yield Input(self.at, placeholder="T: -20m, 14:02, ISO", id="at", compact=True)
            yield Static(id="countdown")
        yield Static(id="inspect-window")
        yield sql_editor()
        with VerticalScroll(id="inspect-plan-box", can_focus=True):
            yield Static(self._intro(), id="inspect-plan")
        with Horizontal(id="inspect-actions"):
            yield Button("Roll forward and query", id="inspect-run", disabled=True, compact=True)
            yield Static(id="page-info")
        yield DataTable(id="results", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def _intro(self) -> str:
        source = f"T from the timeline: {self.about}\n" if self.about else ""
        return (
            f"{source}type T and the queries, then ctrl+r: the plan to roll the delayed replica "
            "forward to T is shown first; nothing runs until you confirm"
        )

    def on_mount(self) -> None:
        self.query_one("#inspect-plan-box").border_title = "plan (exactly what --dry-run prints)"
        self.watch(self.console, "observation", lambda _: self._tick(), init=True)
        self.set_interval(1.0, self._tick)
        if self.at:
            self.query_one("#query", TextArea).focus()
        else:
            self.query_one("#at", Input).focus()

    def _tick(self) -> None:
        """The delay's countdown and the inspectable window, kept in sight while querying."""
        observation = self.console.observation
        if observation is None:
            return
        delayed = self.ops.config.delayed
        node = observation.status.node(delayed[0].name) if delayed else None
        alarm, _ = self.console.alarm_shown()
        self.query_one("#countdown", Static).update(countdown_line(node, alarm, self.now()))
        window = next((w for w in observation.status.windows if node and w.node == node.name), None)
        self.query_one("#inspect-window", Static).update(window_line(window))

    # -- planning ------------------------------------------------------------------------------

    def _typed_at(self) -> str:
        return self.query_one("#at", Input).value.strip()

    def _statements(self) -> tuple[str, ...]:
        from drkit.pitr.inspect import split_statements

        return tuple(split_statements(self.query_one("#query", TextArea).text))

    def action_run(self) -> None:
        """Plan for the T typed; once its plan is on screen, run it (the button does the same)."""
        if self.running:
            return
        at = self._typed_at()
        if not at:
            self._say(Text("type T first (e.g. -20m, 14:02, 2026-12-03T14:02:00Z)", "bold red"))
            self.query_one("#at", Input).focus()
            return
        if not self._statements():
            self._say(Text("type the queries to run at T first", "bold red"))
            self.query_one("#query", TextArea).focus()
            return
        if self.prepared is not None and self.planned_at == at:
            self._run()
            return
        self._plan(at)

    @on(Input.Submitted, "#at")
    def _at_submitted(self) -> None:
        self.query_one("#query", TextArea).focus()

    @on(Input.Changed, "#at")
    def _at_changed(self, event: Input.Changed) -> None:
        if event.value.strip() != self.planned_at:
            self.prepared = None  # a plan for another T: it must be shown again
            self.query_one("#inspect-run", Button).disabled = True

    def _plan(self, at: str) -> None:
        """Resolve T once (`-20m` must not move between the plan and the run), then plan."""
        from drkit.errors import DrkitError
        from drkit.timeparse import iso, parse_time, zone_note

        self.prepared = None
        self.crossing = ()
        self.query_one("#inspect-run", Button).disabled = True
        try:
            resolved = iso(parse_time(at, self.now()))
        except DrkitError as exc:
            self._say(Text(exc.message, style="bold red"))
            self.query_one("#at", Input).focus()
            return
        self.planned_at, self.resolved_at = at, resolved
        self.zone = zone_note(at) or ""
        self._say("planning…")
        self.refresh_bindings()
        self.make_plan(at, resolved, self.through)

    @work(thread=True, group="inspect-plan", exclusive=True, exit_on_error=False)
    def make_plan(self, typed: str, at: str, through: tuple[str, ...]) -> None:
        """Plan the roll-forward to `at` without taking the lock (the run plans again under it)."""
        from drkit.errors import DestructiveInRange

        with reported(self, "inspect plan"):
            try:
                prepared = self.ops.prepare_inspect(at, through=through, lock=False)
            except DestructiveInRange as exc:
                self.post_message(RecoveryCrossesDestructive(exc.message, exc.ids, "inspect"))
                return
            self.post_message(InspectPrepared(prepared, typed))

    @on(RecoveryCrossesDestructive)
    def _crosses(self, event: RecoveryCrossesDestructive) -> None:
        if event.mode == "resume":  # restoring the delay would go on to apply it: keep the hold
            self._say(
                Text(
                    f"{event.text}\n\nthe hold is kept; u on the dashboard resumes with it named",
                    style="bold red",
                )
            )
            return
        self.crossing = event.ids
        self.running = False
        self.console.busy = None
        self._say(
            Text(
                f"{event.text}\n\npress o to apply {', '.join(f'#{i}' for i in event.ids)} on "
                "purpose (as --through does): the plan is shown again and still needs your "
                "confirmation; or choose an earlier T",
                style="bold red",
            )
        )
        self.query_one("#inspect-plan-box").focus()  # o is a letter: not for the editor
        self.refresh_bindings()

    def action_apply_named(self) -> None:
        """Name the destructive transactions the refused plan would apply, and plan again (at
        the T already resolved)."""
        self.through = tuple(dict.fromkeys((*self.through, *(str(i) for i in self.crossing))))
        self.crossing = ()
        self._say("planning…")
        self.refresh_bindings()
        self.make_plan(self.planned_at, self.resolved_at, self.through)

    @on(InspectPrepared)
    def _prepared(self, event: InspectPrepared) -> None:
        if event.at != self._typed_at() or self.running:
            return
        self.prepared = event.prepared
        self.planned_at = event.at
        self.shown_intent = intent(event.prepared)
        changed = (
            "the servers moved since the plan was shown: this is the new plan; confirm again\n\n"
            if event.changed
            else ""
        )
        plan = event.prepared.plan.render()
        zone = f"T: {self.zone}\n" if self.zone else ""
        self._say(Text(changed + zone + plan, style="bold yellow" if changed else ""))
        self.query_one("#inspect-plan-box").scroll_home(animate=False)
        button = self.query_one("#inspect-run", Button)
        button.disabled = False
        button.focus()  # Enter confirms; the plan stays in sight above

    # -- running -------------------------------------------------------------------------------

    @on(Button.Pressed, "#inspect-run")
    def _run_pressed(self) -> None:
        self._run()

    def _run(self) -> None:
        statements = self._statements()
        if self.prepared is None or self.running or not statements:
            return
        self.running = True
        self.interrupted.clear()
        self.console.busy = "roll-forward"
        self.query_one("#inspect-run", Button).disabled = True
        self._say("rolling forward…")
        self.refresh_bindings()
        self.run_inspect(self.resolved_at, self.through, self.shown_intent, statements)

    @work(thread=True, group="inspect", exit_on_error=False)
    def run_inspect(
        self,
        at: str,
        through: tuple[str, ...],
        shown: tuple[object, ...],
        statements: tuple[str, ...],
    ) -> None:
        """Plan again under the engine lock; run it only if it does what the plan shown does
        (the same strategy, stop and named transactions: the count to apply may have grown)."""
        from drkit.errors import DestructiveInRange

        def progressed(progress: Progress) -> None:
            self.post_message(RecoveryProgressed(progress))

        def stepped(number: int, step: Step) -> None:
            self.post_message(RecoveryStepStarted(number, step.render()))

        with reported(self, "inspect"):
            try:
                prepared = self.ops.prepare_inspect(at, through=through, lock=True)
            except DestructiveInRange as exc:
                self.post_message(RecoveryCrossesDestructive(exc.message, exc.ids, "inspect"))
                return
            if intent(prepared) != shown:
                prepared.release()
                self.post_message(InspectPrepared(prepared, self.planned_at, changed=True))
                return
            report = self.ops.inspect(
                prepared,
                statements,
                hold=True,
                on_progress=progressed,
                on_step=stepped,
                interrupted=self.interrupted,
            )
            self.post_message(InspectAnswered(report))

    @on(RecoveryStepStarted)
    def _step(self, event: RecoveryStepStarted) -> None:
        if self.running:
            self._say(Text(f"step {event.number}: {one_line(event.text, 200)}"))

    @on(RecoveryProgressed)
    def _progressed(self, event: RecoveryProgressed) -> None:
        progress = event.progress
        eta = span(progress.eta) if progress.eta is not None else "?"
        self._say(
            f"rolling forward: applied {progress.applied}, {progress.remaining} remaining "
            f"({progress.rate:.0f}/s, eta {eta})"
        )

    @on(InspectAnswered)
    def _answered(self, event: InspectAnswered) -> None:
        report = event.report
        self.running = False
        self.console.busy = None
        self.report = report
        self.held_at = utc(report.at) if report.held else ""
        self.prepared = None  # the replica is at T now: the next run plans again (a short plan)
        self.result_index = len(report.results) - 1  # the last statement's answer is shown
        self.page = 0
        self._say(Text(answer_text(report), style="bold green"))
        self._show_page()
        self.query_one("#results", DataTable).focus()
        self.refresh_bindings()
        self.console.refresh_status()

    def _show_page(self) -> None:
        """One page of the shown result set; the line beside the button says where it is."""
        table = self.query_one("#results", DataTable)
        table.clear(columns=True)
        result = self._result()
        info = self.query_one("#page-info", Static)
        if result is None:
            info.update("")
            return
        if not result.columns:
            info.update("no result set")
            return
        table.add_columns(*result.columns)
        first = self.page * PAGE
        rows = result.rows[first : first + PAGE]
        table.add_rows([[_cell(value) for value in row] for row in rows])
        which = (
            f"answer {self.result_index + 1}/{len(self.report.results)} (^l), "
            if self.report and len(self.report.results) > 1
            else ""
        )
        more = " (truncated)" if result.truncated else ""
        info.update(
            f"{which}rows {first + 1 if rows else 0}-{first + len(rows)} of "
            f"{len(result.rows)}{more} · ^n/^b page · ^s CSV"
        )

    def _result(self) -> QueryResult | None:
        if self.report is None or not self.report.results:
            return None
        return self.report.results[self.result_index]

    def action_page(self, step: int) -> None:
        result = self._result()
        if result is None:
            return
        last = max(0, (len(result.rows) - 1) // PAGE)
        page = min(max(0, self.page + step), last)
        if page != self.page:
            self.page = page
            self._show_page()

    def action_next_answer(self) -> None:
        """Show the next statement's answer (the last one is shown first)."""
        if self.report is None or not self.report.results:
            return
        self.result_index = (self.result_index + 1) % len(self.report.results)
        self.page = 0
        self._show_page()

    def action_export(self) -> None:
        """Write every answer of the last run to a CSV file beside the config (never overwriting)."""
        from drkit.render import csv_blocks

        report = self.report
        if report is None or not report.results:
            self._say(Text("nothing to export yet: run the queries first", "bold yellow"))
            return
        path = export_path(self.ops.config.folder, report.at)
        text = csv_blocks([(r.columns, r.rows) for r in report.results if r.columns])
        # The answer may hold personal data: only the operator's account may read the file.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text + "\n")
        rows = sum(len(r.rows) for r in report.results)
        self.query_one("#page-info", Static).update(f"{rows} rows written to {path}")
        self.console.say(f"CSV written: {path}", timeout=6)

    # -- leaving -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "apply_named":
            return bool(self.crossing) and not self.running
        if action in ("page", "export"):
            return self.report is not None
        if action == "next_answer":
            return self.report is not None and len(self.report.results) > 1
        return True

    def action_back(self) -> None:
        """Leave; when this screen holds the replica at T, ask first: restore the delay or keep it."""
        if self.running:
            # As in the recovery wizard: the executor stops the applier, the replica stays frozen.
            self.interrupted.set()
            self._say("interrupting: the applier will be stopped, the replica left frozen…")
            return
        if not self.held_at:
            self.app.pop_screen()
            return
        self.app.push_screen(LeaveInspection(self.held_at), self._leave)

    def _leave(self, choice: str | None) -> None:
        if choice == "keep":
            self.console.say(
                f"held at {self.held_at}: `drkit resume` (or u on the dashboard) ends the hold",
                timeout=6,
            )
            self.app.pop_screen()
        elif choice == "restore":
            self.leaving = True
            self._say("restoring the delay…")
            self.restore_delay()

    @work(thread=True, group="inspect-resume", exit_on_error=False)
    def restore_delay(self) -> None:
        """Resume: the configured delay back, replication restarted (refused as `drkit resume` is)."""
        from drkit.errors import DestructiveInRange

        with reported(self, "inspect resume"):
            try:
                plan = self.ops.plan_resume()
            except DestructiveInRange as exc:
                self.post_message(RecoveryCrossesDestructive(exc.message, exc.ids, "resume"))
                return
            self.post_message(Resumed(self.ops.resume(plan)))

    @on(Resumed)
    def _resumed(self, event: Resumed) -> None:
        replica = event.facts.replica
        delay = span(replica.sql_delay) if replica else "?"
        self.held_at = ""
        self.console.refresh_status()
        self.console.say(f"{event.facts.name} resumed: delay {delay}", timeout=6)
        self.app.pop_screen()

    @on(OperationFailed)
    def _failed(self, event: OperationFailed) -> None:
        if event.what in ("inspect plan", "inspect", "inspect resume"):
            event.stop()
            if event.what == "inspect":
                self.running = False
                self.console.busy = None
                self.prepared = None
                self.console.refresh_status()
            self._say(Text(event.text, style="bold red"))
            self.query_one("#inspect-plan-box").focus()
            self.refresh_bindings()

    def _say(self, text: str | Text) -> None:
        self.query_one("#inspect-plan", Static).update(text)


class LeaveInspection(ModalScreen[str]):
    """Leaving while the replica is held at T: restore the delay, keep the hold, or stay."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "choose('restore')", "Restore the delay"),
        Binding("k", "choose('keep')", "Keep the hold"),
        Binding("escape", "choose('stay')", "Stay"),
    ]

    def __init__(self, at: str) -> None:
        super().__init__()
        self.at = at

    def compose(self) -> ComposeResult:
        with Vertical(id="leave"):
            yield Static(
                f"The delayed replica is held at {self.at}: it applies nothing and its delay is "
                "not running. Restore the configured delay and restart replication (as "
                "`drkit resume`), or keep the hold?",
                id="leave-question",
            )
            with Horizontal(id="leave-buttons"):
                yield Button("r Restore the delay", id="restore", variant="primary", compact=True)
                yield Button("k Keep the hold", id="keep", compact=True)
                yield Button("Esc Stay", id="stay", compact=True)

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "stay")


def intent(prepared: PreparedRecovery) -> tuple[object, ...]:
    """What a roll-forward plan does, without what moves on its own (the count still to apply)."""
    request = prepared.request
    return (
        prepared.plan.node,
        prepared.plan.strategy,
        request.stop.id if request.stop else None,
        request.end.id if request.end else None,
        tuple(t.id for t in request.through),
    )


def answer_text(report: InspectReport) -> str:
    """Where the replica stopped and how long the answer took; then what holds it."""
    stop = report.recovery.stop_gtid or "the end of the index"
    lines = [
        f"{report.node} as of {utc(report.at)} (stopped before {stop}, executed "
        f"{report.recovery.executed_gtid or '-'}): answered in {report.seconds_to_answer:.2f}s"
    ]
    for result in report.results:
        count = f"{len(result.rows)} rows" if result.columns else "no result set"
        lines.append(f"  {one_line(result.statement, 60)}: {count}")
    if report.held:
        lines.append("held at T while you query; Esc asks whether to restore the delay")
    return "\n".join(lines)


def export_path(folder: Path, at: float) -> Path:
    """`inspect-20261203T140200Z.csv` in `folder`; `-2`, `-3`... when it exists."""
    stem = "inspect-" + utc(at).replace("-", "").replace(":", "").replace(" ", "T")
    path = folder / f"{stem}.csv"
    number = 2
    while path.exists():
        path = folder / f"{stem}-{number}.csv"
        number += 1
    return path


def _cell(value: Any) -> str:
    """A value as the table shows it: NULL spelled out, bytes decoded where they are text."""
    if value is None:
        return "NULL"
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return "0x" + bytes(value).hex()
    return str(value)
