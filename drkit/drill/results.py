"""What a drill run records: each step's result, the measurements, and the report they make."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drkit.errors import DrkitError


class StepFailed(DrkitError):
    """A drill step did not do what the playbook expects."""


@dataclass
class StepResult:
    number: int
    kind: str
    title: str
    line: int
    ok: bool = False
    seconds: float = 0.0
    detail: str = ""
    error: str | None = None
    skipped: bool = False
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "kind": self.kind,
            "title": self.title,
            "line": self.line,
            "ok": self.ok,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 3),
            "detail": self.detail,
            "error": self.error,
            "data": self.data,
        }


@dataclass
class Metrics:
    time_to_detect: float | None = None
    time_to_freeze: float | None = None
    rto: float | None = None
    rpo: int | None = None
    verifications: int = 0
    verifications_failed: int = 0
    # Historic inspection: each answer (`inspect` or `asof`), when it was for, how long it took.
    answers: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "answers": list(self.answers),
            "time_to_detect": _round(self.time_to_detect),
            "time_to_freeze": _round(self.time_to_freeze),
            "rto": _round(self.rto),
            "rpo": self.rpo,
            "verifications": self.verifications,
            "verifications_failed": self.verifications_failed,
        }


@dataclass
class DrillReport:
    playbook: str
    path: str
    description: str
    topology: str
    parameters: dict[str, Any]
    started_at: float
    seconds: float = 0.0
    steps: list[StepResult] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)
    error: str | None = None

    @property
    def passed(self) -> bool:
        return (
            self.error is None
            and all(step.ok or step.skipped for step in self.steps)
            and (self.metrics.rpo in (None, 0))
            and self.metrics.verifications_failed == 0
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "playbook": self.playbook,
            "path": self.path,
            "description": self.description,
            "topology": self.topology,
            "parameters": self.parameters,
            "started_at": self.started_at,
            "seconds": round(self.seconds, 3),
            "passed": self.passed,
            "error": self.error,
            "metrics": self.metrics.to_json(),
            "steps": [step.to_json() for step in self.steps],
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
