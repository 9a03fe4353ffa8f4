"""Flashback and row history in the console, for a disaster noticed after the delay ran out."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Footer, Header, Input, Static

from drkit.index.records import IndexedTransaction
from tui.failures import reported
from tui.messages import FlashbackApplied, OperationFailed
from tui.screens.base import ConfirmedRunScreen, ConsoleScreen
from tui.widgets.confirm import TypedConfirmation

PREVIEW = 12


class FlashbackPlanned(Message):
    """A flashback plan and its first statements are ready."""

    def __init__(self, plan: Any, statements: list[str], more: bool) -> None:
        super().__init__()
        self.plan = plan
        self.statements = statements
        self.more = more


class FlashbackScreen(ConfirmedRunScreen):
    """The plan and its first statements, the primary's name typed, the reversal verified; a
    row changed since is listed and nothing is applied."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("h", "history", "Row history"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, tx: IndexedTransaction) -> None:
        super().__init__()
        self.tx = tx
        self.plan: Any = None
        self.running = False
        self.done = False

    def compose(self) -> ComposeResult:
        primary = self.ops.config.primary
        yield Header()
        yield Static(
            f"reverse the row changes of {self.tx.label} on the primary, from the archive's "
            "row images (h: one row's history)",
            id="explain",
        )
        with VerticalScroll(id="plan-box"):
            yield Static("planning…", id="plan")
        yield TypedConfirmation(primary.name if primary else "?", "Flashback", id="confirm")
        with VerticalScroll(id="result-box"):
            yield Static(id="result")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#plan-box").border_title = "plan (exactly what --dry-run prints)"
        self.query_one("#result-box").border_title = "result"
        self.make_plan()

    @work(thread=True, group="flashback-plan", exclusive=True, exit_on_error=False)
    def make_plan(self) -> None:
        """Plan the flashback and read its first statements; post PlanReady."""
        with reported(self, "flashback plan"):
            plan = self.ops.plan_flashback((str(self.tx.id),))
            statements, more = self.ops.preview_flashback(plan, PREVIEW)
            self.post_message(FlashbackPlanned(plan, statements, more))

    @on(FlashbackPlanned)
    def _plan_ready(self, event: FlashbackPlanned) -> None:
        self.plan = event.plan
        lines = [event.plan.render(), f"statements on {event.plan.node}, in one transaction:"]
        lines += [f"  {text};" for text in event.statements]
        if event.more:
            lines.append("  … (drkit flashback --sql FILE writes them all)")
        self.query_one("#plan", Static).update(Text("\n".join(lines)))
        self.query_one(TypedConfirmation).reset(event.plan.node)
        self.query_one("#confirm-name", Input).focus()

    @on(TypedConfirmation.Confirmed, "#confirm")
    def _confirmed(self) -> None:
        if self.plan is not None and self.begin_run("flashback", "reversing…"):
            self.run_plan(self.plan)

    @work(thread=True, group="flashback", exit_on_error=False)
    def run_plan(self, plan: Any) -> None:
        """Apply and verify; post FlashbackApplied (conflicts come as OperationFailed, exit 3)."""
        with reported(self, "flashback"):
            self.post_message(FlashbackApplied(self.ops.flashback(plan)))

    @on(FlashbackApplied)
    def _executed(self, event: FlashbackApplied) -> None:
        self.end_run()
        self.query_one("#result", Static).update(Text(event.report.render()))
        self.console.refresh_status()

    @on(OperationFailed)
    def _failed(self, event: OperationFailed) -> None:
        if event.what == "flashback plan":
            self.query_one("#plan", Static).update(Text(event.text, style="bold red"))
        elif event.what == "flashback":
            self.fail_run(event.text)

    def action_history(self) -> None:
        table = next((t.table for t in self.tx.tables if "*" not in t.table), "")
        self.app.push_screen(HistoryScreen(table))

    def action_back(self) -> None:
        if self.running:
            self.notify("the flashback is running; it cannot be interrupted", severity="warning")
            return
        self.app.pop_screen()


class HistoryRead(Message):
    """A row's history was read from the archive."""

    def __init__(self, history: Any) -> None:
        super().__init__()
        self.history = history


class HistoryScreen(ConsoleScreen):
    """Every version of one row, oldest first, from the index and the archive (no server)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back")]

    def __init__(self, table: str) -> None:
        super().__init__()
        self.table = table

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="history-fields"):
            yield Input(self.table, placeholder="schema.table", id="history-table", compact=True)
            yield Input(placeholder="key: id=42", id="history-key", compact=True)
            yield Button("Show", id="history-button", compact=True)
        with VerticalScroll(id="history-box"):
            yield Static("enter the row's key (COL=VALUE[,...]) and press Enter", id="history")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#history-box").border_title = "row history (changed columns marked *)"
        self.query_one("#history-key", Input).focus()

    @on(Input.Submitted, "#history-table, #history-key")
    @on(Button.Pressed, "#history-button")
    def _show(self) -> None:
        table = self.query_one("#history-table", Input).value.strip()
        key = self.query_one("#history-key", Input).value.strip()
        if not table or not key:
            return
        self.query_one("#history", Static).update("reading the archive…")
        self.read_history(table, key)

    @work(thread=True, group="history", exclusive=True, exit_on_error=False)
    def read_history(self, table: str, key: str) -> None:
        with reported(self, "history"):
            self.post_message(HistoryRead(self.ops.history(table, key)))

    @on(HistoryRead)
    def _read(self, event: HistoryRead) -> None:
        self.query_one("#history", Static).update(Text(event.history.render()))

    @on(OperationFailed)
    def _failed(self, event: OperationFailed) -> None:
        if event.what == "history":
            self.query_one("#history", Static).update(Text(event.text, style="bold red"))

    def action_back(self) -> None:
        self.app.pop_screen()
