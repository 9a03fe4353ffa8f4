"""The dashboard: every node, DRBD, the load balancer and the index, with the alarm on top."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Header, Static

from tui.format import (
    NODE_COLUMNS,
    drbd_text,
    guard_text,
    index_text,
    loadbalancer_text,
    node_cells,
    node_detail,
    recovery_text,
    window_text,
)
from tui.history import NodeHistory
from tui.messages import Observation
from tui.screens.base import ConsoleScreen
from tui.widgets.alarm import AlarmBanner


class DashboardScreen(ConsoleScreen):
    """What the operator sees first; refreshed by the app's status worker, counted down every second."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "app.recover", "Recover"),
        Binding("k", "app.acknowledge", "Ack"),
        Binding("z", "app.snooze", "Snooze", show=False),
        Binding("u", "app.resume", "Resume"),
        Binding("i", "app.inspect", "Inspect"),
        Binding("e", "app.extract", "Extract", show=False),
        Binding("t", "app.mode('timeline')", "Timeline"),
        Binding("p", "app.mode('promotion')", "Promote"),
        Binding("a", "app.mode('audit')", "Audit"),
        Binding("ctrl+r", "app.refresh_status", "Refresh", show=False),
        Binding("q", "app.quit", "Quit", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, NodeHistory] = {}  # per node: TPS and lag, round by round

    def compose(self) -> ComposeResult:
        yield Header()
        yield AlarmBanner(id="alarm")
        yield DataTable(id="nodes", cursor_type="row", zebra_stripes=True)
        yield Static("gathering the nodes…", id="node-detail")
        with VerticalScroll(id="panels"):
            yield Static(id="window", classes="panel")
            yield Static(id="index", classes="panel")
            yield Static(id="guard", classes="panel")
            yield Static(id="drbd", classes="panel")
            yield Static(id="loadbalancer", classes="panel")
            yield Static(id="recovery", classes="panel")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#nodes", DataTable)
        for column in NODE_COLUMNS:
            table.add_column(column, key=column)
        for panel, title in (
            ("#window", "inspectable past"),
            ("#index", "index"),
            ("#guard", "guard"),
            ("#drbd", "DRBD"),
            ("#loadbalancer", "load balancer"),
            ("#recovery", "recovery"),
        ):
            self.query_one(panel).border_title = title
        self.watch(self.console, "observation", self._observed, init=True)
        self.set_interval(1.0, self._tick)

    def _observed(self, observation: Observation | None) -> None:
        if observation is None:
            return
        for node in observation.status.nodes:
            self.history.setdefault(node.name, NodeHistory()).add(node)
        now = self.now()
        table = self.query_one("#nodes", DataTable)
        names = [node.name for node in observation.status.nodes]
        if [str(key.value) for key in table.rows] != names:
            table.clear()
            for node in observation.status.nodes:
                cells = node_cells(node, now)
                table.add_row(*(cells[c] for c in NODE_COLUMNS), key=node.name)
        self._tick()
        self._show_detail()
        self.query_one("#window", Static).update(Text(window_text(observation.status.windows)))
        index = index_text(observation.status.index, now)
        self.query_one("#index", Static).update(Text(index))
        self.query_one("#guard", Static).update(Text(guard_text(observation.status.guard, now)))
        self.query_one("#drbd", Static).update(Text(drbd_text(observation.status.drbd)))
        self.query_one("#loadbalancer", Static).update(
            Text(loadbalancer_text(observation.status.loadbalancer))
        )
        self.query_one("#recovery", Static).update(Text(recovery_text(observation.recovery)))

    def _tick(self) -> None:
        """Redraw what moves with the clock: the alarm countdown and each node's remaining delay."""
        observation = self.console.observation
        if observation is None:
            return
        now = self.now()
        alarm, acknowledged = self.console.alarm_shown()
        self.query_one(AlarmBanner).show(alarm, now, acknowledged=acknowledged)
        table = self.query_one("#nodes", DataTable)
        for node in observation.status.nodes:
            if node.name not in table.rows:
                continue
            cells = node_cells(node, now)
            for column in NODE_COLUMNS:
                table.update_cell(node.name, column, cells[column])

    @on(DataTable.RowHighlighted, "#nodes")
    def _highlighted(self) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        observation = self.console.observation
        if observation is None:
            return
        table = self.query_one("#nodes", DataTable)
        text = Text()
        for problem in (self.console.status_error, *observation.problems):
            if problem:
                text.append(problem + "\n", style="bold yellow")
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
            node = observation.status.node(str(key.value))
            lines = node_detail(node).split("\n") if node else []
            trend = self.history.get(node.name) if node else None
            if trend is not None and trend.line():
                lines.insert(1, trend.line())  # under the node's name: the box is 4 lines high
            text.append("\n".join(lines))
        self.query_one("#node-detail", Static).update(text)
