"""Replication checks, GTID arithmetic and the recovery record: pure, table-driven."""

from __future__ import annotations

import pytest

from drkit.checks.gtids import Stream, errant_mariadb, size, subtract
from drkit.checks.record import recovery_record
from drkit.checks.replication import (
    applied,
    destructive_applied,
    errant_transactions,
    judge_replication,
    node_checks,
)
from drkit.config import Role
from drkit.model.facts import Unreachable
from drkit.model.gtid import MariadbGtidPos, MysqlGtidSet
from drkit.pitr.plan import RecoveryMode
from drkit.pitr.state import RecoveryState
from tests.support.facts import (
    MYSQL,
    UUID,
    down,
    frozen,
    node,
    replica_status,
    transaction,
)

# -- GTID arithmetic ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("replica", "primary", "own_id", "expected"),
    [
        ("0-1-10", "0-1-10", 2, []),
        ("0-1-8", "0-1-10", 2, []),  # behind is not errant
        ("0-1-11", "0-1-10", 2, ["0-1-11, beyond the primary's 0-1-10 in domain 0"]),
        ("0-1-9,7-2-3", "0-1-10", 2, ["domain 7 (7-2-3), which the primary never had"]),
        ("0-2-6", "0-1-10", 2, ["0-2-6, written on the replica itself (server id 2)"]),
        # The last writer of the domain was a former primary (server 5): behind, not errant.
        ("0-5-6", "0-1-10", 2, []),
        ("0-2-6", "0-2-10", 2, []),  # the replica was the primary once: same history
    ],
)
def test_errant_mariadb(replica: str, primary: str, own_id: int, expected: list[str]) -> None:
    found = errant_mariadb(MariadbGtidPos.parse(replica), MariadbGtidPos.parse(primary), own_id)
    assert found == expected


@pytest.mark.parametrize(
    ("left", "right", "expected", "count"),
    [
        (f"{UUID}:1-10", f"{UUID}:1-10", "", 0),
        (f"{UUID}:1-10", f"{UUID}:1-4:6-10", f"{UUID}:5", 1),
        (f"{UUID}:1-12", f"{UUID}:3-10", f"{UUID}:1-2:11-12", 4),
        (f"{UUID}:1-3,{UUID[:-1]}0:1-2", f"{UUID}:1-3", f"{UUID[:-1]}0:1-2", 2),
        ("", f"{UUID}:1-3", "", 0),
    ],
)
def test_mysql_set_subtraction(left: str, right: str, expected: str, count: int) -> None:
    result = subtract(MysqlGtidSet.parse(left), MysqlGtidSet.parse(right))
    assert str(result) == expected
    assert size(result) == count


def test_stream_counts_along_the_primary_numbering() -> None:
    maria = Stream.of("0-1-28")
    assert maria.number("0-1-30") == 30 and maria.number("0-3-30") == 30
    assert maria.number("1-1-30") is None  # another domain
    assert maria.last("0-1-12,1-4-99") == 12 and maria.last("") == 0
    assert maria.span(7, 9) == "0-1-7 .. 0-1-9" and maria.span(7, 7) == "0-1-7"
    mysql = Stream.of(f"{UUID}:5")
    assert mysql.last(f"{UUID}:1-7:9-12") == 12
    assert mysql.number(f"{UUID[:-1]}0:3") is None
    assert mysql.name(3) == f"{UUID}:3"


# -- the recovery record --------------------------------------------------------------------------


def state(**changes: object) -> RecoveryState:
    values: dict[str, object] = {
        "node": "delayed",
        "description": "stop just before #6 (0-1-6)",
        "command": "drkit recover",
        "strategy": "upstream",
        "status": "done",
        "step": 8,
        "steps": 8,
        "started_at": 2000.0,
        "updated_at": 2001.0,
        "pid": 1,
        "message": "verified",
    }
    values.update(changes)
    return RecoveryState(**values)  # type: ignore[arg-type]


def done_event(
    epoch: float, *, skipped: list[str], verified: bool = True, **result: object
) -> dict:
    return {
        "kind": "recovery-done",
        "node": "delayed",
        "epoch": epoch,
        "verified": verified,
        "result": {
            "executed_gtid": "0-1-5",
            "skipped": skipped,
            "mode": "before",
            "stop_gtid": "0-1-6",
            "verification": [
                {"name": "target not applied", "ok": True},
                {"name": "table shop.orders", "ok": verified},
            ],
            **result,
        },
    }


