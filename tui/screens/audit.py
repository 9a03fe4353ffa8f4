"""The audit log, newest first: every statement drkit ran and every decision it recorded."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Header, Static

from tui.failures import reported
from tui.format import one_line, report_lines
from tui.messages import AuditRead
from tui.screens.base import ConsoleScreen

LIMIT = 500
# Fields every record has; what is left says what the record is about.
COMMON = {"time", "epoch", "pid", "command", "kind", "node", "ok", "duration_ms", "error"}


class AuditScreen(ConsoleScreen):
    """Read again each time it is shown; the highlighted record in full below."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "reload", "Reload"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="records", cursor_type="row")
        with VerticalScroll(id="record-box"):
            yield Static(id="record")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#records", DataTable).add_columns("time", "kind", "node", "ok", "what")
        self.query_one("#record-box").border_title = "record"

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self.read()

    @work(thread=True, group="audit", exclusive=True, exit_on_error=False)
    def read(self) -> None:
        """Read the newest records of the audit log; post AuditRead."""
        with reported(self, "audit"):
            self.post_message(AuditRead(self.ops.audit_records(LIMIT)))

    @on(AuditRead)
    def _read(self, event: AuditRead) -> None:
        self.records = event.records
        table = self.query_one("#records", DataTable)
        table.clear()
        for record in event.records:
            ok = record.get("ok")
            mark = "-" if ok is None else Text("ok", "green") if ok else Text("FAIL", "bold red")
            what = summary(record)
            table.add_row(
                str(record.get("time", "-")),
                str(record.get("kind", "-")),
                str(record.get("node", "-")),
                mark,
                one_line(str(what or ""), 80),
            )
        if not event.records:
            self.query_one("#record", Static).update("the audit log is empty")

    @on(DataTable.RowHighlighted, "#records")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self.records):
            record = self.records[event.cursor_row]
            self.query_one("#record", Static).update(Text(report_lines(record)))

    def action_back(self) -> None:
        self.app.switch_mode("dashboard")


def summary(record: dict[str, Any]) -> str:
    """The statement, description or message of a record, else its own fields in one line."""
    for key in ("statement", "description", "message", "error"):
        if record.get(key):
            return str(record[key])
    rest = [f"{k}={v}" for k, v in record.items() if k not in COMMON and not isinstance(v, dict)]
    return " ".join(rest)
