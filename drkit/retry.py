"""Waiting and trying again, written once: a deadline, the pauses between attempts, and a clock
that tests replace.

Every loop in drkit that waits for something (a server to answer, a process to go, HAProxy to
close its sessions) or tries something again (an alert, a lock) is a `Retry`: iterate it, or let
it call a function. Patroni's `Retry` and `polling_loop` are the model. Nothing here sleeps past
the deadline, and the last attempt falls on it: a wait never gives up without a look at its end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class Clock(Protocol):
    """Where a wait reads the time and how it pauses; tests pass one that only pretends."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock: monotonic time (immune to the wall clock being set), real sleeping."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM_CLOCK: Clock = SystemClock()


@dataclass(frozen=True)
class Backoff:
    """The pauses between attempts: the n-th pause is `steps[n]`, the last step repeating."""

    steps: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.steps or any(step < 0 for step in self.steps):
            raise ValueError(f"a backoff needs pauses of zero or more seconds, not {self.steps}")

    @classmethod
    def constant(cls, seconds: float) -> Backoff:
        return cls((seconds,))

    @classmethod
    def exponential(cls, first: float, factor: float, longest: float) -> Backoff:
        """`first`, then each pause `factor` times the one before, up to `longest`."""
        if first <= 0 or factor <= 1:
            raise ValueError("an exponential backoff needs first > 0 and factor > 1")
        steps = [first]
        while steps[-1] * factor < longest:
            steps.append(steps[-1] * factor)
        return cls((*steps, longest))

    def pause(self, retry: int) -> float:
        """The pause before retry number `retry` (0 for the first retry)."""
        return self.steps[min(retry, len(self.steps) - 1)]

    def total(self, retries: int) -> float:
        """Every pause `retries` retries add up to."""
        return sum(self.pause(n) for n in range(retries))


@dataclass(frozen=True)
class Retry:
    """How often and how long to try: at most `attempts` attempts, until `timeout` seconds have
    passed, or both (neither: for ever); `pause` (seconds, or a `Backoff`) between attempts."""

    pause: Backoff | float
    timeout: float | None = None
    attempts: int | None = None
    retry_on: tuple[type[Exception], ...] = ()
    clock: Clock = SYSTEM_CLOCK

    def __post_init__(self) -> None:
        if self.attempts is not None and self.attempts < 1:
            raise ValueError(f"a retry needs one attempt at least, not {self.attempts}")
        if self.timeout is not None and self.timeout < 0:
            raise ValueError(f"a retry's timeout cannot be negative ({self.timeout})")

    @property
    def backoff(self) -> Backoff:
        return self.pause if isinstance(self.pause, Backoff) else Backoff.constant(self.pause)

    def __iter__(self) -> Iterator[int]:
        """Attempt numbers from 1: the first at once, each next one after its pause.

        The loop ends, running its `else`, when the attempts are spent or the deadline has
        passed; `break` out of it when what it waits for has happened.
        """
        backoff = self.backoff
        deadline = None if self.timeout is None else self.clock.now() + self.timeout
        attempt = 1
        while True:
            yield attempt
            if self.attempts is not None and attempt >= self.attempts:
                return
            pause = backoff.pause(attempt - 1)
            if deadline is not None:
                left = deadline - self.clock.now()
                if left <= 0:
                    return
                pause = min(pause, left)
            self.clock.sleep(pause)
            attempt += 1

    def call(self, func: Callable[[], T]) -> T:
        """What `func` returns; an exception in `retry_on` is tried again, and re-raised when no
        attempt is left. Any other exception goes straight through."""
        failure: Exception | None = None
        for attempt in self:
            try:
                return func()
            except self.retry_on as exc:
                log.debug("attempt %d failed: %s", attempt, exc)
                failure = exc
        assert failure is not None  # the loop runs at least once
        raise failure

    def until(self, check: Callable[[], bool]) -> bool:
        """Poll: True as soon as `check()` is, False when the attempts or the time ran out."""
        return any(check() for _ in self)