def test_record_reads_the_matching_run_and_every_skip_ever() -> None:
    audit = [  # newest first, as read_audit returns them
        done_event(2001.2, skipped=[], mode="before"),
        {"kind": "sql", "node": "delayed", "epoch": 2000.5},
        done_event(1500.0, skipped=["0-1-3"], mode="skip"),
    ]
    record = recovery_record(state(), audit, "delayed")
    assert record is not None
    assert (record.verified, record.mode, record.stop_gtid) == (True, "before", "0-1-6")
    assert record.executed_gtid == "0-1-5"
    assert record.skipped == () and record.skipped_ever == ("0-1-3",)
    assert record.failed_checks == ()


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("before", RecoveryMode.BEFORE),
        ("skip", RecoveryMode.SKIP),
        ("until-time", RecoveryMode.UNTIL_TIME),
        ("sideways", None),  # a mode this drkit does not know: no record of what was meant
        (None, None),  # written before modes were recorded
    ],
)
def test_record_reads_the_modes_audit_logs_hold(written: str | None, read: object) -> None:
    record = recovery_record(state(), [done_event(2001.2, skipped=[], mode=written)], "delayed")
    assert record is not None and record.mode is read
    assert record.to_json()["mode"] == (read.value if isinstance(read, RecoveryMode) else None)


def test_record_without_its_own_verification_is_unverified() -> None:
    # The only recovery-done event is older than the run the state file describes.
    record = recovery_record(state(started_at=3000.0), [done_event(2001.0, skipped=[])], "delayed")
    assert record is not None and record.verified is None and record.mode is None
    failed = recovery_record(state(), [done_event(2001.0, skipped=[], verified=False)], "delayed")
    assert failed is not None and failed.verified is False
    assert failed.failed_checks == ("table shop.orders",)


def test_no_record_for_another_node_or_no_state() -> None:
    assert recovery_record(None, [done_event(2001.0, skipped=[])], "delayed") is None
    assert recovery_record(state(node="other"), [], "delayed") is None


# -- per node ---------------------------------------------------------------------------------


def by_name(results: list) -> dict[str, tuple[bool, bool]]:
    return {r.name: (r.ok, r.critical) for r in results}


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (node("primary", executed="0-1-9"), {"primary read_only": (True, False)}),
        (
            node("primary", read_only=True, executed="0-1-9"),
            {"primary read_only": (False, False)},
        ),
        (
            node("replica", executed="0-1-9", replica=replica_status()),
            {
                "replica threads": (True, True),
                "replica errors": (True, True),
                "replica lag": (True, False),
                "replica read_only": (True, True),
            },
        ),
        (
            node(
                "replica",
                read_only=False,
                replica=replica_status(
                    applier_running=False,
                    last_sql_errno=1146,
                    last_sql_error="Table 'shop.orders' doesn't exist",
                    seconds_behind=None,
                ),
            ),
            {
                "replica threads": (False, True),
                "replica errors": (False, True),
                "replica lag": (False, False),
                "replica read_only": (False, True),
            },
        ),
        (
            node("replica", replica=replica_status(seconds_behind=600)),
            {
                "replica threads": (True, True),
                "replica errors": (True, True),
                "replica lag": (False, False),
                "replica read_only": (True, True),
            },
        ),
        (
            node("delayed", replica=replica_status(sql_delay=3600, seconds_behind=3600)),
            {
                "delayed threads": (True, False),
                "delayed errors": (True, True),
                "delayed delay": (True, False),
                "delayed read_only": (True, True),
            },
        ),
        (
            node("delayed", replica=replica_status(applier_running=False, sql_delay=0)),
            {
                "delayed threads": (False, False),
                "delayed errors": (True, True),
                "delayed delay": (False, False),
                "delayed read_only": (True, True),
            },
        ),
        (node("replica", replica=None), {"replica replication": (False, True)}),
        (down("replica"), {"replica reachable": (False, True)}),
    ],
)
def test_node_checks(facts: object, expected: dict[str, tuple[bool, bool]]) -> None:
    assert by_name(node_checks(facts)) == expected  # type: ignore[arg-type]


