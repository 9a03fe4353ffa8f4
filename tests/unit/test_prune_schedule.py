"""The scheduled prune of `index --follow` and `guard`: each turn's outcome is counted, a refused
or failing prune never ends the schedule, and the thread stops when asked."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from drkit.errors import DrkitError, RefusedError
from drkit.retention.plan import ArchivedFile, PrunePlan
from drkit.retention.run import PruneReport
from drkit.retention.schedule import DONE, FAILED, SKIPPED, STOPPED, PruneSchedule


def _report(rows: int, files: tuple[str, ...], freed: int) -> PruneReport:
    plan = PrunePlan(
        keep=60.0,
        cutoff=0.0,
        floor_id=rows + 1,
        rows=rows,
        files=tuple(ArchivedFile(n, i + 1, freed // len(files)) for i, n in enumerate(files)),
        kept=("#7 onwards: delayed node delayed has applied up to #7",),
    )
    return PruneReport(plan, rows, files, freed)


def test_turns_are_counted_and_totals_add_up() -> None:
    outcomes: list[object] = [
        _report(10, ("bin.000001",), 1000),
        RefusedError("a plan is running (pid 42, drkit recover)"),
        DrkitError("the index is damaged"),
        ValueError("surprise"),
        _report(5, ("bin.000002", "bin.000003"), 3000),
    ]

    def prune(_between: Callable[[int], None]) -> PruneReport:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        assert isinstance(outcome, PruneReport)
        return outcome

    said: list[str] = []
    schedule = PruneSchedule(prune, 3600.0, report=said.append)
    assert [schedule.run_once() for _ in range(5)] == [DONE, SKIPPED, FAILED, FAILED, DONE]
    stats = schedule.stats()
    assert stats.runs == {DONE: 2, SKIPPED: 1, FAILED: 2}
    assert (stats.rows_total, stats.files_total, stats.bytes_total) == (15, 3, 4000)
    assert (stats.last_rows, stats.last_files, stats.last_bytes) == (5, 2, 3000)
    assert stats.last_done_at is not None and stats.last_problem is None
    assert said[0].startswith("scheduled prune: removed 10 index rows and 1 archived files")
    assert "kept: #7 onwards" in said[0]
    assert said[1].startswith("scheduled prune skipped: a plan is running (pid 42")


def test_the_thread_prunes_on_its_own_and_stops_when_asked() -> None:
    turns = threading.Semaphore(0)

    def prune(_between: Callable[[int], None]) -> PruneReport:
        turns.release()
        return _report(1, ("bin.000001",), 10)

    schedule = PruneSchedule(prune, 0.01, first_after=0.0)
    schedule.start()
    try:
        for _ in range(3):  # it keeps going, turn after turn
            assert turns.acquire(timeout=10)
    finally:
        schedule.stop()
    assert schedule.stats().runs[DONE] >= 3
    assert schedule._thread is not None and not schedule._thread.is_alive()


@pytest.mark.parametrize("interval", [0.0, -1.0])
def test_an_interval_of_zero_starts_no_thread(interval: float) -> None:
    schedule = PruneSchedule(lambda _between: _report(1, ("x.000001",), 1), interval)
    schedule.start()
    assert not schedule.enabled and schedule._thread is None
    schedule.stop()


def test_stopping_ends_a_prune_between_two_chunks() -> None:
    chunks: list[int] = []
    schedule: PruneSchedule

    def prune(between: Callable[[int], None]) -> PruneReport:
        for removed in (2000, 4000, 6000):
            chunks.append(removed)
            if removed == 4000:
                schedule._stop.set()  # the process is asked to stop during the second chunk
            between(removed)
        raise AssertionError("the prune went on after the stop")

    seen: list[int] = []
    said: list[str] = []
    schedule = PruneSchedule(prune, 3600.0, report=said.append, between=seen.append)
    assert schedule.run_once() == STOPPED
    assert chunks == [2000, 4000] and seen == [2000, 4000]
    assert said == [
        "scheduled prune stopped after removing 4000 index rows: the next one goes on from there"
    ]
    assert schedule.stats().runs == {STOPPED: 1}


def test_describe() -> None:
    assert PruneSchedule(lambda _b: _report(1, ("x.000001",), 1), 3600).describe() == (
        "pruning every 1h00m00s ([retention])"
    )
    assert "interval off" in PruneSchedule(lambda _b: _report(1, ("x.000001",), 1), 0).describe()
