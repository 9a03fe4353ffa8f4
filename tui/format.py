"""How the console words and lays out the facade's values (display only: nothing is decided here)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from rich.text import Text

from drkit.render import duration, size

if TYPE_CHECKING:
    from drkit.checks.alarm import Alarm
    from drkit.checks.dropped import DroppedRows
    from drkit.guard.state import GuardStatus
    from drkit.index.records import IndexedTransaction
    from drkit.io.drbd_probe import DrbdProbe
    from drkit.model.facts import NodeFacts
    from drkit.model.loadbalancer import LoadBalancerView
    from drkit.pitr.state import RecoveryState
    from drkit.promote.run import PromotionReport
    from drkit.service import IndexSummary, InspectWindow

NODE_COLUMNS = ("node", "role", "state", "ro", "lag", "delay", "left", "applier", "last error")


def clock(seconds: float | None) -> str:
    """A countdown, in the one duration format of the CLI and the console: `59m58s`, `1h02m03s`;
    `-` when unknown, `now` once it has run out."""
    if seconds is None:
        return "-"
    if seconds <= 0:
        return "now"
    return duration(int(seconds))


def span(seconds: float | None) -> str:
    """A duration, as `drkit status` prints it: `3600` -> `1h00m00s`, `90` -> `1m30s`."""
    return duration(int(seconds)) if seconds is not None else "-"


def utc(timestamp: float) -> str:
    """`2026-11-26 14:02:05Z`."""
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def node_cells(node: NodeFacts, now: float) -> dict[str, Text | str]:
    """The dashboard row of one node, by column; `left` counts down from when it was gathered."""
    if not node.reachable:
        return {
            "node": node.name,
            "role": node.role.value,
            "state": Text(unreachable_word(node), style="bold red"),
            "ro": "-",
            "lag": "-",
            "delay": span(node.configured_delay) if node.configured_delay is not None else "-",
            "left": "-",
            "applier": "-",
            "last error": one_line(unreachable_why(node), 60),
        }
    replica = node.replica
    left = None
    if replica is not None and replica.sql_remaining_delay is not None:
        left = replica.sql_remaining_delay - (now - node.gathered_at)
    applier: Text | str = "-"
    if replica is not None:
        if replica.last_sql_error:
            applier = Text("error", style="bold red")
        elif replica.applier_running:
            applier = "running"
        else:
            applier = Text("stopped", style="bold yellow")
    return {
        "node": node.name,
        "role": node.role.value,
        "state": Text("up", style="green"),
        "ro": "-" if node.read_only is None else ("yes" if node.read_only else "no"),
        "lag": span(replica.seconds_behind) if replica else "-",
        "delay": span(replica.sql_delay) if replica else "-",
        "left": clock(left) if left is not None else "-",
        "applier": applier,
        "last error": one_line(replica.last_error, 60) if replica and replica.last_error else "-",
    }


def unreachable_word(node: NodeFacts) -> str:
    """A dead server and a refused login are different problems: the state column says which."""
    from drkit.model.facts import Unreachable

    return {
        Unreachable.AUTH: "REFUSED",
        Unreachable.CONFIG: "CONFIG",
        Unreachable.ERROR: "ERROR",
    }.get(node.unreachable_kind or Unreachable.NETWORK, "DOWN")


def unreachable_why(node: NodeFacts) -> str:
    """The reason without the node's name and address the row already shows."""
    reason = node.unreachable_reason
    prefix = f"{node.name} ("
    if reason.startswith(prefix) and "): " in reason:
        return reason.split("): ", 1)[1]
    return reason


def node_detail(node: NodeFacts) -> str:
    """Two lines on one node: where its applier is and what went wrong last."""
    if not node.reachable:
        return f"{node.name} ({node.address}): unreachable: {node.unreachable_reason}"
    version = node.version.text if node.version else "?"
    lines = [f"{node.name} ({node.address}) {version}, executed {node.executed or '-'}"]
    replica = node.replica
    if replica is not None:
        lines.append(
            f"io {replica.receiver_state}, applier {replica.applier_state or '-'}"
            f" at {replica.executed_source or '-'}"
        )
        if replica.last_error:
            lines.append(f"last error: {replica.last_error}")
        if node.configured_delay is not None and replica.sql_delay != node.configured_delay:
            lines.append(
                f"runs with delay {span(replica.sql_delay)}, configured {span(node.configured_delay)}"
            )
    return "\n".join(lines)


