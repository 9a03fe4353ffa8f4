"""What the dashboard remembers between status rounds: per node, transactions applied and lag,
drawn as sparklines (display only: the facts are the status rounds')."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drkit.model.facts import NodeFacts

BLOCKS = "▁▂▃▄▅▆▇█"
KEEP = 40  # status rounds remembered (two minutes at the default three seconds)


def sparkline(values: Sequence[float | None], width: int = 20) -> str:
    """The last `width` values as block characters, scaled to their own maximum; `·` unknown."""
    shown = list(values)[-width:]
    known = [v for v in shown if v is not None]
    top = max(known, default=0.0)
    out = []
    for value in shown:
        if value is None:
            out.append("·")
        elif top <= 0:
            out.append(BLOCKS[0])
        else:
            out.append(BLOCKS[min(len(BLOCKS) - 1, int(value / top * (len(BLOCKS) - 1)))])
    return "".join(out)


def transactions(node: NodeFacts) -> int | None:
    """How many transactions the node has executed, counted from its GTID set."""
    if not node.reachable:
        return None
    from drkit.model.gtid import MariadbGtidPos

    executed = node.executed
    if isinstance(executed, MariadbGtidPos):
        return sum(gtid.seq for gtid in executed.by_domain)
    return sum(high - low + 1 for _, spans in executed.intervals for low, high in spans)


@dataclass
class NodeHistory:
    """One node's rounds: when, transactions executed, replication lag in seconds."""

    rounds: deque[tuple[float, int | None, float | None]] = field(
        default_factory=lambda: deque(maxlen=KEEP)
    )

    def add(self, node: NodeFacts) -> None:
        if self.rounds and self.rounds[-1][0] == node.gathered_at:
            return
        lag = node.replica.seconds_behind if node.replica is not None else None
        self.rounds.append((node.gathered_at, transactions(node), lag))

    def tps(self) -> list[float | None]:
        """Transactions per second between consecutive rounds."""
        rates: list[float | None] = []
        for (t0, n0, _), (t1, n1, _) in zip(self.rounds, list(self.rounds)[1:], strict=False):
            rates.append(
                None if n0 is None or n1 is None or t1 <= t0 else max(0, n1 - n0) / (t1 - t0)
            )
        return rates

    def lags(self) -> list[float | None]:
        return [lag for _, _, lag in self.rounds]

    def line(self) -> str:
        """`tps ▁▂▅ 12/s  lag ▁▁▂ 3s` (empty until two rounds are in)."""
        tps = self.tps()
        if not tps:
            return ""
        last = tps[-1]
        text = f"tps {sparkline(tps)} {'-' if last is None else f'{last:.0f}/s'}"
        lags = self.lags()
        if any(lag is not None for lag in lags):
            from tui.format import span

            text += f"   lag {sparkline(lags)} {span(lags[-1])}"
        return text
