"""What must hold on a node before or after a step: pure checks over a fresh NodeFacts.

Each check answers None when it holds, or a sentence saying what was seen instead, so the
executor can stop with "expected X, found Y" the moment the world differs from the plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from drkit.model.coords import BinlogCoord
from drkit.model.facts import NodeFacts
from drkit.model.gtid import MariadbGtidPos, parse_gtid


class Condition(Protocol):
    def describe(self) -> str: ...

    def failure(self, facts: NodeFacts) -> str | None: ...


@dataclass(frozen=True)
class Reachable:
    def describe(self) -> str:
        return "answers"

    def failure(self, facts: NodeFacts) -> str | None:
        return None if facts.reachable else f"unreachable: {facts.unreachable_reason}"


@dataclass(frozen=True)
class IsReplica:
    def describe(self) -> str:
        return "is a replica"

    def failure(self, facts: NodeFacts) -> str | None:
        if not facts.reachable:
            return f"unreachable: {facts.unreachable_reason}"
        return None if facts.replica is not None else "has no replication configured"


@dataclass(frozen=True)
class ApplierStopped:
    def describe(self) -> str:
        return "applier stopped"

    def failure(self, facts: NodeFacts) -> str | None:
        if not facts.reachable or facts.replica is None:
            return _missing(facts)
        return None if not facts.replica.applier_running else "the applier is running"


@dataclass(frozen=True)
class ReplicationStopped:
    def describe(self) -> str:
        return "receiver and applier stopped"

    def failure(self, facts: NodeFacts) -> str | None:
        if not facts.reachable or facts.replica is None:
            return _missing(facts)
        running = []
        if facts.replica.applier_running:
            running.append("the applier")
        if facts.replica.receiver_state != "No":
            running.append(f"the receiver ({facts.replica.receiver_state})")
        return None if not running else " and ".join(running) + " running"


@dataclass(frozen=True)
class NoApplierError:
    def describe(self) -> str:
        return "no applier error"

    def failure(self, facts: NodeFacts) -> str | None:
        if not facts.reachable or facts.replica is None:
            return _missing(facts)
        error = facts.replica.last_sql_error
        return None if not error else f"applier error {facts.replica.last_sql_errno}: {error}"


@dataclass(frozen=True)
class DelayIs:
    seconds: int

    def describe(self) -> str:
        return f"delay {self.seconds}s"

    def failure(self, facts: NodeFacts) -> str | None:
        if not facts.reachable or facts.replica is None:
            return _missing(facts)
        actual = facts.replica.sql_delay
        return None if actual == self.seconds else f"delay is {actual}s"


@dataclass(frozen=True)
class Applied:
    """The node's executed GTIDs include this one."""

    gtid: str

    def describe(self) -> str:
        return f"{self.gtid} applied"

    def failure(self, facts: NodeFacts) -> str | None:
        if not facts.reachable:
            return _missing(facts)
        if facts.executed.contains(parse_gtid(self.gtid)):
            return None
        return f"{self.gtid} is not applied (executed: {str(facts.executed) or 'nothing'})"


@dataclass(frozen=True)
class NotApplied:
    """The node's executed GTIDs do not include this one."""

    gtid: str

    def describe(self) -> str:
        return f"{self.gtid} not applied"

    def failure(self, facts: NodeFacts) -> str | None:
        if not facts.reachable:
            return _missing(facts)
        if not facts.executed.contains(parse_gtid(self.gtid)):
            return None
        return f"{self.gtid} is already applied (executed: {facts.executed})"


@dataclass(frozen=True)
class ExecutedAtMost:
    """The applier has not gone past this primary coordinate."""

    coord: BinlogCoord

    def describe(self) -> str:
        return f"executed position at or before {self.coord}"

    def failure(self, facts: NodeFacts) -> str | None:
        if not facts.reachable or facts.replica is None:
            return _missing(facts)
        executed = facts.replica.executed_source
        if executed is None:
            return None  # no coordinate to compare: the GTID conditions decide
        return None if executed <= self.coord else f"executed position is {executed}"


@dataclass(frozen=True)
class ReadOnlyIs:
    on: bool

    def describe(self) -> str:
        return "read-only" if self.on else "writable"

    def failure(self, facts: NodeFacts) -> str | None:
        if not facts.reachable or facts.read_only is None:
            return _missing(facts)
        return (
            None if facts.read_only == self.on else ("read-only" if facts.read_only else "writable")
        )


@dataclass(frozen=True)
class NotReplica:
    def describe(self) -> str:
        return "replication reset"

    def failure(self, facts: NodeFacts) -> str | None:
        if not facts.reachable:
            return _missing(facts)
        return (
            None
            if facts.replica is None
            else f"still replicates from {facts.replica.source_host}:{facts.replica.source_port}"
        )


@dataclass(frozen=True)
class FencedOrGone:
    """The old primary cannot take writes: read-only, or not answering at all."""

    def describe(self) -> str:
        return "read-only or unreachable"

    def failure(self, facts: NodeFacts) -> str | None:
        if not facts.reachable:
            return None
        return None if facts.read_only else "writable"


@dataclass(frozen=True)
class ExecutedIs:
    """The node has executed exactly this GTID set: nothing moved since the plan was made."""

    executed: str

    def describe(self) -> str:
        return f"executed {self.executed or 'nothing'}"

    def failure(self, facts: NodeFacts) -> str | None:
        if not facts.reachable:
            return _missing(facts)
        now = str(facts.executed)
        return None if now == self.executed else f"executed {now or 'nothing'}"


@dataclass(frozen=True)
class SlavePosIs:
    """MariaDB: gtid_slave_pos holds exactly this position (compared per domain)."""

    position: str

    def describe(self) -> str:
        return f"gtid_slave_pos {self.position or 'empty'}"

    def failure(self, facts: NodeFacts) -> str | None:
        if not facts.reachable:
            return _missing(facts)
        wanted = MariadbGtidPos.parse(self.position)
        found = MariadbGtidPos.parse(facts.gtid_slave_pos_text)
        return None if found == wanted else f"gtid_slave_pos {found or 'empty'}"


@dataclass(frozen=True)
class UsesGtid:
    """Replication is positioned by GTID (MariaDB Using_Gtid Slave_Pos/Current_Pos)."""

    def describe(self) -> str:
        return "GTID positioning"

    def failure(self, facts: NodeFacts) -> str | None:
        if not facts.reachable or facts.replica is None:
            return _missing(facts)
        mode = facts.replica.using_gtid
        return None if mode.lower() not in ("no", "", "0") else f"Using_Gtid {mode or 'No'}"


def _missing(facts: NodeFacts) -> str:
    if not facts.reachable:
        return f"unreachable: {facts.unreachable_reason}"
    return "has no replication configured"


def failures(conditions: tuple[Condition, ...], facts: NodeFacts) -> list[str]:
    """Every condition that does not hold, as `expected X, found Y` sentences."""
    found = []
    for condition in conditions:
        problem = condition.failure(facts)
        if problem is not None:
            found.append(f"expected {condition.describe()}, found {problem}")
    return found
