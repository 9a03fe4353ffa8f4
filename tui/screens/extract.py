"""Extraction: copy a rescued table from the frozen delayed replica back into the primary."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Header, Input, Static

from drkit.extract.plan import ExtractPlan
from drkit.extract.run import ExtractReport
from tui.failures import reported
from tui.format import report_lines
from tui.messages import OperationFailed, PlanExecuted, PlanReady, RecoveryStepStarted
from tui.screens.base import ConfirmedRunScreen
from tui.widgets.confirm import TypedConfirmation

if TYPE_CHECKING:
    from drkit.plan.steps import Step


class ExtractScreen(ConfirmedRunScreen):
    """Table and destination, the plan as its dry run, the primary's name typed, the copy verified."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, table: str) -> None:
        super().__init__()
        self.table = table
        self.plan: ExtractPlan | None = None
        self.running = False
        self.done = False

    @property
    def holds_work(self) -> bool:
        return self.running

    def compose(self) -> ComposeResult:
        primary = self.ops.config.primary
        yield Header()
        yield Static(
            "copy a table from the frozen delayed replica into the primary "
            "(Enter in a field plans it)",
            id="explain",
        )
        with Horizontal(id="extract-fields"):
            yield Input(self.table, placeholder="schema.table", id="table", compact=True)
            yield Input(placeholder="into (default: same name)", id="into", compact=True)
            yield Button("Plan", id="plan-button", compact=True)
        with VerticalScroll(id="plan-box"):
            yield Static("enter the table to extract", id="plan")
        yield TypedConfirmation(primary.name if primary else "?", "Extract", id="confirm")
        with VerticalScroll(id="result-box"):
            yield Static(id="result")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#plan-box").border_title = "plan (exactly what --dry-run prints)"
        self.query_one("#result-box").border_title = "result"
        if self.table:
            self._plan()
        else:
            self.query_one("#table", Input).focus()

    @on(Input.Submitted, "#table, #into")
    @on(Button.Pressed, "#plan-button")
    def _plan(self) -> None:
        if self.running or self.done:
            return
        table = self.query_one("#table", Input).value.strip()
        into = self.query_one("#into", Input).value.strip() or None
        if not table:
            self.query_one("#plan", Static).update("enter the table to extract (schema.table)")
            return
        self.plan = None
        self.query_one(TypedConfirmation).reset()
        self.query_one("#plan", Static).update("planning…")
        self.make_plan(table, into)

    @work(thread=True, group="extract-plan", exclusive=True, exit_on_error=False)
    def make_plan(self, table: str, into: str | None) -> None:
        """Ask the facade for the extraction plan; post PlanReady."""
        with reported(self, "extract plan"):
            self.post_message(PlanReady(self.ops.plan_extract(table, into)))

    @on(PlanReady)
    def _plan_ready(self, event: PlanReady) -> None:
        assert isinstance(event.plan, ExtractPlan)
        self.plan = event.plan
        self.query_one("#plan", Static).update(Text(event.plan.render()))
        # The node that is written to is the one whose name is typed.
        self.query_one(TypedConfirmation).reset(event.plan.destination or None)
        self.query_one("#confirm-name", Input).focus()

    @on(TypedConfirmation.Confirmed, "#confirm")
    def _confirmed(self) -> None:
        if self.plan is not None and self.begin_run("extraction", "copying…"):
            self.run_plan(self.plan)

    @work(thread=True, group="extract", exit_on_error=False)
    def run_plan(self, plan: ExtractPlan) -> None:
        """Run the extraction plan; post PlanExecuted with rows and checksums on both sides."""

        def stepped(number: int, step: Step) -> None:
            self.post_message(RecoveryStepStarted(number, step.render()))

        with reported(self, "extract"):
            self.post_message(PlanExecuted(self.ops.extract(plan, on_step=stepped)))

    @on(RecoveryStepStarted)
    def _step(self, event: RecoveryStepStarted) -> None:
        self.query_one("#result", Static).update(Text(f"step {event.number}: {event.text}"))

    @on(PlanExecuted)
    def _executed(self, event: PlanExecuted) -> None:
        assert isinstance(event.report, ExtractReport)
        self.end_run()
        self.query_one("#result", Static).update(Text(report_lines(event.report)))
        self.console.refresh_status()

    @on(OperationFailed)
    def _failed(self, event: OperationFailed) -> None:
        if event.what == "extract plan":
            self.query_one("#plan", Static).update(Text(event.text, style="bold red"))
        elif event.what == "extract":
            self.fail_run(event.text)

    def action_back(self) -> None:
        if self.running:
            self.notify("the extraction is running; it cannot be interrupted", severity="warning")
            return
        self.app.pop_screen()
