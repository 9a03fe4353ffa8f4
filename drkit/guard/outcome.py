"""What a freeze did on one delayed node, and whether a node has applied a transaction (pure)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from drkit.index.records import IndexedTransaction
from drkit.model.facts import NodeFacts
from drkit.model.gtid import parse_gtid

FROZEN = "frozen"
ALREADY_FROZEN = "already_frozen"
WINDOW_MISSED = "window_missed"
FAILED = "failed"


@dataclass(frozen=True)
class NodeOutcome:
    """What a freeze did on one delayed node, with the node's executed position afterwards."""

    node: str
    action: str  # frozen | already_frozen | window_missed | failed
    detail: str
    executed: str | None = None
    seconds_left: float | None = None  # until the delay would have applied the transaction
    at: float | None = None

    @property
    def safe(self) -> bool:
        """The node holds the data from before the transaction and will not apply it."""
        return self.action in (FROZEN, ALREADY_FROZEN)

    def to_json(self) -> dict[str, object]:
        return {
            "node": self.node,
            "action": self.action,
            "detail": self.detail,
            "executed_gtid": self.executed,
            "seconds_left": round(self.seconds_left, 1) if self.seconds_left is not None else None,
        }


def applied(facts: NodeFacts, transaction: IndexedTransaction) -> bool:
    """Whether the node has applied the transaction: by GTID, else by the primary's coordinates."""
    if transaction.gtid:
        try:
            return facts.executed.contains(parse_gtid(transaction.gtid))
        except ValueError:
            pass
    executed = facts.replica.executed_source if facts.replica else None
    return executed is not None and executed >= transaction.end


def is_history(committed_at: int, watching_since: float, outcomes: Sequence[NodeOutcome]) -> bool:
    """A finding from before the guard ever watched, already applied everywhere: no page for it.

    Binlog times are whole seconds, so one committed in the second the guard started is not history.
    """
    return committed_at < math.floor(watching_since) and all(
        o.action == WINDOW_MISSED for o in outcomes
    )
