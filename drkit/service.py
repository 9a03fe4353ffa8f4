"""The facade the CLI and the TUI call: one method per thing an operator can ask or do."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from drkit.config import Config
from drkit.io.facts import gather_all
from drkit.model.facts import NodeFacts, Unreachable


@dataclass(frozen=True)
class StatusReport:
    """Everything `drkit status` shows, gathered at one moment."""

    nodes: tuple[NodeFacts, ...]
    gathered_at: float
    sections: dict[str, object] = field(default_factory=dict)

    @property
    def login_refused(self) -> tuple[NodeFacts, ...]:
        return tuple(
            n for n in self.nodes if n.unreachable_kind in (Unreachable.AUTH, Unreachable.CONFIG)
        )

    def to_json(self) -> dict[str, object]:
        return {
            "gathered_at": self.gathered_at,
            "nodes": [node.to_json() for node in self.nodes],
            **self.sections,
        }


class Drkit:
    """drkit's operations on one configured topology."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def status(self, timeout: float = 5.0) -> StatusReport:
        """Facts of every node (never raises for a dead one)."""
        nodes = gather_all(self.config.nodes.values(), timeout=timeout)
        return StatusReport(nodes=nodes, gathered_at=time.time())
