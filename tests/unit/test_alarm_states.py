"""The alarm follows what the delayed replica holds and what the recovery record says (issue 18)."""

from __future__ import annotations

import pytest

from drkit.checks.alarm import MISSED_HORIZON, AlarmState, judge_alarm
from drkit.index.records import Destructive, IndexedTransaction, TableRows
from drkit.pitr.state import RecordedTargets, RecoveryState, RecoveryStatus

NOW = 1_795_000_000.0


def tx(tx_id: int, at: float = NOW - 600) -> IndexedTransaction:
    return IndexedTransaction(
        tx_id,
        f"0-1-{tx_id}",
        "mysql-bin.000001",
        4,
        300,
        int(at),
        1,
        "ddl",
        (TableRows("shop.orders"),),
        "DROP TABLE shop.orders",
        Destructive("drop_table", "critical", "DROP TABLE shop.orders"),
    )


def record(
    status: RecoveryStatus, resumed_through: tuple[int, ...] | None = None, **targets: object
) -> RecoveryState:
    return RecoveryState(
        node="delayed",
        description="recover",
        command="drkit recover",
        strategy="upstream",
        status=status.value,
        step=4,
        steps=4,
        started_at=NOW - 300,
        updated_at=NOW - 200,
        pid=1,
        targets=RecordedTargets(**targets),  # type: ignore[arg-type]
        resumed_through=resumed_through,
    )


@pytest.mark.parametrize(
    ("pending", "applied", "running", "recovery", "expected"),
    [
        (tx(7), None, True, None, AlarmState.RUNNING),
        (tx(7), None, False, None, AlarmState.FROZEN),
        (tx(7), None, False, record(RecoveryStatus.DONE, stop_id=7), AlarmState.RECOVERED),
        # A recovery that stopped elsewhere does not handle this one.
        (tx(7), None, False, record(RecoveryStatus.DONE, stop_id=5), AlarmState.FROZEN),
        # Resumed after stopping before it: the engine refused unless it was named.
        (tx(7), None, True, record(RecoveryStatus.RESUMED, stop_id=7), AlarmState.NAMED),
        # A newer disaster after the resume is a new alarm.
        (tx(9), None, True, record(RecoveryStatus.RESUMED, stop_id=7), AlarmState.RUNNING),
        (None, tx(7), True, None, AlarmState.MISSED),
        (None, tx(7), True, record(RecoveryStatus.RESUMED, stop_id=7), None),
        # The resume recorded what it named: exact, whatever the recovery stopped before.
        (tx(7), None, True, record(RecoveryStatus.RESUMED, (7,), stop_id=7), AlarmState.NAMED),
        (tx(9), None, True, record(RecoveryStatus.RESUMED, (9,), stop_id=7), AlarmState.NAMED),
        (tx(7), None, True, record(RecoveryStatus.RESUMED, (), stop_id=7), AlarmState.RUNNING),
        (tx(7), None, True, record(RecoveryStatus.RESUMED, (5,)), AlarmState.RUNNING),
        (None, tx(9), True, record(RecoveryStatus.RESUMED, (9,), stop_id=7), None),
        (None, tx(7), True, record(RecoveryStatus.RESUMED, (), stop_id=7), AlarmState.MISSED),
        (None, tx(7), True, record(RecoveryStatus.DONE, through_ids=(7,)), None),
        (None, tx(7, NOW - MISSED_HORIZON - 1), True, None, None),
        (None, None, True, None, None),
    ],
)
def test_judge_alarm(
    pending: IndexedTransaction | None,
    applied: IndexedTransaction | None,
    running: bool,
    recovery: RecoveryState | None,
    expected: AlarmState | None,
) -> None:
    alarm = judge_alarm(
        "delayed",
        3600,
        pending=pending,
        applied=applied,
        applier_running=running,
        recovery=recovery,
        now=NOW,
    )
    assert (alarm.kind if alarm else None) == expected
    if alarm is not None:
        assert alarm.sentence().split(":")[0] in {
            "ALARM",
            "FROZEN",
            "RECOVERED",
            "NAMED",
            "DELAY RAN OUT",
        }


def test_missed_is_urgent_and_says_the_way_back() -> None:
    alarm = judge_alarm(
        "delayed", 3600, pending=None, applied=tx(7), applier_running=True, recovery=None, now=NOW
    )
    assert alarm is not None and alarm.urgent
    assert "no longer holds" in alarm.sentence() and "flashback" in alarm.sentence()
