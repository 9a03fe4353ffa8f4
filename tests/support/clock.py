"""A clock for drkit.retry.Clock users that only pretends: tests see every pause, nobody sleeps."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FakeClock:
    """Time moves only when someone sleeps (or a test says `advance`)."""

    at: float = 1000.0
    pauses: list[float] = field(default_factory=list)

    def now(self) -> float:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.at += seconds

    def advance(self, seconds: float) -> None:
        self.at += seconds