def alarm_text(alarm: Alarm, now: float, *, acknowledged: bool = False) -> Text:
    """The banner: what the delayed replica holds against the destructive transaction, and the
    way forward from there (one line once acknowledged)."""
    from drkit.checks.alarm import AlarmState

    tx = alarm.transaction
    finding = tx.destructive
    what = f"{finding.severity} {finding.category}" if finding else "destructive"
    named = f"#{tx.id} {tx.gtid or ''}".rstrip()
    kind = alarm.kind
    text = Text()
    if acknowledged:
        left = f" in {clock(alarm.seconds_left(now))}" if kind is AlarmState.RUNNING else ""
        text.append(f"acknowledged: {kind.value} {named}{left} ({what})   k: unacknowledge")
        return text
    if kind is AlarmState.MISSED:
        text.append(" DELAY RAN OUT ", style="bold white on red")
        text.append(f" {alarm.node} applied {named}: it no longer holds the data. ")
        text.append(one_line(tx.statement, 120), style="bold")
        text.append(f"  ({what})\n")
        text.append(
            f"way back: flashback of its row changes (drkit flashback {tx.id} --dry-run), "
            "or a backup plus the binlog archive",
            style="bold",
        )
        return text
    if kind is AlarmState.RUNNING:
        text.append(" ALARM ", style="bold white on red")
        text.append(f" {alarm.node} applies {named} in ")
        text.append(clock(alarm.seconds_left(now)), style="bold reverse")
        text.append(": ")
    elif kind is AlarmState.FROZEN:
        text.append(" FROZEN ", style="bold black on yellow")
        text.append(f" {alarm.node} holds back {named}: ")
    elif kind is AlarmState.RECOVERED:
        text.append(" RECOVERED ", style="bold black on green")
        text.append(f" {alarm.node} stopped just before {named}: ")
    else:
        text.append(" NAMED ", style="bold black on green")
        text.append(f" resumed with {named} named: {alarm.node} applies it on purpose: ")
    text.append(one_line(tx.statement, 120), style="bold")
    text.append(f"  ({what})")
    if kind is AlarmState.RUNNING:
        text.append("   press f to freeze now", style="bold")
    elif kind is AlarmState.FROZEN:
        text.append("   press r to recover")
    elif kind is AlarmState.RECOVERED:
        text.append("   e: extract a table, p: promotion, u: resume")
    return text


def window_text(windows: tuple[InspectWindow, ...]) -> str:
    """Which past each delayed replica can show, and how (status computes it; this words it)."""
    if not windows:
        return "unknown: no delayed replica answers, or no index yet"
    return "\n".join(window.describe() for window in windows)


def window_line(window: InspectWindow | None) -> str:
    """The same in one line for the Inspect screen: times of day unless the dates differ."""
    if window is None or window.applied_at is None or window.newest is None:
        return "past: unknown (the delayed replica's position is not in the index)"

    def short(ts: float) -> str:
        same_day = utc(ts)[:10] == utc(window.newest or ts)[:10]
        return utc(ts)[11:] if same_day else utc(ts)[5:16] + "Z"

    line = f"past: inspect {short(window.applied_at)}..{short(window.newest)} (forward)"
    if window.oldest is not None and window.oldest < window.applied_at:
        line += f" · asof {short(window.oldest)}..{short(window.applied_at)} (rewind)"
    return line


