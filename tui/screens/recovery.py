"""The recovery wizard's plan screen: stop before or skip, the dry run, typed confirmation, the run."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Header,
    ProgressBar,
    RadioButton,
    RadioSet,
    Static,
)

from tui.failures import reported
from tui.format import one_line, span
from tui.messages import (
    OperationFailed,
    RecoveryCrossesDestructive,
    RecoveryFinished,
    RecoveryPrepared,
    RecoveryProgressed,
    RecoveryStepStarted,
)
from tui.screens.base import ConsoleScreen
from tui.widgets.confirm import TypedConfirmation
from tui.widgets.toggles import Radio

if TYPE_CHECKING:
    from drkit.index.records import IndexedTransaction
    from drkit.pitr.recovery import PreparedRecovery, RecoveryReport
    from drkit.plan.executor import Progress
    from drkit.plan.steps import Step

BEFORE = "before"
SKIP = "skip"


class RecoveryScreen(ConsoleScreen):
    """One target, one plan at a time; nothing runs until the node's name is typed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "mode('before')", "Stop before"),
        Binding("s", "mode('skip')", "Skip it"),
        Binding("o", "apply_named", "Apply them on purpose"),
        Binding("e", "extract", "Extract a table"),
        Binding("p", "promotion", "Promotion"),
        Binding("escape", "back", "Back"),
        Binding("escape", "interrupt", "Interrupt"),
    ]

    def __init__(self, target: IndexedTransaction) -> None:
        super().__init__()
        self.target = target
        self.mode = BEFORE
        self.prepared: PreparedRecovery | None = None
        self.report: RecoveryReport | None = None
        self.running = False
        self.interrupted = threading.Event()
        self.through: tuple[str, ...] = ()  # destructive transactions named to be applied
        self.crossing: tuple[int, ...] = ()  # the ones the last refused plan would apply

    @property
    def holds_work(self) -> bool:
        return self.running

    def compose(self) -> ComposeResult:
        tx = self.target
        finding = tx.destructive
        what = f" ({finding.severity} {finding.category})" if finding else ""
        yield Header()
        yield Static(
            Text(f"recover at #{tx.id} {tx.gtid or '-'}: {one_line(tx.statement, 70)}{what}"),
            id="target",
        )
        with RadioSet(id="mode", compact=True):
            yield Radio("stop just before it", id="before", value=True, compact=True)
            yield Radio("skip it, replay the rest", id="skip", compact=True)
        with VerticalScroll(id="plan-box"):
            yield Static("planning…", id="plan")
        delayed = self.ops.config.delayed
        yield TypedConfirmation(delayed[0].name if delayed else "?", "Run", id="confirm")
        yield ProgressBar(id="progress", show_eta=False)
        yield Static(id="step")
        yield DataTable(id="verification", cursor_type="row")
        with Horizontal(id="next"):
            yield Button("Extract a table", id="extract", compact=True)
            yield Button("Promotion", id="promotion", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#plan-box").border_title = "plan (exactly what --dry-run prints)"
        table = self.query_one("#verification", DataTable)
        table.add_columns("", "check", "detail")
        self.prepare(self.mode)

    # -- planning ------------------------------------------------------------------------------

    def action_mode(self, mode: str) -> None:
        self.query_one(f"#{mode}", RadioButton).value = True

    @on(RadioSet.Changed, "#mode")
    def _mode_changed(self, event: RadioSet.Changed) -> None:
        mode = event.pressed.id or BEFORE
        if mode != self.mode:
            self.mode = mode
            self.prepared = None
            self.query_one("#plan", Static).update("planning…")
            self.query_one(TypedConfirmation).reset()
            self.prepare(mode)

    @work(thread=True, group="plan", exit_on_error=False)
    def prepare(self, mode: str) -> None:
        """Resolve the target and build the plan for `mode`; nothing is changed."""
        from drkit.errors import DestructiveInRange

        target = str(self.target.id)
        with reported(self, "plan"):
            try:
                if mode == SKIP:
                    prepared = self.ops.prepare_recovery(skips=(target,), through=self.through)
                else:
                    prepared = self.ops.prepare_recovery(before=target, through=self.through)
            except DestructiveInRange as exc:
                self.post_message(RecoveryCrossesDestructive(exc.message, exc.ids, mode))
                return
            self.post_message(RecoveryPrepared(prepared, mode))

    @on(RecoveryCrossesDestructive)
    def _crosses(self, event: RecoveryCrossesDestructive) -> None:
        if event.mode != self.mode:
            return
        self.crossing = event.ids
        self.query_one("#plan", Static).update(
            Text(
                f"{event.text}\n\npress o to apply {', '.join(f'#{i}' for i in event.ids)} on "
                "purpose (as --through does): the plan is shown again and still needs the node's "
                "name; or pick another target in the timeline",
                style="bold red",
            )
        )
        self.refresh_bindings()

    def action_apply_named(self) -> None:
        """Name the destructive transactions the refused plan would apply, and plan again."""
        self.through = tuple(dict.fromkeys((*self.through, *(str(i) for i in self.crossing))))
        self.crossing = ()
        self.query_one("#plan", Static).update("planning…")
        self.refresh_bindings()
        self.prepare(self.mode)

    @on(RecoveryPrepared)
    def _prepared(self, event: RecoveryPrepared) -> None:
        if event.mode != self.mode or self.running or self.report is not None:
            return
        self.prepared = event.prepared
        self.query_one("#plan", Static).update(Text(event.prepared.plan.render()))
        self.query_one(TypedConfirmation).reset(event.prepared.plan.node)
        # Typing the name is the next thing to do: the field has the focus (b and s stay clickable).
        self.query_one("#confirm-name").focus()

    # -- running -------------------------------------------------------------------------------

    @on(TypedConfirmation.Confirmed, "#confirm")
    def _confirmed(self) -> None:
        prepared = self.prepared
        if prepared is None or self.running or self.report is not None:
            return
        self.running = True
        self.console.busy = "recovery"
        self.query_one(TypedConfirmation).lock_controls()
        self.query_one("#mode", RadioSet).disabled = True
        self.add_class("-running")
        self.query_one("#step", Static).update("starting…")
        self.refresh_bindings()
        self.run_plan(prepared)

    @work(thread=True, group="recovery", exit_on_error=False)
    def run_plan(self, prepared: PreparedRecovery) -> None:
        """Execute the plan; progress and steps are posted as they happen."""

        def progressed(progress: Progress) -> None:
            self.post_message(RecoveryProgressed(progress))

        def stepped(number: int, step: Step) -> None:
            self.post_message(RecoveryStepStarted(number, step.render()))

        with reported(self, "recovery"):
            report = self.ops.run_recovery(
                prepared, interrupted=self.interrupted, on_progress=progressed, on_step=stepped
            )
            self.post_message(RecoveryFinished(report))

    @on(RecoveryStepStarted)
    def _step(self, event: RecoveryStepStarted) -> None:
        steps = len(self.prepared.plan.steps) if self.prepared else 0
        self.query_one("#step", Static).update(
            Text(f"step {event.number}/{steps}: {one_line(event.text, 200)}")
        )

    @on(RecoveryProgressed)
    def _progressed(self, event: RecoveryProgressed) -> None:
        progress = event.progress
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=progress.applied + progress.remaining, progress=progress.applied)
        eta = span(progress.eta) if progress.eta is not None else "?"
        self.query_one("#step", Static).update(
            f"step {progress.step}/{progress.steps}: applied {progress.applied}, "
            f"{progress.remaining} remaining ({progress.rate:.0f}/s, eta {eta})"
        )

    @on(RecoveryFinished)
    def _finished(self, event: RecoveryFinished) -> None:
        report = event.report
        self.report = report
        self.running = False
        self.console.busy = None
        self.remove_class("-running")
        self.add_class("-finished")
        bar = self.query_one("#progress", ProgressBar)
        if bar.total is None:
            bar.update(total=1, progress=1)
        skipped = f"; skipped {', '.join(report.skipped)}" if report.skipped else ""
        verdict = "verified" if report.verified else "VERIFICATION FAILED"
        self.query_one("#step", Static).update(
            Text(
                f"{verdict}: {report.description} ({report.strategy}) in {report.seconds:.1f}s; "
                f"stopped at {report.stopped_at or '-'}, executed {report.executed_gtid or '-'}, "
                f"{report.applied} applied{skipped}",
                style="bold green" if report.verified else "bold red",
            )
        )
        table = self.query_one("#verification", DataTable)
        table.clear()
        for check in report.verification:
            mark = Text("ok", style="green") if check.ok else Text("FAIL", style="bold red")
            table.add_row(mark, check.name, check.detail)
        self.refresh_bindings()
        self.console.refresh_status()

    @on(OperationFailed)
    def _failed(self, event: OperationFailed) -> None:
        if event.what == "plan":
            self.query_one("#plan", Static).update(Text(event.text, style="bold red"))
        elif event.what == "recovery":
            self.running = False
            self.console.busy = None
            self.remove_class("-running")
            self.query_one("#step", Static).update(
                Text(
                    f"{event.text}\nthe delayed replica is left frozen; see the audit log (a)",
                    style="bold red",
                )
            )
            self.refresh_bindings()
            self.console.refresh_status()

    # -- next ----------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "mode":
            return not self.running and self.report is None
        if action == "apply_named":
            return bool(self.crossing) and not self.running and self.report is None
        if action in ("extract", "promotion"):
            return self.report is not None
        if action == "back":
            return not self.running
        if action == "interrupt":
            return self.running
        return True

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_interrupt(self) -> None:
        """Stop the run between polls: the executor stops the applier and leaves it frozen."""
        self.interrupted.set()
        self.query_one("#step", Static).update("interrupting: the applier will be stopped…")

    def action_extract(self) -> None:
        from tui.screens.extract import ExtractScreen

        tables = [t.table for t in self.target.tables]
        self.app.push_screen(ExtractScreen(tables[0] if tables else ""))

    def action_promotion(self) -> None:
        self.console.action_mode("promotion")

    @on(Button.Pressed, "#extract")
    def _extract_pressed(self) -> None:
        self.action_extract()

    @on(Button.Pressed, "#promotion")
    def _promotion_pressed(self) -> None:
        self.action_promotion()
