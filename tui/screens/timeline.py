"""The timeline: indexed transactions, newest first, read page by page from the index."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Checkbox, DataTable, Footer, Header, Input, Static

from drkit.errors import DrkitError
from drkit.index.store import Filters
from tui.failures import reported
from tui.format import transaction_cells, transaction_detail
from tui.messages import DroppedCounted, OperationFailed, PageLoaded
from tui.screens.base import ConsoleScreen
from tui.widgets.toggles import Check

if TYPE_CHECKING:
    from drkit.checks.dropped import DroppedRows
    from drkit.index.records import IndexedTransaction

PAGE = 50
COLUMNS = ("id", "time (UTC)", "destructive", "tables", "statement", "rows")


class TimelineTable(DataTable[Text | str]):
    """The transactions; Enter recovers at the highlighted one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Recover at"),
    ]


class TimelineScreen(ConsoleScreen):
    """Newest first; more pages load as the cursor reaches the end; destructive rows in red."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("x", "destructive", "Destructive"),
        Binding("n", "newest", "Newest"),
        Binding("b", "flashback", "Flashback"),
        Binding("h", "history", "Row history"),
        Binding("i", "inspect", "Inspect at"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filters = Filters(limit=PAGE)  # what the operator asked for, without paging
        self._requested: Filters | None = None  # the page being read
        self._rows: dict[int, IndexedTransaction] = {}
        self._exhausted = False
        self._anchor: int | None = None  # show from this id down (a jump), None for the newest
        self._zone: str | None = None  # the local zone a filter time without one was read in
        self._picking = False  # opened by the recovery wizard: the operator picks the target
        self._taken: dict[int, tuple[DroppedRows, ...]] = {}  # rows DROPs took, once asked

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="filters"):
            yield Input(placeholder="table: shop.orders, shop.*", id="table", compact=True)
            yield Input(placeholder="since: -2h, ISO", id="since", compact=True)
            yield Input(placeholder="until", id="until", compact=True)
            yield Check("destructive", id="destructive", compact=True)
        yield Static("reading the index…", id="where")
        yield TimelineTable(id="rows", cursor_type="row")
        with VerticalScroll(id="detail-box"):
            yield Static(id="detail")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(TimelineTable)
        for column in COLUMNS:
            table.add_column(column, key=column)
        self.query_one("#detail-box").border_title = "transaction"
        table.focus()
        if not self.console.pick_pending:
            self.load(first_page=True)

    def on_screen_resume(self) -> None:
        """Jump to the transaction the recovery wizard asks the operator to confirm, if any."""
        if not self.console.pick_pending:
            return
        self._picking = True
        picked = self.console.take_pick()
        if picked is not None:
            self.jump_to(picked)
        else:
            self.action_newest()

    def jump_to(self, tx: IndexedTransaction) -> None:
        """Show the transactions from `tx` down, whatever the filters were."""
        for name in ("#table", "#since", "#until"):
            self.query_one(name, Input).value = ""
        with self.prevent(Checkbox.Changed):
            self.query_one("#destructive", Checkbox).value = False
        self.filters = Filters(limit=PAGE)
        self._anchor = tx.id + 1
        self.query_one(TimelineTable).focus()
        self.load(first_page=True)

    # -- reading -------------------------------------------------------------------------------

    def load(self, *, first_page: bool) -> None:
        """Ask for the first page of the current filters, or the page after the last row."""
        before = self._anchor
        if not first_page and self._rows:
            before = min(self._rows)
        self._requested = replace(self.filters, before_id=before)
        self.read_page(self._requested, first_page)

    @work(thread=True, group="timeline", exit_on_error=False)
    def read_page(self, filters: Filters, first_page: bool) -> None:
        """One indexed query of at most PAGE rows; post PageLoaded."""
        with reported(self, "timeline"):
            rows = self.ops.search(filters)
            self.post_message(PageLoaded(filters, rows, first_page=first_page))

    @on(PageLoaded)
    def _page_loaded(self, event: PageLoaded) -> None:
        if event.filters != self._requested:
            return  # an answer to a question the operator has since changed
        self._requested = None
        table = self.query_one(TimelineTable)
        if event.first_page:
            table.clear()
            self._rows.clear()
        for tx in event.rows:
            if tx.id not in self._rows:
                self._rows[tx.id] = tx
                table.add_row(*transaction_cells(tx), key=str(tx.id))
        self._exhausted = len(event.rows) < (event.filters.limit or PAGE)
        self._describe()
        if event.first_page and table.row_count:
            table.move_cursor(row=0)
            self._show(table)

    @on(OperationFailed)
    def _failed(self, event: OperationFailed) -> None:
        if event.what == "timeline":
            self._requested = None
            self.query_one("#where", Static).update(Text(event.text, style="bold red"))

    def _describe(self) -> None:
        shown = len(self._rows)
        parts = ["newest first" if self._anchor is None else f"from #{self._anchor - 1} down"]
        if self.filters.table:
            parts.append(f"table {self.filters.table}")
        if self.filters.destructive:
            parts.append("destructive only")
        if self.filters.since is not None or self.filters.until is not None:
            parts.append(f"time window ({self._zone})" if self._zone else "time window")
        parts.append(f"{shown} shown" + ("" if self._exhausted else ", more below"))
        if shown == 0:
            parts.append("nothing matches")
        if self._anchor is not None:
            parts.append("n: newest")
        if self._picking:
            parts.insert(0, "Enter: recover at the highlighted transaction")
        self.query_one("#where", Static).update(" · ".join(parts))

    # -- moving --------------------------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#rows")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        table = self.query_one(TimelineTable)
        self._show(table)
        near_end = event.cursor_row >= table.row_count - 1
        if near_end and not self._exhausted and self._requested is None and self._rows:
            self.load(first_page=False)

    def _show(self, table: TimelineTable) -> None:
        tx = self._current(table)
        detail = self.query_one("#detail", Static)
        detail.update(transaction_detail(tx, self._taken.get(tx.id)) if tx else "")
        if tx is not None and tx.rows_unknown and tx.id not in self._taken:
            self.count_dropped(tx)

    @work(thread=True, group="dropped", exclusive=True, exit_on_error=False)
    def count_dropped(self, tx: IndexedTransaction) -> None:
        """Ask the delayed copy how many rows the DROP or TRUNCATE took (it may not know)."""
        with reported(self, "dropped rows"):
            found = self.ops.dropped_rows([tx]).get(tx.id, ())
            self.post_message(DroppedCounted(tx.id, found))

    @on(DroppedCounted)
    def _dropped_counted(self, event: DroppedCounted) -> None:
        self._taken[event.tx_id] = event.tables
        table = self.query_one(TimelineTable)
        tx = self._current(table)
        if tx is not None and tx.id == event.tx_id:
            self._show(table)

    def _current(self, table: TimelineTable) -> IndexedTransaction | None:
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return self._rows.get(int(str(key.value)))

    @on(DataTable.RowSelected, "#rows")
    def _selected(self) -> None:
        tx = self._current(self.query_one(TimelineTable))
        if tx is not None:
            from tui.screens.recovery import RecoveryScreen

            self._picking = False
            self.app.push_screen(RecoveryScreen(tx))

    def action_flashback(self) -> None:
        """Reverse the highlighted transaction's row changes (the late-notice path)."""
        tx = self._current(self.query_one(TimelineTable))
        if tx is None:
            return
        if tx.kind != "dml":
            self.notify(
                f"#{tx.id} changed no rows one by one (it is {tx.kind.upper()}): flashback "
                "reverses row changes; recover the delayed replica and extract instead",
                severity="warning",
            )
            return
        from tui.screens.flashback import FlashbackScreen

        self.app.push_screen(FlashbackScreen(tx))

    def action_history(self) -> None:
        """Every version of one row of the highlighted transaction's table."""
        from tui.screens.flashback import HistoryScreen

        tx = self._current(self.query_one(TimelineTable))
        tables = [t.table for t in tx.tables if "*" not in t.table] if tx else []
        self.app.push_screen(HistoryScreen(tables[0] if tables else ""))

    def action_inspect(self) -> None:
        """The database as of the highlighted transaction's commit (it included)."""
        from drkit.timeparse import iso

        tx = self._current(self.query_one(TimelineTable))
        if tx is None:
            self.console.action_inspect()
            return
        self.console.action_inspect(iso(tx.timestamp), about=tx.label)

    # -- filtering -----------------------------------------------------------------------------

    def action_filter(self) -> None:
        self.query_one("#table", Input).focus()

    def action_destructive(self) -> None:
        box = self.query_one("#destructive", Checkbox)
        box.value = not box.value

    def action_newest(self) -> None:
        self._anchor = None
        self.load(first_page=True)

    def action_back(self) -> None:
        if self.focused is not None and isinstance(self.focused, Input):
            self.query_one(TimelineTable).focus()
            return
        self.app.switch_mode("dashboard")

    @on(Checkbox.Changed, "#destructive")
    def _destructive_changed(self) -> None:
        self._apply()

    @on(Input.Submitted)
    def _filter_submitted(self) -> None:
        if self._apply():
            self.query_one(TimelineTable).focus()

    def _apply(self) -> bool:
        """Read the filter inputs into Filters and reload; a bad time is said, not raised."""
        from drkit.timeparse import parse_time, zone_note

        now = self.now()
        since = self.query_one("#since", Input).value.strip()
        until = self.query_one("#until", Input).value.strip()
        # A time without a zone is local time: the description line says which zone.
        self._zone = next(
            (
                note.split("local time, ")[1].split(" = ")[0]
                for v in (since, until)
                if v and (note := zone_note(v))
            ),
            None,
        )
        try:
            self.filters = Filters(
                since=parse_time(since, now) if since else None,
                until=parse_time(until, now) if until else None,
                table=self.query_one("#table", Input).value.strip() or None,
                destructive=self.query_one("#destructive", Checkbox).value,
                limit=PAGE,
            )
        except DrkitError as exc:
            self.query_one("#where", Static).update(Text(exc.message, style="bold red"))
            return False
        self.load(first_page=True)
        return True