def test_failing_replica_says_what_it_saw_and_what_to_do() -> None:
    facts = node(
        "replica",
        read_only=False,
        replica=replica_status(receiver_state="Connecting", last_io_error="error connecting"),
    )
    rows = {r.name: r for r in node_checks(facts)}
    assert rows["replica threads"].reason == "replica: receiver Connecting (source 127.0.0.1:13306)"
    assert rows["replica errors"].reason == "replica: receiver: error connecting"
    assert rows["replica read_only"].hint == "make it read-only: SET GLOBAL read_only = ON"
    mysql = node("replica", version=MYSQL, read_only=False, replica=replica_status())
    hint = {r.name: r for r in node_checks(mysql)}["replica read_only"].hint
    assert hint == "make it read-only: SET GLOBAL super_read_only = ON"


def test_errant_transactions_per_flavour_and_cannot_tell() -> None:
    primary = node("primary", executed="0-1-10")
    clean = node("replica", executed="0-1-10", replica=replica_status())
    dirty = node("replica", executed="0-2-11", slave_pos="0-1-10", replica=replica_status())
    assert errant_transactions(clean, primary).ok
    result = errant_transactions(dirty, primary)
    assert not result.ok and not result.critical
    assert "0-2-11, beyond the primary's 0-1-10" in result.reason
    unknown = errant_transactions(clean, down("primary"))
    assert not unknown.ok and unknown.reason.startswith("cannot tell: the primary does not answer")
    my_primary = node("primary", version=MYSQL, executed=f"{UUID}:1-10")
    my_replica = node(
        "replica", version=MYSQL, executed=f"{UUID}:1-10,{UUID[:-1]}0:1-3", replica=replica_status()
    )
    mysql = errant_transactions(my_replica, my_primary)
    assert not mysql.ok and f"{UUID[:-1]}0:1-3 (3 transactions)" in mysql.reason


def test_who_applied_the_destructive_transaction() -> None:
    drop = transaction(6, "0-1-6", destructive="drop_table")
    nodes = [
        node("primary", executed="0-1-9"),
        node("replica", executed="0-1-9", replica=replica_status()),
        # After a skip the MariaDB position passes the skipped GTID: the record says otherwise.
        node("delayed", executed="0-1-9", replica=frozen()),
        down("other", Unreachable.NETWORK, role=Role.REPLICA),
    ]
    result = destructive_applied(nodes, drop, {"delayed": ("0-1-6",)}, trusted="delayed")
    assert result.ok
    assert "applied on primary, replica" in result.reason
    assert "not applied on delayed (skipped by drkit)" in result.reason
    assert "unknown on other" in result.reason
    bad = destructive_applied(nodes, drop, {}, trusted="delayed")
    assert not bad.ok and "applied on primary, replica, delayed" in bad.reason
    assert applied(nodes[2], "0-1-6", ("0-1-6",)) is False
    assert applied(nodes[3], "0-1-6") is None
    assert (
        destructive_applied(nodes, None, {}).reason == "the index holds no destructive transaction"
    )


def test_replication_checklist_exit_decision() -> None:
    healthy = judge_replication(
        [
            node("primary", executed="0-1-9"),
            node("replica", executed="0-1-9", replica=replica_status()),
            node("delayed", executed="0-1-5", replica=replica_status(sql_delay=3600)),
        ]
    )
    assert healthy.ok and healthy.failed == ()
    broken = judge_replication(
        [
            node("primary", executed="0-1-9"),
            node("replica", executed="0-1-9", replica=replica_status(applier_running=False)),
        ]
    )
    assert not broken.ok and [r.name for r in broken.failed] == ["replica threads"]
    assert broken.to_json()["failed"] == ["replica threads"]


def test_skips_are_known_without_a_state_file_and_only_for_their_node() -> None:
    """asof reads them after `drkit resume` or another node's recovery replaced the state."""
    from drkit.checks.record import skipped_ever

    audit = [
        done_event(3000.0, skipped=["0-1-9", "0-1-3"], mode="skip"),
        {**done_event(2500.0, skipped=["0-1-7"], mode="skip"), "node": "other"},
        done_event(1500.0, skipped=["0-1-3"], mode="skip"),
    ]
    assert skipped_ever(audit, "delayed") == ("0-1-9", "0-1-3")
    assert skipped_ever(audit, "other") == ("0-1-7",)
    assert recovery_record(None, audit, "delayed") is None
