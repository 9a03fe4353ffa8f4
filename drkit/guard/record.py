"""What one run of the guard judged and did, bounded: the recent findings in full, counts of all.

A guard runs for months; keeping every finding it ever made would grow without end. The recent
ones are kept for `--once --json` and the console, and counters by class (and by frozen node) for
the metrics, which must keep counting after the details are dropped.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

FINDINGS_KEPT = 500


@dataclass
class GuardRun:
    """The findings of one guard run: the newest `kept` in full, and counts since it started."""

    judged: int = 0
    kept: int = FINDINGS_KEPT
    recent: deque[dict[str, Any]] = field(default_factory=deque)
    findings_total: int = 0  # every finding recorded, including those no longer in `recent`
    by_class: Counter[tuple[str, str]] = field(default_factory=Counter)  # (class, action)
    freezes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (class, node) frozen
    pending: list[dict[str, Any]] = field(default_factory=list)  # freezes still failing at the end

    @property
    def findings(self) -> list[dict[str, Any]]:
        """The recent findings, oldest first (at most `kept`)."""
        return list(self.recent)

    @property
    def dropped(self) -> int:
        """Findings counted but no longer kept in full."""
        return self.findings_total - len(self.recent)

    def add(self, entry: dict[str, Any], frozen_nodes: list[str]) -> None:
        """Record one finding (as `--once --json` prints it) and the nodes its freeze stopped."""
        verdicts = entry.get("findings") or []
        for verdict in verdicts:
            self.by_class[(str(verdict.get("class")), str(verdict.get("action")))] += 1
        worst = next(
            (v for v in verdicts if v.get("action") == "freeze"), verdicts[0] if verdicts else {}
        )
        for node in frozen_nodes:
            self.freezes[(str(worst.get("class")), node)] += 1
        self.findings_total += 1
        self.recent.append(entry)
        while len(self.recent) > self.kept:
            self.recent.popleft()

    def counts_json(self) -> dict[str, Any]:
        return {
            "findings_total": self.findings_total,
            "findings_dropped": self.dropped,
            "by_class": [
                {"class": c, "action": a, "count": n} for (c, a), n in sorted(self.by_class.items())
            ],
        }
