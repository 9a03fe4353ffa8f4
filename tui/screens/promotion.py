"""Promotion: the evidence checklist, then the plan, then the delayed node's name typed, then the run."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Button, DataTable, Footer, Header, Static

from drkit.checks.result import CheckResult, PromotionChecklist
from drkit.promote.plan import PromotionPlan
from drkit.promote.run import PromotionReport
from tui.failures import reported
from tui.format import promotion_text
from tui.messages import ChecklistGathered, OperationFailed, PlanExecuted, PlanReady
from tui.screens.base import ConsoleScreen
from tui.widgets.confirm import TypedConfirmation


class PromotionScreen(ConsoleScreen):
    """Promote is offered only when the facade says the critical checks pass."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "recheck", "Check again"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.checklist: PromotionChecklist | None = None
        self.plan: PromotionPlan | None = None
        self.running = False

    def compose(self) -> ComposeResult:
        delayed = self.ops.config.delayed
        yield Header()
        yield DataTable(id="checks", cursor_type="row")
        yield Static("checking…", id="verdict")
        yield Static(id="hint")
        yield Button("Show the promotion plan", id="plan-button", disabled=True, compact=True)
        with VerticalScroll(id="plan-box"):
            yield Static(id="plan")
        yield TypedConfirmation(delayed[0].name if delayed else "?", "Promote", id="confirm")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#checks", DataTable)
        table.add_columns("", "critical", "check", "reason")
        self.query_one("#plan-box").border_title = "plan"

    def on_screen_resume(self) -> None:
        if not self.running:
            self.action_recheck()

    def action_recheck(self) -> None:
        if self.running:
            return
        self.plan = None
        self.remove_class("-planned")
        self.query_one("#verdict", Static).update("checking…")
        self.query_one("#plan", Static).update("")
        self.query_one(TypedConfirmation).reset()
        self.check()

    @work(thread=True, group="promotion-check", exclusive=True, exit_on_error=False)
    def check(self) -> None:
        """Gather the promotion checklist; post ChecklistGathered."""
        with reported(self, "promotion check"):
            self.post_message(ChecklistGathered(self.ops.check_promotion()))

    @on(ChecklistGathered)
    def _gathered(self, event: ChecklistGathered) -> None:
        self.checklist = event.checklist
        table = self.query_one("#checks", DataTable)
        table.clear()
        for index, result in enumerate(event.checklist.results):
            if result.ok:
                mark = Text("ok", style="green")
            elif result.promote_fixes:
                mark = Text("fix", style="yellow")  # failing now; the promotion puts it right first
            else:
                mark = Text("FAIL", style="bold red")
            critical = "critical" if result.critical else ""
            table.add_row(mark, critical, result.name, result.reason, key=str(index))
        ok = event.checklist.possible
        self.query_one("#verdict", Static).update(
            Text(event.checklist.verdict, style="bold green" if ok else "bold red")
        )
        self.query_one("#plan-button", Button).disabled = not ok
        self._show_hint()

    @on(DataTable.RowHighlighted, "#checks")
    def _show_hint(self) -> None:
        table = self.query_one("#checks", DataTable)
        if self.checklist is None or not table.row_count:
            return
        result: CheckResult = self.checklist.results[table.cursor_row]
        hint = f"hint: {result.hint}" if result.hint else ""
        self.query_one("#hint", Static).update(Text(f"{result.name}: {result.reason}\n{hint}"))

    @on(Button.Pressed, "#plan-button")
    def _plan_pressed(self) -> None:
        if self.checklist is None or not self.checklist.possible or self.running:
            return
        self.query_one("#plan", Static).update("planning…")
        self.make_plan()

    @work(thread=True, group="promotion-plan", exclusive=True, exit_on_error=False)
    def make_plan(self) -> None:
        """Build the promotion plan (re-reading the facts); post PlanReady."""
        with reported(self, "promotion plan"):
            self.post_message(PlanReady(self.ops.plan_promotion()))

    @on(PlanReady)
    def _plan_ready(self, event: PlanReady) -> None:
        assert isinstance(event.plan, PromotionPlan)
        self.plan = event.plan
        self.add_class("-planned")  # the plan needs the room now
        self.query_one("#plan", Static).update(Text(event.plan.render()))
        self.query_one(TypedConfirmation).reset(event.plan.node or None)
        self.query_one("#confirm-name").focus()

    @on(TypedConfirmation.Confirmed, "#confirm")
    def _confirmed(self) -> None:
        if self.plan is None or self.running:
            return
        self.running = True
        self.console.busy = "promotion"
        self.query_one(TypedConfirmation).lock_controls()
        self.query_one("#plan-button", Button).disabled = True
        self.promote(self.plan)

    @work(thread=True, group="promotion", exit_on_error=False)
    def promote(self, plan: PromotionPlan) -> None:
        """Run the promotion plan; post PlanExecuted with the result per node."""
        with reported(self, "promotion"):
            self.post_message(PlanExecuted(self.ops.promote(plan)))

    @on(PlanExecuted)
    def _promoted(self, event: PlanExecuted) -> None:
        assert isinstance(event.report, PromotionReport)
        self.running = False
        self.console.busy = None
        self.query_one("#plan-box").border_title = "result"
        self.query_one("#plan", Static).update(Text(promotion_text(event.report)))
        self.console.refresh_status()

    @on(OperationFailed)
    def _failed(self, event: OperationFailed) -> None:
        if event.what == "promotion check":
            self.query_one("#verdict", Static).update(Text(event.text, style="bold red"))
        elif event.what in ("promotion plan", "promotion"):
            self.running = False
            self.console.busy = None
            self.query_one("#plan", Static).update(Text(event.text, style="bold red"))

    def action_back(self) -> None:
        if self.running:
            self.notify("the promotion is running; it cannot be interrupted", severity="warning")
            return
        self.app.switch_mode("dashboard")
