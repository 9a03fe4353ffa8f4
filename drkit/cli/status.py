"""`drkit status`: every node's role, reachability, replication and delay."""

from __future__ import annotations

import sys

import click

from drkit.checks.alarm import Alarm
from drkit.cli.common import Context, emit_json, json_option, out, pass_context, say, seconds
from drkit.errors import DrkitError, ExitCode
from drkit.guard.state import GuardStatus
from drkit.model.drift import role_drift
from drkit.model.facts import NodeFacts, Unreachable
from drkit.model.loadbalancer import LoadBalancerView
from drkit.render import duration, size, table
from drkit.service import Drkit, IndexSummary, StatusReport
from drkit.timeparse import iso

# How long `drkit status` lets SQLite check the index's pages: whole for any index up to a few
# hundred MB here; a larger one is checked as far as that goes (and by every read).
VERIFY_INDEX_SECONDS = 1.0


@click.command()
@json_option
@click.option(
    "--timeout",
    type=seconds(maximum=3600),
    default=5.0,
    show_default=True,
    help="Seconds per node.",
)
@pass_context
def status(ctx: Context, as_json: bool, timeout: float) -> int:
    """Show each node's role, reachability, version, replication threads and delay.

    Exit 0 when every node answers, 1 when one does not (the report is printed all the same),
    2 when a node refuses drkit's login or its configuration is wrong.

    \b
    Examples:
      drkit status
      drkit status --json | jq .alarm      # where the delayed replica stands
      drkit status --timeout 2             # a monitor's check: exit 1 when a node is down
    """
    drkit = Drkit(ctx.config)
    report = drkit.status(timeout=timeout, verify_index=VERIFY_INDEX_SECONDS)
    alarm, unknown = _alarm(drkit, report)
    if as_json:
        emit_json(
            {
                **report.to_json(),
                "alarm": alarm.to_json() if alarm else None,
                "alarm_unknown": unknown,
            }
        )
    else:
        out(render_status(report, alarm, colour=sys.stdout.isatty()))
    for node in report.login_refused:
        say(f"drkit: {node.unreachable_reason}")
    # A refused login is a configuration problem (exit 2); a node that does not answer is a
    # failure a monitor must see (exit 1), reported in full all the same.
    if report.login_refused:
        return int(ExitCode.USAGE)
    down = [n.name for n in report.nodes if not n.reachable]
    if down:
        say(f"drkit: not answering: {', '.join(down)}")
        return int(ExitCode.FAILED)
    return int(ExitCode.DONE)


def _alarm(drkit: Drkit, report: StatusReport) -> tuple[Alarm | None, str | None]:
    """Where the delayed replica stands against the newest destructive transaction (None: nothing
    to say, or it cannot be told: a node down is reported in its row), and why it could not be
    judged (the index behind the replica, a damaged index), said on stderr too."""
    delayed = drkit.config.delayed
    facts = report.node(delayed[0].name) if delayed else None
    if facts is None or not facts.reachable:
        return None, None
    try:
        return drkit.alarm(facts), None
    except DrkitError as exc:
        say(f"drkit: the alarm could not be judged: {exc.message}")
        return None, exc.message


def render_status(report: StatusReport, alarm: Alarm | None = None, *, colour: bool = False) -> str:
    text = _render_status(report, alarm)
    return _coloured(text) if colour else text


# Words a terminal shows in colour (after layout: escape codes take no columns).
_COLOURS = {
    "UNREACHABLE": "red",
    "LOGIN REFUSED": "red",
    "CONFIG ERROR": "red",
    "DELAY RAN OUT": "red",
    "ALARM": "red",
    "FROZEN": "yellow",
    "RECOVERED": "green",
    "NOT UP": "red",
    "ROLES": "yellow",
}


def _coloured(text: str) -> str:
    lines = []
    for line in text.splitlines():
        styled = line
        if line.startswith("!" * 10):
            styled = click.style(line, fg="red", bold=True)
        else:
            for word, fg in _COLOURS.items():
                styled = styled.replace(word, click.style(word, fg=fg, bold=True))
        lines.append(styled)
    return "\n".join(lines)


