"""The executor's wait for the applier, on a clock that only pretends: the stall limit, the
--timeout and the finish are decided by the facts and the clock, and nothing really sleeps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drkit.config import Config
from drkit.config.loading import parse
from drkit.io.audit import AuditLog
from drkit.model.facts import NodeFacts
from drkit.plan.conditions import Applied
from drkit.plan.executor import (
    POLL,
    CatchUpStalled,
    Executor,
    RecoveryInterrupted,
)
from drkit.plan.steps import WaitStep
from tests.support.clock import FakeClock
from tests.support.facts import node, replica_status

TARGET = "0-1-10"


def config(tmp_path: Path) -> Config:
    data = {
        "nodes": {
            "delayed": {
                "role": "delayed",
                "host": "127.0.0.1",
                "port": 3308,
                "user": "drkit",
                "password": "x",
                "delay": 3600,
            }
        }
    }
    return parse(data, tmp_path / "drkit.toml")


class ScriptedExecutor(Executor):
    """Reads the delayed replica's facts from a script; freezing records why instead of SQL."""

    def __init__(
        self, tmp_path: Path, clock: FakeClock, script: Iterator[NodeFacts], **kw: float
    ) -> None:
        super().__init__(
            config(tmp_path), audit=AuditLog(tmp_path / "audit.jsonl"), clock=clock, **kw
        )
        self.script = script
        self.frozen: list[str] = []

    def facts(self, node_name: str) -> NodeFacts:
        return next(self.script)

    def _freeze(self, node_name: str, why: str) -> None:
        self.frozen.append(why)
        raise RecoveryInterrupted(why)


def delayed(executed: str) -> NodeFacts:
    return node("delayed", executed=executed, replica=replica_status())


def applied(counts: Iterator[int]) -> Iterator[NodeFacts]:
    for n in counts:
        yield delayed(f"0-1-{n}")


STEP = WaitStep("delayed", until=(Applied(TARGET),), pending=5)


def test_the_wait_ends_when_the_target_is_applied(tmp_path: Path) -> None:
    clock = FakeClock()
    executor = ScriptedExecutor(tmp_path, clock, applied(iter([5, 6, 8, 10])))
    assert executor._wait(1, 1, STEP) == 5
    assert executor.frozen == []
    assert clock.pauses == [POLL, POLL, POLL]  # one pause between looks, none after the last


def test_no_progress_for_the_stall_time_freezes_the_replica(tmp_path: Path) -> None:
    clock = FakeClock()
    forever = applied(iter(lambda: 5, None))  # never moves past 0-1-5
    executor = ScriptedExecutor(tmp_path, clock, forever, stall=30.0, timeout=3600.0)
    with pytest.raises(CatchUpStalled, match="5 transactions left"):
        executor._wait(1, 1, STEP)
    assert len(executor.frozen) == 1
    assert executor.frozen[0].startswith("no transaction applied for 30s")
    assert "the applier is stuck" in executor.frozen[0]
    # Frozen on the first look past 30 s of the fake clock, after nothing but fake pauses.
    assert 30.0 < sum(clock.pauses) <= 30.0 + POLL + 1e-9


def test_the_timeout_freezes_even_while_the_applier_moves(tmp_path: Path) -> None:
    clock = FakeClock()
    executed = iter(range(1, 10**9))  # always one more, in another domain than the target
    moving = (node("delayed", executed=f"1-1-{n}", replica=replica_status()) for n in executed)
    executor = ScriptedExecutor(tmp_path, clock, moving, stall=30.0, timeout=12.0)
    with pytest.raises(RecoveryInterrupted, match="--timeout"):
        executor._wait(1, 1, STEP)
    assert executor.frozen == ["still 5 transactions to apply after 12s (--timeout)"]
    assert 12.0 < sum(clock.pauses) <= 12.0 + POLL + 1e-9
