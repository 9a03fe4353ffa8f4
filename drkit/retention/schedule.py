"""Pruning on a schedule inside `drkit index --follow` and `drkit guard`.

The prune itself is the one `drkit prune` runs (the caller passes it in, through the facade), on
a thread of its own: the guard's freeze path never waits for it. A prune refused because a plan
holds the engine lock is skipped until the next turn; one that fails is logged and counted, and
the schedule goes on. What each turn did is kept for the metrics.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from drkit.errors import DrkitError, RefusedError
from drkit.render import duration
from drkit.retention.run import PruneReport

log = logging.getLogger(__name__)

FIRST_AFTER = 60.0  # seconds after start of the first turn, at most: a restart loop still prunes

DONE = "done"
SKIPPED = "skipped"
FAILED = "failed"
STOPPED = "stopped"  # the process stopped in the middle: the rows removed so far stay removed
OUTCOMES = (DONE, SKIPPED, FAILED, STOPPED)

Report = Callable[[str], None]
Between = Callable[[int], None]


class PruneStopped(Exception):
    """Raised between two chunks of a prune when its process is stopping."""

    def __init__(self, removed: int) -> None:
        super().__init__(f"stopped after removing {removed} index rows")
        self.removed = removed


@dataclass(frozen=True)
class PruneStats:
    """What the scheduled prunes of this process did, for the metrics."""

    interval: float
    runs: dict[str, int] = field(default_factory=dict)  # by outcome (OUTCOMES)
    last_run_at: float | None = None  # the last turn, whatever its outcome
    last_done_at: float | None = None  # the last prune that completed
    last_rows: int = 0  # removed by the last completed prune
    last_files: int = 0
    last_bytes: int = 0
    rows_total: int = 0
    files_total: int = 0
    bytes_total: int = 0
    last_problem: str | None = None


class PruneSchedule:
    """Runs `prune` every `interval` seconds on a daemon thread until stopped.

    `prune(between)` must call `between(rows removed so far)` after each chunk of index rows (as
    `Operations.prune` does): that is where a stop is noticed, so stopping never waits for a whole
    prune. `between`, if given, is called there too (tests pause a prune with it).
    """

    def __init__(
        self,
        prune: Callable[[Between], PruneReport],
        interval: float,
        *,
        report: Report = log.info,
        first_after: float | None = None,
        between: Between | None = None,
    ) -> None:
        self._prune = prune
        self._between = between
        self.interval = interval
        self.first_after = min(interval, FIRST_AFTER) if first_after is None else first_after
        self.report = report
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._runs: Counter[str] = Counter()
        self._stats = PruneStats(interval)

    @property
    def enabled(self) -> bool:
        return self.interval > 0

    def start(self) -> None:
        if not self.enabled or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="scheduled-prune", daemon=True)
        self._thread.start()

    def describe(self) -> str:
        """How the schedule runs, in words, for a start line."""
        if not self.enabled:
            return "no scheduled prune ([retention] interval off)"
        return f"pruning every {duration(self.interval)} ([retention])"

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to stop and wait for a prune under way to finish its chunk and end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def stats(self) -> PruneStats:
        with self._lock:
            return self._stats

    def run_once(self) -> str:
        """One turn: prune, and say what it did; the outcome (done, skipped, failed)."""
        started = time.time()
        try:
            done = self._prune(self._chunk_done)
        except PruneStopped as exc:
            self.report(f"scheduled prune {exc}: the next one goes on from there")
            return self._count(STOPPED, started, problem=str(exc))
        except RefusedError as exc:  # a plan holds the engine lock: it may need any transaction
            self.report(f"scheduled prune skipped: {exc.message}; next in {self.interval:g}s")
            return self._count(SKIPPED, started, problem=exc.message)
        except DrkitError as exc:
            log.warning("scheduled prune failed: %s", exc.message)
            return self._count(FAILED, started, problem=exc.message)
        except Exception as exc:  # the schedule must outlive one bad turn
            log.warning("scheduled prune failed: %s: %s", type(exc).__name__, exc)
            return self._count(FAILED, started, problem=f"{type(exc).__name__}: {exc}")
        kept = "; ".join(done.plan.kept)
        self.report(
            f"scheduled prune: removed {done.rows_removed} index rows and "
            f"{len(done.files_removed)} archived files ({done.bytes_freed} bytes)"
            + (f"; kept: {kept}" if kept else "")
        )
        return self._count(DONE, started, done=done)

    def _chunk_done(self, removed: int) -> None:
        if self._between is not None:
            self._between(removed)
        if self._stop.is_set():
            raise PruneStopped(removed)

    def _loop(self) -> None:
        wait = self.first_after
        while not self._stop.wait(wait):
            self.run_once()
            wait = self.interval

    def _count(
        self,
        outcome: str,
        started: float,
        *,
        done: PruneReport | None = None,
        problem: str | None = None,
    ) -> str:
        with self._lock:
            self._runs[outcome] += 1
            stats = self._stats
            changes: dict[str, Any] = {
                "runs": dict(self._runs),
                "last_run_at": started,
                "last_problem": problem,
            }
            if done is not None:
                files, freed = len(done.files_removed), done.bytes_freed
                changes.update(
                    last_done_at=time.time(),
                    last_rows=done.rows_removed,
                    last_files=files,
                    last_bytes=freed,
                    rows_total=stats.rows_total + done.rows_removed,
                    files_total=stats.files_total + files,
                    bytes_total=stats.bytes_total + freed,
                )
            self._stats = replace(stats, **changes)
        return outcome