def _render_status(report: StatusReport, alarm: Alarm | None) -> str:
    rows = [_node_row(node) for node in report.nodes]
    text = table(
        [
            "node",
            "role",
            "state",
            "version",
            "ro",
            "io",
            "sql",
            "behind",
            "delay",
            "remaining",
            "executed",
        ],
        rows,
    )
    details = [_node_detail(node) for node in report.nodes]
    extra = "\n".join(line for line in details if line)
    sections = [text]
    if alarm is not None:
        # The loudest line there is goes first when the delay ran out or is running out.
        rule = "!" * 78 if alarm.urgent else ""
        sections.insert(0, "\n".join(line for line in (rule, alarm.sentence(), rule) if line))
    drift = role_drift(report.nodes)
    if drift:
        sections.append("ROLES: " + "\n  ".join(drift))
    if extra:
        sections.append(extra)
    if report.index is not None:
        sections.append(_index_section(report.index, report.gathered_at))
    if report.archive is not None:
        sections.append(report.archive.describe())
    if report.drbd:
        sections.append(_drbd_section(report))
    if report.loadbalancer is not None:
        sections.append(_loadbalancer_section(report.loadbalancer, report))
    if report.guard is not None:
        sections.append(_guard_section(report.guard, report.gathered_at))
    if report.windows:
        sections.append(
            "INSPECTABLE: " + "\n  ".join(window.describe_reach() for window in report.windows)
        )
    recovery = _recovery_section(report)
    if recovery:
        sections.append(recovery)
    return "\n\n".join(sections)


def _recovery_section(report: StatusReport) -> str:
    lines = []
    if report.plan_running is not None:
        lines.append(f"RUNNING NOW: {report.plan_running.describe()}")
    state = report.recovery
    if state is not None:
        when = iso(round(state.updated_at))  # to the second, like every other time here
        lines.append(
            f"RECOVERY on {state.node}: {state.status} at {when}, step {state.step}/{state.steps} "
            f"({state.strategy}): {state.description}"
        )
        if state.message:
            lines.append(f"  {state.message}")
        if state.unfinished and report.plan_running is None:
            lines.append(
                "  unfinished: re-running the same command continues to its recorded target"
            )
    return "\n".join(lines)


def _index_section(index: IndexSummary, now: float) -> str:
    if index.damaged:
        lines = [f"INDEX DAMAGED: {index.problem}"]
        if index.hint:
            lines.append(f"  way out: {index.hint}")
        if index.follower_pid:
            lines.append(f"  pid {index.follower_pid} is writing it")
        return "\n".join(lines)
    if index.problem:
        return f"INDEX {index.path}: {index.problem}"
    return _index_line(index, now)


def _index_line(index: IndexSummary, now: float) -> str:
    latest = (
        f"#{index.latest_id} {index.latest_gtid} at {iso(index.latest_time)}"
        if index.latest_id is not None and index.latest_time is not None
        else "empty"
    )
    follower = (
        f"followed by pid {index.follower_pid}"
        if index.follower_pid
        else "not followed (run `drkit index --follow` or `drkit guard`)"
    )
    behind = ""
    if index.behind_bytes and index.latest_time is not None:
        # What is not indexed yet was committed after the newest indexed transaction.
        behind = (
            f", behind the primary by at most {duration(max(0.0, now - index.latest_time))}"
            f" ({size(index.behind_bytes)} not indexed yet)"
        )
    elif index.behind_bytes:
        behind = f", {size(index.behind_bytes)} of binlog not indexed yet"
    elif index.behind_bytes == 0:
        behind = ", caught up with the primary"
    return f"INDEX: {index.transactions} transactions, newest {latest}; checkpoint {index.checkpoint}{behind}; {follower}"


def _guard_section(guard: GuardStatus, now: float) -> str:
    state = guard.state
    head = f"GUARD: {guard.reason}"
    if state is None:
        return head
    if guard.running:
        head += f"; primary: {state.primary}"
    lines = [head]
    if state.last_seen_id is not None:
        when = (
            f" committed {iso(state.last_seen_at)} ({duration(max(0.0, now - state.last_seen_at))} ago)"
            if state.last_seen_at
            else ""
        )
        lines.append(f"  last seen: #{state.last_seen_id} {state.last_seen_gtid or '-'}{when}")
    finding = state.last_finding
    action = state.last_action
    if finding:
        lines.append(
            f"  last finding: #{finding.get('id')} {finding.get('severity')} {finding.get('class')}: "
            f"{finding.get('reason')}"
        )
    if action:
        nodes = ", ".join(f"{node} {what}" for node, what in (action.get("nodes") or {}).items())
        at = float(action.get("at") or now)
        detail = nodes or action.get("excused_by") or ""
        lines.append(
            f"  last action: {action.get('action')} ({detail}), {duration(max(0.0, now - at))} ago"
        )
    if state.missed:
        latest = state.missed[-1]
        lines.append(
            f"  WINDOWS MISSED: {len(state.missed)}; latest #{latest.get('id')} on {latest.get('node')}"
        )
    for pending in state.pending:
        # Not frozen until the server said so: a node that does not answer is unknown, not safe.
        tried = (
            f"{pending.attempts} attempts, last: {pending.reason}"
            if pending.attempts
            else "not tried yet"
        )
        lines.append(f"  FREEZE PENDING on {pending.label} ({tried}; retrying)")
    return "\n".join(lines)


