"""The facade the CLI and the TUI call: one method per thing an operator can ask or do."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from drkit.config import Config
from drkit.io.drbd_probe import DrbdProbe, probe_all
from drkit.io.facts import gather_all
from drkit.model.facts import NodeFacts, Unreachable
from drkit.model.loadbalancer import LoadBalancerView


@dataclass(frozen=True)
class StatusReport:
    """Everything `drkit status` shows, gathered at one moment."""

    nodes: tuple[NodeFacts, ...]
    gathered_at: float
    drbd: tuple[DrbdProbe, ...] = ()
    loadbalancer: LoadBalancerView | None = None

    @property
    def login_refused(self) -> tuple[NodeFacts, ...]:
        refused = (Unreachable.AUTH, Unreachable.CONFIG)
        return tuple(n for n in self.nodes if n.unreachable_kind in refused)

    def node(self, name: str) -> NodeFacts | None:
        return next((n for n in self.nodes if n.name == name), None)

    def to_json(self) -> dict[str, object]:
        return {
            "gathered_at": self.gathered_at,
            "nodes": [node.to_json() for node in self.nodes],
            "drbd": [probe.to_json() for probe in self.drbd],
            "loadbalancer": self.loadbalancer.to_json() if self.loadbalancer else None,
        }


class Drkit:
    """drkit's operations on one configured topology."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def status(self, timeout: float = 5.0) -> StatusReport:
        """Facts of every node, DRBD and the load balancer, gathered side by side (never raises)."""
        from drkit.io import haproxy

        lb_config = self.config.loadbalancer
        with ThreadPoolExecutor(max_workers=3) as pool:
            nodes = pool.submit(gather_all, self.config.nodes.values(), timeout)
            drbd = pool.submit(probe_all, self.config.drbd)
            view = pool.submit(haproxy.view, lb_config) if lb_config else None
            return StatusReport(
                nodes=nodes.result(),
                gathered_at=time.time(),
                drbd=drbd.result(),
                loadbalancer=view.result() if view else None,
            )