def countdown_line(node: NodeFacts | None, alarm: Alarm | None, now: float) -> Text:
    """The delayed replica's applier and delay, and the alarm's countdown while it runs."""
    from drkit.checks.alarm import AlarmState

    if node is None:
        return Text("no delayed replica configured")
    if not node.reachable:
        return Text(f"{node.name}: {unreachable_word(node)}: {unreachable_why(node)}", "bold red")
    replica = node.replica
    if replica is None:
        return Text(f"{node.name}: not replicating", style="bold yellow")
    text = Text(f"{node.name} ")
    text.append(
        "running" if replica.applier_running else "STOPPED",
        "" if replica.applier_running else "bold yellow",
    )
    text.append(f", delay {span(replica.sql_delay)}")
    if alarm is not None and alarm.kind is AlarmState.RUNNING:
        text.append(f" · ALARM #{alarm.transaction.id} in ", style="bold red")
        text.append(clock(alarm.seconds_left(now)), style="bold reverse")
    elif replica.sql_remaining_delay is not None:
        text.append(f", left {clock(replica.sql_remaining_delay - (now - node.gathered_at))}")
    return text


def index_text(index: IndexSummary | None, now: float) -> str:
    """The index: its newest transaction, how far it trails the primary, who follows the primary."""
    if index is None:
        return "the index was not read"
    if not index.exists:
        return f"no index yet at {index.path}: run `drkit index --follow` to build it"
    if index.damaged:
        return f"INDEX DAMAGED: {index.problem}; way out: `drkit index --rebuild`"
    if index.problem:
        return f"index {index.path}: {index.problem}"
    if index.latest_id is None or index.latest_time is None:
        return f"index {index.path} is empty"
    if index.behind_bytes is None:
        behind = "lag behind the primary unknown"
    elif index.behind_bytes == 0:
        behind = "caught up with the primary"
    else:
        # What is not indexed yet was committed after the newest indexed transaction.
        behind = (
            f"behind the primary by at most {span(max(0.0, now - index.latest_time))} "
            f"({size(index.behind_bytes)} not indexed)"
        )
    follower = (
        f"followed by pid {index.follower_pid}"
        if index.follower_pid
        else "nothing follows the primary: run `drkit index --follow`"
    )
    return (
        f"last indexed #{index.latest_id} {index.latest_gtid or '-'} at {utc(index.latest_time)}"
        f" ({span(now - index.latest_time)} ago), {index.transactions} in all\n"
        f"checkpoint {index.checkpoint or '-'}: {behind}; {follower}"
    )


def guard_text(guard: GuardStatus | None, now: float) -> str:
    """Whether a guard watches the primary, and what it last saw and did."""
    if guard is None:
        return "the guard's state was not read"
    lines = [("running: " if guard.running else "not running: ") + guard.reason]
    state = guard.state
    if state is None:
        return (
            lines[0]
            + "\nstart one with `drkit guard` so a destructive statement freezes the delayed replica"
        )
    if guard.running:
        lines[0] += f"; primary {state.primary}"
    if state.last_seen_id is not None:
        ago = f" ({span(now - state.last_seen_at)} ago)" if state.last_seen_at else ""
        lines.append(f"last seen #{state.last_seen_id} {state.last_seen_gtid or '-'}{ago}")
    if state.last_finding:
        finding = state.last_finding
        lines.append(
            f"last finding #{finding.get('id')} {finding.get('severity')} {finding.get('class')}"
        )
    if state.last_action:
        lines.append(f"last action: {state.last_action.get('action')}")
    if state.missed:
        lines.append(f"WINDOWS MISSED: {len(state.missed)}")
    if state.pending:
        lines.append(f"FREEZE PENDING on {'; '.join(p.label for p in state.pending)}")
    return "\n".join(lines)


def drbd_text(probes: tuple[DrbdProbe, ...]) -> str:
    if not probes:
        return "no DRBD resource configured"
    lines = []
    for probe in probes:
        for verdict in probe.verdicts():
            lines.append(f"{probe.resource}: {verdict.level.value}: {verdict.reason}")
    return "\n".join(lines)


def loadbalancer_text(view: LoadBalancerView | None) -> str:
    if view is None:
        return "no load balancer configured"
    if not view.reachable:
        return f"haproxy {view.socket}: unreachable: {view.reason}"
    lines = [f"haproxy backend {view.backend}:"]
    for server in view.servers:
        node = view.node_of(server.server) or "-"
        writers = "takes writes" if server.takes_traffic else "no traffic"
        lines.append(f"  {server.server} ({node}) {server.mode.value}, {writers}")
    lines += [f"  problem: {problem}" for problem in view.problems]
    return "\n".join(lines)