def _drbd_section(report: StatusReport) -> str:
    lines = ["DRBD"]
    for probe in report.drbd:
        for verdict in probe.verdicts():
            lines.append(f"  {probe.resource}: {verdict.level.value}: {verdict.reason}")
    return "\n".join(lines)


def _loadbalancer_section(view: LoadBalancerView, report: StatusReport) -> str:
    if not view.reachable:
        return f"LOAD BALANCER (haproxy {view.socket}): unreachable: {view.reason}"
    rows = []
    problems = list(view.problems)
    for server in view.servers:
        name = view.node_of(server.server)
        node = report.node(name) if name else None
        # HAProxy's own health (its checks, when configured) and what drkit saw of the node.
        health = server.op_state.name.lower()
        if node is not None and not node.reachable:
            health = f"{health}, NOT UP"
            if server.takes_traffic:
                problems.append(
                    f"{server.server} takes clients but {node.name} does not answer: their "
                    "connections fail"
                )
        elif node is not None:
            health = f"{health}, node up"
        rows.append(
            [
                name or "-",
                server.server,
                server.endpoint,
                server.mode.value,
                health,
                server.takes_traffic,
            ]
        )
    text = f"LOAD BALANCER (haproxy backend {view.backend})\n" + table(
        ["node", "server", "address", "mode", "health", "writers"], rows
    )
    for problem in problems:
        text += f"\n  problem: {problem}"
    return text


# A refused login is not a dead server: the row says which it is.
_UNREACHABLE_STATE = {
    Unreachable.NETWORK: "UNREACHABLE",
    Unreachable.AUTH: "LOGIN REFUSED",
    Unreachable.CONFIG: "CONFIG ERROR",
    Unreachable.ERROR: "ERROR",
}


def _node_row(node: NodeFacts) -> list[object]:
    if not node.reachable:
        return [
            node.name,
            node.role.value,
            _UNREACHABLE_STATE.get(node.unreachable_kind or Unreachable.NETWORK, "UNREACHABLE"),
            None,
            None,
            None,
            None,
            None,
            duration(node.configured_delay) if node.configured_delay is not None else None,
            None,
            None,
        ]
    replica = node.replica
    version = (
        f"{node.version.flavour.value} {node.version.major}.{node.version.minor}.{node.version.patch}"
        if node.version
        else None
    )
    return [
        node.name,
        node.role.value,
        "up",
        version,
        node.read_only,
        replica.receiver_state if replica else None,
        ("Yes" if replica.applier_running else "No") if replica else None,
        duration(replica.seconds_behind)
        if replica and replica.seconds_behind is not None
        else None,
        duration(replica.sql_delay) if replica else None,
        duration(replica.sql_remaining_delay)
        if replica and replica.sql_remaining_delay is not None
        else None,
        str(node.executed) or None,
    ]


def _node_detail(node: NodeFacts) -> str:
    if not node.reachable:
        return f"{node.name}: {node.unreachable_reason}"
    lines = []
    if node.tls is not None:
        lines.append(f"{node.name}: session {node.tls.describe()}")
    replica = node.replica
    if replica is not None:
        lines.append(
            f"{node.name}: applier: {replica.applier_state or '-'}; executed {replica.executed_source or '-'}"
            f" (relay {replica.relay or '-'})"
        )
        if replica.last_error:
            lines.append(f"{node.name}: last error: {replica.last_error}")
    if (
        node.configured_delay is not None
        and replica is not None
        and replica.sql_delay != node.configured_delay
    ):
        lines.append(
            f"{node.name}: runs with delay {duration(replica.sql_delay)}, configured {duration(node.configured_delay)}"
        )
    return "\n".join(lines)
