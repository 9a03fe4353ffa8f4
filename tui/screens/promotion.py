"""Promotion: the evidence checklist, then the plan, then the delayed node's name typed, then the run."""

from __future__ import annotations

import textwrap
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
        self.reason_width = 40

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
        self.query_one("#plan-box").border_title = "plan"

    def _columns(self, table: DataTable[Text | str]) -> None:
        """Mark, check, and the reason in what width is left, so a long reason wraps instead of
        being cut off at 80 columns (an advisory check's mark is lowercase: `warn`)."""
        table.clear(columns=True)
        width = max(self.size.width or self.app.size.width, 60)
        longest = (
            max((len(r.name) for r in self.checklist.results), default=5) if self.checklist else 5
        )
        # Each column has one cell of padding either side; the scrollbar takes two.
        table.add_column("", key="mark", width=4)
        table.add_column("check", key="check", width=longest)
        self.reason_width = max(20, width - 4 - longest - 6 - 4)
        table.add_column("reason", key="reason", width=self.reason_width)

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
        self._fill_checks()
        ok = event.checklist.possible
        self.query_one("#verdict", Static).update(
            Text(event.checklist.verdict, style="bold green" if ok else "bold red")
        )
        self.query_one("#plan-button", Button).disabled = not ok
        self._show_hint()

    def on_resize(self) -> None:
        if self.checklist is not None:
            self._fill_checks()  # the reasons wrap to the new width

    def _fill_checks(self) -> None:
        if self.checklist is None:
            return
        table = self.query_one("#checks", DataTable)
        row = table.cursor_row
        self._columns(table)
        for index, result in enumerate(self.checklist.results):
            # Wrapped here, at word boundaries, and the row as high as the reason needs.
            lines = textwrap.wrap(result.reason, self.reason_width) or [""]
            table.add_row(
                check_mark(result),
                Text(result.name, style="" if result.critical else "italic"),
                Text("\n".join(lines)),
                key=str(index),
                height=len(lines),
            )
        table.move_cursor(row=min(row, table.row_count - 1))

    @on(DataTable.RowHighlighted, "#checks")
    def _show_hint(self) -> None:
        table = self.query_one("#checks", DataTable)
        if self.checklist is None or not table.row_count:
            return
        result: CheckResult = self.checklist.results[table.cursor_row]
        # The reason is in the table, whole; the pane adds the way forward.
        hint = f"hint: {result.hint}" if result.hint else "no hint"
        self.query_one("#hint", Static).update(Text(f"{result.name}: {hint}"))

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


def check_mark(result: CheckResult) -> Text:
    """`ok`; `fix` (failing, the promotion puts it right first); `FAIL` (critical: refuses the
    promotion); `warn` (advisory: informs, never refuses)."""
    if result.ok:
        return Text("ok", style="green")
    if result.promote_fixes:
        return Text("fix", style="yellow")
    if not result.critical:
        return Text("warn", style="yellow")
    return Text("FAIL", style="bold red")
