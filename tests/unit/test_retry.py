"""drkit.retry on a clock that only pretends: every pause is recorded, nothing really sleeps."""

from __future__ import annotations

import pytest

from drkit.retry import Backoff, Retry
from tests.support.clock import FakeClock


def test_backoff_table_repeats_its_last_step() -> None:
    backoff = Backoff((0.2, 0.5, 1.0))
    assert [backoff.pause(n) for n in range(5)] == [0.2, 0.5, 1.0, 1.0, 1.0]
    assert backoff.total(4) == pytest.approx(0.2 + 0.5 + 1.0 + 1.0)
    assert backoff.total(0) == 0


def test_exponential_backoff_is_capped() -> None:
    assert Backoff.exponential(0.5, 2, 5).steps == (0.5, 1.0, 2.0, 4.0, 5)
    assert Backoff.exponential(1, 3, 3).steps == (1, 3)


@pytest.mark.parametrize("steps", [(), (1.0, -0.1)])
def test_backoff_refuses_empty_or_negative_pauses(steps: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="pauses"):
        Backoff(steps)


def test_attempts_are_counted_and_paused_by_the_backoff() -> None:
    clock = FakeClock()
    seen = list(Retry(Backoff((0.5, 1.0, 2.0)), attempts=5, clock=clock))
    assert seen == [1, 2, 3, 4, 5]
    assert clock.pauses == [0.5, 1.0, 2.0, 2.0]  # no pause after the last attempt


def test_a_deadline_is_never_slept_past_and_its_end_gets_a_look() -> None:
    clock = FakeClock()
    looks: list[float] = []
    for _ in Retry(0.3, timeout=1.0, clock=clock):
        looks.append(clock.now() - 1000.0)
    assert looks == pytest.approx([0.0, 0.3, 0.6, 0.9, 1.0])
    assert sum(clock.pauses) == pytest.approx(1.0)


def test_zero_timeout_is_one_attempt_without_pause() -> None:
    clock = FakeClock()
    assert list(Retry(0.1, timeout=0, clock=clock)) == [1]
    assert clock.pauses == []


def test_time_spent_in_the_attempt_counts_against_the_deadline() -> None:
    clock = FakeClock()
    attempts = []
    for attempt in Retry(1.0, timeout=5.0, clock=clock):
        attempts.append(attempt)
        clock.advance(2.0)  # each look itself takes two seconds
    # 0-2 s the first look, a 1 s pause, 3-5 s the second: the deadline passed during it, so
    # no third look and no pointless pause after it.
    assert attempts == [1, 2]
    assert clock.pauses == [1.0]


def test_break_leaves_the_loop_without_its_else() -> None:
    clock = FakeClock()
    for attempt in Retry(0.1, timeout=10, clock=clock):
        if attempt == 3:
            break
    else:
        pytest.fail("the loop ran out although it was left by break")
    assert clock.pauses == [0.1, 0.1]


def test_until_polls_until_the_check_holds() -> None:
    clock = FakeClock()
    answers = iter([False, False, True])
    assert Retry(0.05, timeout=1, clock=clock).until(lambda: next(answers))
    assert clock.pauses == [0.05, 0.05]


def test_until_says_false_when_time_runs_out() -> None:
    clock = FakeClock()
    calls = []
    assert not Retry(0.25, timeout=1, clock=clock).until(lambda: bool(calls.append(1)))
    assert len(calls) == 5  # at 0, 0.25, 0.5, 0.75 and at the deadline itself


class Flaky(Exception):
    pass


def test_call_retries_the_named_exceptions_and_returns_the_result() -> None:
    clock = FakeClock()
    failures = [Flaky("one"), Flaky("two")]

    def attempt() -> str:
        if failures:
            raise failures.pop(0)
        return "done"

    retry = Retry(Backoff((0.5, 1.0)), attempts=3, retry_on=(Flaky,), clock=clock)
    assert retry.call(attempt) == "done"
    assert clock.pauses == [0.5, 1.0]


def test_call_reraises_the_last_failure_when_attempts_are_spent() -> None:
    clock = FakeClock()
    count = []

    def attempt() -> None:
        count.append(1)
        raise Flaky(f"failure {len(count)}")

    with pytest.raises(Flaky, match="failure 3"):
        Retry(1.0, attempts=3, retry_on=(Flaky,), clock=clock).call(attempt)
    assert clock.pauses == [1.0, 1.0]


def test_call_lets_other_exceptions_through_at_once() -> None:
    clock = FakeClock()

    def attempt() -> None:
        raise KeyError("not retried")

    with pytest.raises(KeyError):
        Retry(1.0, attempts=5, retry_on=(Flaky,), clock=clock).call(attempt)
    assert clock.pauses == []


def test_call_gives_up_at_the_deadline() -> None:
    clock = FakeClock()
    count = []

    def attempt() -> None:
        count.append(clock.now())
        raise Flaky("busy")

    with pytest.raises(Flaky):
        Retry(0.4, timeout=1.0, retry_on=(Flaky,), clock=clock).call(attempt)
    assert [t - 1000.0 for t in count] == pytest.approx([0.0, 0.4, 0.8, 1.0])


@pytest.mark.parametrize(("attempts", "timeout"), [(0, None), (None, -1.0)])
def test_retry_refuses_nonsense_limits(attempts: int | None, timeout: float | None) -> None:
    with pytest.raises(ValueError):
        Retry(1.0, timeout=timeout, attempts=attempts)
