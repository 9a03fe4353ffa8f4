"""The steps a plan is made of: values that print as the dry run and that the executor runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from drkit.dialect.sql import Sql
from drkit.model.loadbalancer import ServerCommand
from drkit.plan.conditions import Condition
from drkit.render import counted


@dataclass(frozen=True)
class SqlStep:
    """Run one statement on a node."""

    node: str
    sql: Sql
    why: str = ""
    pre: tuple[Condition, ...] = ()
    post: tuple[Condition, ...] = ()
    done_skips: tuple[int, ...] = ()  # index ids of skipped transactions passed once it ran

    def render(self) -> str:
        return f"{self.node}: {self.sql}"


@dataclass(frozen=True)
class WaitStep:
    """Wait until the node's applier has stopped at the planned point (or fails)."""

    node: str
    until: tuple[Condition, ...]
    why: str = ""
    pending: int = 0  # transactions the applier has to apply before this holds
    stop_gtid: str | None = None  # the first transaction that must stay unapplied
    last_gtid: str | None = None  # the last transaction that must be applied
    expect_stopped: bool = True  # UNTIL stops the applier; False: stop it ourselves when caught up
    pre: tuple[Condition, ...] = ()

    def render(self) -> str:
        what = " and ".join(c.describe() for c in self.until)
        count = f" ({counted(self.pending, 'transaction')} to apply)" if self.pending else ""
        return f"{self.node}: wait until {what}{count}"


@dataclass(frozen=True)
class PreserveRelayLogs:
    """Copy the node's relay logs aside before anything could delete them."""

    node: str
    source: Path
    why: str = "the relay logs may be the only copy of transactions the primary can no longer send"
    pre: tuple[Condition, ...] = ()
    post: tuple[Condition, ...] = ()

    def render(self) -> str:
        return f"{self.node}: copy the relay logs in {self.source} aside (drkit-relay-backup-*/)"


@dataclass(frozen=True)
class ReplayArchive:
    """Pipe archived binlog through the server's own binlog tool into the node's client."""

    node: str
    files: tuple[str, ...]
    start_pos: int
    stop_pos: int | None
    first_gtid: str | None
    last_gtid: str | None
    transactions: int
    why: str = ""
    pre: tuple[Condition, ...] = ()
    post: tuple[Condition, ...] = ()
    done_skips: tuple[int, ...] = ()  # index ids of skipped transactions passed once it ran

    def render(self) -> str:
        span = f"{self.files[0]}:{self.start_pos}"
        end = (
            f"{self.files[-1]}:{self.stop_pos}"
            if self.stop_pos is not None
            else f"end of {self.files[-1]}"
        )
        return (
            f"{self.node}: replay archived binlog {span} .. {end} "
            f"({self.transactions} transactions, {self.first_gtid} .. {self.last_gtid})"
        )


@dataclass(frozen=True)
class AlignGtidPosition:
    """MariaDB: set gtid_slave_pos to what the stopped replica applied, read from the index at
    run time (a value computed while the applier still ran could move it backwards)."""

    node: str
    why: str = ""
    pre: tuple[Condition, ...] = ()

    def render(self) -> str:
        return (
            f"{self.node}: align gtid_slave_pos with what it applied, per GTID domain, read "
            "from the index once stopped (set only when it differs)"
        )


@dataclass(frozen=True)
class LoadBalancerStep:
    """One runtime-API command to the load balancer, verified by reading its state back."""

    command: ServerCommand
    why: str = ""
    node: str = "loadbalancer"

    def render(self) -> str:
        return f"haproxy: {self.command.text}"


@dataclass(frozen=True)
class CopyTable:
    """Copy one table's rows: the source's dump tool piped into the destination node's client."""

    source: str
    node: str  # the destination, the node this step changes
    source_table: str
    target_table: str
    pipeline: str  # the commands, as the dry run prints them
    mariadb: bool = True
    rows: int | None = None
    why: str = ""
    pre: tuple[Condition, ...] = ()  # on the destination
    source_pre: tuple[Condition, ...] = ()  # on the source, checked just before the dump
    post: tuple[Condition, ...] = ()

    def render(self) -> str:
        rows = f" ({self.rows} rows)" if self.rows is not None else ""
        return (
            f"{self.source} -> {self.node}: copy the rows of {self.source_table} into "
            f"{self.target_table}{rows}: {self.pipeline}"
        )


@dataclass(frozen=True)
class CheckStep:
    """Re-read another node's facts and stop unless they still hold (nothing is changed)."""

    node: str
    pre: tuple[Condition, ...]
    why: str = ""

    def render(self) -> str:
        return f"{self.node}: check " + ", ".join(c.describe() for c in self.pre)


Step = (
    SqlStep
    | AlignGtidPosition
    | WaitStep
    | PreserveRelayLogs
    | ReplayArchive
    | LoadBalancerStep
    | CopyTable
    | CheckStep
)


@dataclass(frozen=True)
class Plan:
    """An ordered list of steps with the reasons for them; printed, it is the dry run."""

    title: str
    node: str
    steps: tuple[Step, ...]
    strategy: str = ""
    strategy_reason: str = ""
    notes: tuple[str, ...] = ()
    summary: tuple[str, ...] = field(default=())

    def render(self) -> str:
        lines = [self.title]
        if self.strategy:
            lines.append(f"  strategy: {self.strategy} ({self.strategy_reason})")
        lines += [f"  {line}" for line in self.summary]
        if not self.steps:
            lines.append("  nothing to do")
        for number, step in enumerate(self.steps, start=1):
            lines.append(f"  {number:>2}. {step.render()}")
            if step.why:
                lines.append(f"      why: {step.why}")
            pre = getattr(step, "pre", ())
            if pre:
                lines.append("      requires: " + ", ".join(c.describe() for c in pre))
            post = getattr(step, "post", ())
            if post:
                lines.append("      then: " + ", ".join(c.describe() for c in post))
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def statements(self) -> list[str]:
        """Every server statement and load-balancer command, as they would be sent."""
        found = []
        for step in self.steps:
            if isinstance(step, SqlStep):
                found.append(f"{step.node}: {step.sql}")
            elif isinstance(step, LoadBalancerStep):
                found.append(f"haproxy: {step.command.text}")
        return found

    def to_json(self) -> dict[str, object]:
        return {
            "title": self.title,
            "node": self.node,
            "strategy": self.strategy or None,
            "strategy_reason": self.strategy_reason or None,
            "steps": [step.render() for step in self.steps],
            "statements": self.statements(),
            "notes": list(self.notes),
            "summary": list(self.summary),
        }
