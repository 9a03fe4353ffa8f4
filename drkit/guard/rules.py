"""What the guard does with each finding: freeze, or log it because a `[guard]` rule excuses it (pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

from drkit.classify import ClassifyRules, Finding, Severity, tables_ignored
from drkit.config import Config, GuardConfig, MaintenanceWindow

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class Verdict:
    """One finding and the guard's decision on it; `excuse` names the rule that spared it."""

    finding: Finding
    excuse: str | None = None

    @property
    def freezes(self) -> bool:
        return self.excuse is None

    def to_json(self) -> dict[str, object]:
        return {
            **self.finding.to_json(),
            "action": "freeze" if self.freezes else "log",
            "excused_by": self.excuse,
        }


def judge(findings: Sequence[Finding], rules: GuardConfig, committed_at: float) -> list[Verdict]:
    """A verdict per finding; the maintenance window is judged at the transaction's commit time."""
    threshold = Severity.parse(rules.min_severity)
    window = active_window(rules.maintenance, committed_at)
    verdicts = []
    for finding in findings:
        verdicts.append(Verdict(finding, _excuse(finding, rules, threshold, window)))
    return verdicts


def classify_rules(config: Config) -> ClassifyRules:
    """The classifier's rules as the guard applies them: its own mass threshold, the index's ignores."""
    mass_rows = config.guard.mass_rows or config.classify.mass_rows
    return ClassifyRules(mass_rows, config.classify.ignore_tables)


def active_window(windows: Sequence[MaintenanceWindow], when: float) -> MaintenanceWindow | None:
    """The first maintenance window that contains the instant `when` (unix time), if any."""
    return next((window for window in windows if in_window(window, when)), None)


def in_window(window: MaintenanceWindow, when: float) -> bool:
    """Whether `when` falls inside the window, read on the wall clock of the window's time zone."""
    local = dt.datetime.fromtimestamp(when, _zone(window.timezone))
    minute = local.hour * 60 + local.minute
    day = local.weekday()
    if window.start < window.end:
        return day in window.days and window.start <= minute < window.end
    # Across midnight: the evening part on a listed day, the morning part on the day after one.
    yesterday = (day - 1) % 7
    return (day in window.days and minute >= window.start) or (
        yesterday in window.days and minute < window.end
    )


def _excuse(
    finding: Finding,
    rules: GuardConfig,
    threshold: Severity,
    window: MaintenanceWindow | None,
) -> str | None:
    if finding.category in rules.ignore_classes:
        return f"class {finding.category} is in [guard] ignore_classes"
    if finding.severity < threshold:
        return f"severity {finding.severity.label} is below [guard] min_severity {threshold.label}"
    if rules.ignore_tables and tables_ignored(finding.tables, rules.ignore_tables):
        named = ", ".join(finding.tables)
        return f"every table it names ({named}) matches [guard] ignore_tables"
    if window is not None:
        return f"committed inside the maintenance window {window.describe()}"
    return None


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)