def recovery_text(state: RecoveryState | None) -> str:
    if state is None:
        return "no recovery recorded"
    return (
        f"{state.description} on {state.node}: {state.status}, step {state.step}/{state.steps}"
        + (f" ({state.message})" if state.message else "")
    )


def transaction_cells(tx: IndexedTransaction) -> tuple[Text | str, ...]:
    """A timeline row; a destructive transaction stands out in red."""
    tables = ", ".join(t.table for t in tx.tables) or "-"
    style = "bold red" if tx.destructive else ""
    return (
        Text(str(tx.id), style=style),
        Text(tx.when.strftime("%m-%d %H:%M:%S"), style=style),
        Text(tx.destructive.category if tx.destructive else "-", style=style),
        Text(one_line(tables, 20), style=style),
        Text(one_line(tx.statement, 60), style=style),
        tx.rows_text,
    )


def transaction_detail(
    tx: IndexedTransaction, taken: tuple[DroppedRows, ...] | None = None
) -> Text:
    """Everything the index holds on one transaction, for the detail pane; for a DROP or
    TRUNCATE, the rows it took as the delayed copy says (`taken`, None: not asked yet)."""
    text = Text()
    if tx.destructive:
        finding = tx.destructive
        text.append(
            f"DESTRUCTIVE {finding.severity} {finding.category}: {finding.reason}\n",
            style="bold red",
        )
    inserts, updates, deletes = tx.rows
    text.append(f"#{tx.id}  GTID {tx.gtid or '-'}  {utc(tx.timestamp)}  {tx.kind}\n")
    text.append(f"binlog {tx.file}:{tx.start_pos}-{tx.end_pos}  server {tx.server_id}\n")
    if tx.rows_unknown and taken:
        for dropped in taken:
            counted = f"took {dropped.rows} rows" if dropped.rows is not None else "rows unknown"
            text.append(f"{dropped.table}: {counted} ({dropped.how})\n")
    elif tx.rows_unknown:
        text.append("rows: asking the delayed copy (a DROP or TRUNCATE has no row events)\n")
    else:
        text.append(f"rows +{inserts} ~{updates} -{deletes}\n")
        for table in tx.tables:
            text.append(f"  {table.table}: +{table.inserts} ~{table.updates} -{table.deletes}\n")
    text.append(tx.statement or "(no statement text)", style="italic")
    return text


def promotion_text(report: PromotionReport) -> str:
    """The promotion's outcome: the new primary, the load balancer, then every node's fate."""
    lines = [
        f"{'promoted' if report.ok else 'PROMOTION INCOMPLETE'}: "
        f"{report.new_primary} is the primary (old primary: {report.old_primary or '-'})",
        f"load balancer writers: {', '.join(report.loadbalancer_writers) or 'none'}",
    ]
    for fate in report.fates:
        lines += fate.render()
    return "\n".join(lines)


class Reported(Protocol):
    """A facade report: everything it says is in its JSON form."""

    def to_json(self) -> Mapping[str, object]: ...


def report_lines(value: Reported | Mapping[str, object]) -> str:
    """A report's JSON as indented `key: value` lines (for reports the console has no table for)."""
    data = value if isinstance(value, Mapping) else value.to_json()
    return "\n".join(_lines(data, 0))


def _lines(data: Any, depth: int) -> list[str]:
    pad = "  " * depth
    if isinstance(data, dict):
        out: list[str] = []
        for key, item in data.items():
            if isinstance(item, dict | list) and item:
                out.append(f"{pad}{key}:")
                out += _lines(item, depth + 1)
            else:
                out.append(f"{pad}{key}: {_scalar(item)}")
        return out
    if isinstance(data, list):
        out = []
        for item in data:
            if isinstance(item, dict | list):
                out.append(f"{pad}-")
                out += _lines(item, depth + 1)
            else:
                out.append(f"{pad}- {_scalar(item)}")
        return out
    return [f"{pad}{_scalar(data)}"]


def _scalar(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)
