"""Recovery planning is pure: the same facts give the same plan, and unsafe plans are refused."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from drkit.config import NodeConfig, PasswordSource, Role
from drkit.errors import ExitCode, RefusedError
from drkit.index.records import Destructive, IndexedTransaction, TableRows
from drkit.model.coords import BinlogCoord
from drkit.model.facts import NodeFacts, Unreachable
from drkit.model.replica import ReplicaStatus
from drkit.model.version import ServerVersion
from drkit.pitr.plan import (
    ArchiveView,
    RecoveryFacts,
    RecoveryMode,
    RecoveryRequest,
    RelaySpan,
    RelayView,
    Segment,
    Strategy,
    plan_recovery,
)
from drkit.plan.steps import CheckStep, ReplayArchive, SqlStep, WaitStep

NODE = NodeConfig(
    "delayed", Role.DELAYED, "127.0.0.1", 3308, "drkit", PasswordSource(literal="x"), delay=3600
)
PRIMARY = NodeConfig(
    "primary", Role.PRIMARY, "127.0.0.1", 3306, "drkit", PasswordSource(literal="x")
)
MARIADB = ServerVersion.parse("10.11.6-MariaDB")
MYSQL = ServerVersion.parse("8.4.0")
UUID = "3e11fa47-71ca-11e1-9e33-c80aa9429562"


def tx(
    seq: int, start: int, end: int, destructive: str | None = None, mysql: bool = False
) -> IndexedTransaction:
    gtid = f"{UUID}:{seq}" if mysql else f"0-1-{seq}"
    return IndexedTransaction(
        id=seq,
        gtid=gtid,
        file="mysql-bin.000001",
        start_pos=start,
        end_pos=end,
        timestamp=1_700_000_000 + seq,
        server_id=1,
        kind="ddl" if destructive else "dml",
        tables=(TableRows("shop.orders", inserts=0 if destructive else 1),),
        statement="DROP TABLE shop.orders"
        if destructive
        else f"INSERT INTO shop.orders VALUES ({seq})",
        destructive=Destructive(destructive, "critical", "drops shop.orders")
        if destructive
        else None,
    )


TXS = {
    seq: tx(seq, 300 + seq * 100, 400 + seq * 100, "drop_table" if seq == 7 else None)
    for seq in range(1, 10)
}


def replica(applier: bool = True, receiver: str = "Yes", error: str = "") -> ReplicaStatus:
    return ReplicaStatus(
        source_host="127.0.0.1",
        source_port=3306,
        receiver_state=receiver,
        applier_running=applier,
        read_source=BinlogCoord("mysql-bin.000001", 1300),
        executed_source=BinlogCoord("mysql-bin.000001", 700),
        relay=BinlogCoord("relay-bin.000002", 627),
        seconds_behind=0,
        sql_delay=3600,
        sql_remaining_delay=3000,
        applier_state="",
        last_io_error="",
        last_sql_error=error,
        last_sql_errno=1146 if error else 0,
        using_gtid="Slave_Pos",
        received_gtids="0-1-9",
        until_condition="None",
    )


def node_facts(
    executed: str = "0-1-3", version: ServerVersion = MARIADB, **kwargs: object
) -> NodeFacts:
    return NodeFacts(
        name="delayed",
        role=Role.DELAYED,
        address="127.0.0.1:3308",
        configured_delay=3600,
        gathered_at=time.time(),
        reachable=True,
        version=version,
        server_id=3,
        read_only=True,
        gtid_executed_text=executed,
        gtid_slave_pos_text=executed if version.is_mariadb else "",
        binlog=BinlogCoord("delayed-bin.000001", 400),
        replica=replica(**kwargs),  # type: ignore[arg-type]
    )


def primary_facts(reachable: bool = True) -> NodeFacts:
    if not reachable:
        return NodeFacts.unreachable(
            PRIMARY, Unreachable.NETWORK, "connection refused", time.time()
        )
    return NodeFacts(
        name="primary",
        role=Role.PRIMARY,
        address="127.0.0.1:3306",
        configured_delay=None,
        gathered_at=time.time(),
        reachable=True,
        version=MARIADB,
        read_only=False,
        gtid_executed_text="0-1-9",
    )


RELAY = RelayView(
    BinlogCoord("relay-bin.000002", 627),
    {
        f"0-1-{s}": RelaySpan(
            BinlogCoord("relay-bin.000002", 1000 + s * 100),
            BinlogCoord("relay-bin.000002", 1100 + s * 100),
        )
        for s in range(4, 10)
    },
    last_gtid="0-1-9",
    directory=Path("/var/lib/mysql"),
)
ARCHIVE = ArchiveView(Path("/archive"), {"mysql-bin.000001": 1300})


def recovery_facts(
    delayed: NodeFacts | None = None,
    primary: NodeFacts | None = None,
    relay: RelayView = RELAY,
    archive: ArchiveView = ARCHIVE,
    applied: int = 3,
) -> RecoveryFacts:
    return RecoveryFacts(
        node=NODE,
        delayed=delayed or node_facts(),
        primary=primary or primary_facts(),
        primary_binlogs=("mysql-bin.000001",),
        applied=TXS[applied],
        applied_gtid=f"0-1-{applied}",
        index_end=TXS[9],
        relay=relay,
        archive=archive,
        parallel_threads=0,
    )


def before(
    target: int = 7, strategy: Strategy = Strategy.AUTO, parallel: int = 0
) -> RecoveryRequest:
    segment = Segment(TXS[3], TXS[target], TXS[4], TXS[target - 1], target - 4, ("shop.orders",))
    return RecoveryRequest(
        RecoveryMode.BEFORE,
        TXS[target],
        (),
        (segment,),
        strategy,
        parallel,
        f"stop just before #{target}",
        start_position="0-1-3",
        final_position=f"0-1-{target - 1}",
    )


def skip(target: int = 7) -> RecoveryRequest:
    segments = (
        Segment(TXS[3], TXS[target], TXS[4], TXS[target - 1], target - 4),
        Segment(TXS[target], None, TXS[target + 1], TXS[9], 9 - target),
    )
    return RecoveryRequest(
        RecoveryMode.SKIP,
        None,
        (TXS[target],),
        segments,
        Strategy.AUTO,
        0,
        f"skip #{target}",
        end=TXS[9],
        start_position="0-1-3",
        final_position="0-1-9",
        skip_positions=(f"0-1-{target}",),
    )


def sql_of(plan: object) -> list[str]:
    return [str(step.sql) for step in plan.steps if isinstance(step, SqlStep)]  # type: ignore[attr-defined]


def test_upstream_plan_on_mariadb() -> None:
    plan = plan_recovery(before(), recovery_facts())
    assert plan.strategy == "upstream"
    assert sql_of(plan) == [
        "STOP SLAVE SQL_THREAD",
        "STOP SLAVE",
        "CHANGE MASTER TO MASTER_DELAY = 0",
        "START SLAVE UNTIL MASTER_LOG_FILE = 'mysql-bin.000001', MASTER_LOG_POS = 1000",
    ]
    # The statement that drops the relay logs runs only after re-checking that the primary answers.
    change = next(
        i
        for i, s in enumerate(plan.steps)
        if isinstance(s, SqlStep) and str(s.sql) == "CHANGE MASTER TO MASTER_DELAY = 0"
    )
    check = plan.steps[change - 1]
    assert isinstance(check, CheckStep) and check.node == "primary"
    assert [c.describe() for c in check.pre] == ["answers"]
    wait = [s for s in plan.steps if isinstance(s, WaitStep)]
    assert len(wait) == 1 and wait[0].stop_gtid == "0-1-7" and wait[0].last_gtid == "0-1-6"
    assert wait[0].pending == 3
    assert "0-1-6 applied and 0-1-7 not applied" in plan.render()


def test_parallel_threads_are_raised_then_put_back() -> None:
    plan = plan_recovery(before(parallel=4), recovery_facts())
    statements = sql_of(plan)
    assert statements.index("SET GLOBAL slave_parallel_threads = 4") < statements.index(
        "CHANGE MASTER TO MASTER_DELAY = 0"
    )
    assert statements[-2:] == ["STOP SLAVE", "SET GLOBAL slave_parallel_threads = 0"]


def test_primary_gone_chooses_relay_and_keeps_relay_logs() -> None:
    plan = plan_recovery(before(), recovery_facts(primary=primary_facts(reachable=False)))
    assert plan.strategy == "relay"
    assert "not chosen: upstream: the primary is unreachable" in plan.strategy_reason
    statements = sql_of(plan)
    # The applier reads on from the first unapplied transaction (#4's span), not from a stale
    # Relay_Log_Pos (627: what an archive replay around the applier leaves behind).
    assert (
        "CHANGE MASTER TO MASTER_DELAY = 0, RELAY_LOG_FILE = 'relay-bin.000002', RELAY_LOG_POS = 1400"
        in statements
    )
    assert (
        "START SLAVE SQL_THREAD UNTIL RELAY_LOG_FILE = 'relay-bin.000002', RELAY_LOG_POS = 1700"
        in statements
    )
    # Nothing that would drop the relay logs: no bare CHANGE MASTER, no START SLAVE of both threads.
    assert "CHANGE MASTER TO MASTER_DELAY = 0" not in statements
    assert not any(s.startswith("START SLAVE UNTIL") or s == "START SLAVE" for s in statements)
    assert "copy the relay logs" in plan.render()


def test_no_relay_falls_back_to_the_archive() -> None:
    relay = RelayView(BinlogCoord("relay-bin.000002", 627), {}, None, None)
    plan = plan_recovery(before(), recovery_facts(primary=primary_facts(False), relay=relay))
    assert plan.strategy == "archive"
    replay = [s for s in plan.steps if isinstance(s, ReplayArchive)]
    assert len(replay) == 1
    assert (replay[0].files, replay[0].start_pos, replay[0].stop_pos) == (
        ("mysql-bin.000001",),
        700,
        1000,
    )
    assert sql_of(plan)[-1] == "SET GLOBAL gtid_slave_pos = '0-1-6'"


def test_nothing_safe_is_refused_with_every_reason() -> None:
    relay = RelayView(BinlogCoord("relay-bin.000002", 627), {}, None, None)
    short = ArchiveView(Path("/archive"), {"mysql-bin.000001": 900})
    with pytest.raises(RefusedError) as raised:
        plan_recovery(
            before(), recovery_facts(primary=primary_facts(False), relay=relay, archive=short)
        )
    message = raised.value.message
    assert raised.value.exit_code is ExitCode.REFUSED
    assert "upstream: the primary is unreachable" in message
    assert "relay: the relay logs do not hold 0-1-7" in message
    assert "archive: the archive's mysql-bin.000001 ends at 900, before 1000" in message


def test_forced_unsafe_strategy_is_refused_and_names_the_safe_one() -> None:
    with pytest.raises(RefusedError) as raised:
        plan_recovery(
            before(strategy=Strategy.UPSTREAM), recovery_facts(primary=primary_facts(False))
        )
    assert "strategy upstream is not safe" in raised.value.message
    assert raised.value.hint and "--strategy relay" in raised.value.hint


def test_upstream_refused_when_the_primary_purged_what_the_replica_needs() -> None:
    facts = recovery_facts()
    purged = RecoveryFacts(**{**facts.__dict__, "primary_binlogs": ("mysql-bin.000002",)})
    plan = plan_recovery(before(), purged)
    assert plan.strategy == "relay"
    assert "the primary has purged mysql-bin.000001" in plan.strategy_reason


def test_target_already_applied_is_refused() -> None:
    with pytest.raises(RefusedError) as raised:
        plan_recovery(before(), recovery_facts(delayed=node_facts(executed="0-1-8")))
    assert "already applied #7" in raised.value.message
    assert (
        raised.value.hint
        and "restore a backup" in raised.value.hint
        and "flashback" in raised.value.hint
    )


def test_unreachable_or_broken_replica_is_refused() -> None:
    dead = NodeFacts.unreachable(NODE, Unreachable.NETWORK, "connection refused", time.time())
    with pytest.raises(RefusedError, match="unreachable"):
        plan_recovery(before(), recovery_facts(delayed=dead))
    with pytest.raises(RefusedError, match="error state"):
        plan_recovery(
            before(), recovery_facts(delayed=node_facts(applier=False, error="Table doesn't exist"))
        )


def test_index_behind_the_replica_is_refused() -> None:
    facts = recovery_facts()
    behind = RecoveryFacts(**{**facts.__dict__, "applied": None, "applied_gtid": "0-1-42"})
    with pytest.raises(RefusedError, match="index does not know"):
        plan_recovery(before(), behind)


def test_skip_on_mariadb_upstream_moves_the_gtid_position() -> None:
    plan = plan_recovery(skip(), recovery_facts())
    statements = sql_of(plan)
    assert "SET GLOBAL gtid_slave_pos = '0-1-7'" in statements
    first_until = statements.index(
        "START SLAVE UNTIL MASTER_LOG_FILE = 'mysql-bin.000001', MASTER_LOG_POS = 1000"
    )
    assert first_until < statements.index("SET GLOBAL gtid_slave_pos = '0-1-7'")
    # To the end: the last UNTIL is the end of the last indexed transaction, then an explicit stop.
    assert (
        "START SLAVE UNTIL MASTER_LOG_FILE = 'mysql-bin.000001', MASTER_LOG_POS = 1300"
        in statements
    )
    assert statements[-1] == "STOP SLAVE SQL_THREAD"


def test_skip_in_relay_mode_repositions_after_the_skipped_transaction() -> None:
    plan = plan_recovery(skip(), recovery_facts(primary=primary_facts(False)))
    statements = sql_of(plan)
    assert plan.strategy == "relay"
    assert (
        "CHANGE MASTER TO MASTER_DELAY = 0, RELAY_LOG_FILE = 'relay-bin.000002', RELAY_LOG_POS = 1800"
        in statements
    )
    assert "SET GLOBAL gtid_slave_pos = '0-1-7'" not in statements


def test_mysql_plan_uses_sql_before_gtids_and_an_empty_transaction_to_skip() -> None:
    mtx = {
        seq: tx(
            seq, 300 + seq * 100, 400 + seq * 100, "drop_table" if seq == 7 else None, mysql=True
        )
        for seq in range(1, 10)
    }
    delayed = node_facts(executed=f"{UUID}:1-3", version=MYSQL)
    facts = RecoveryFacts(
        NODE,
        delayed,
        primary_facts(),
        ("mysql-bin.000001",),
        mtx[3],
        f"{UUID}:3",
        mtx[9],
        RELAY,
        ARCHIVE,
        0,
    )
    segments = (
        Segment(mtx[3], mtx[7], mtx[4], mtx[6], 3),
        Segment(mtx[7], None, mtx[8], mtx[9], 2),
    )
    plan = plan_recovery(
        RecoveryRequest(RecoveryMode.SKIP, None, (mtx[7],), segments, Strategy.AUTO, 0, "skip"),
        facts,
    )
    statements = sql_of(plan)
    assert statements[:3] == [
        "STOP REPLICA SQL_THREAD",
        "CHANGE REPLICATION SOURCE TO SOURCE_DELAY = 0",
        f"START REPLICA SQL_THREAD UNTIL SQL_BEFORE_GTIDS = '{UUID}:7'",
    ]
    assert f"SET GTID_NEXT = '{UUID}:7'" in statements
    assert statements[
        statements.index(f"SET GTID_NEXT = '{UUID}:7'") + 1 : statements.index(
            f"SET GTID_NEXT = '{UUID}:7'"
        )
        + 4
    ] == [
        "BEGIN",
        "COMMIT",
        "SET GTID_NEXT = 'AUTOMATIC'",
    ]


def test_plan_is_a_value_its_render_is_the_dry_run() -> None:
    facts = recovery_facts()
    first = plan_recovery(before(), facts)
    second = plan_recovery(before(), facts)
    assert first == second
    text = first.render()
    assert text.splitlines()[0] == "Recovery on delayed: stop just before #7"
    assert all(line.split(": ", 1)[1] in text for line in first.statements())


def test_until_time_before_the_replicas_position_names_the_time_not_a_transaction() -> None:
    segment = Segment(TXS[3], TXS[2], None, None, 0)
    request = RecoveryRequest(
        RecoveryMode.UNTIL_TIME, TXS[2], (), (segment,), description="x", until_time=1_700_000_001.5
    )
    with pytest.raises(RefusedError) as refused:
        plan_recovery(request, recovery_facts())
    message = refused.value.message
    assert "2023-11-14T22:13:21" in message and "earlier than what the delayed replica" in message
    assert "#3 (0-1-3" in message, "names how far the replica has applied"
    assert "has already applied #2" not in message


def test_plan_words_count_one_transaction_and_say_where_a_run_to_the_end_stops() -> None:
    segments = (
        Segment(TXS[3], TXS[5], TXS[4], TXS[4], 1),
        Segment(TXS[5], None, TXS[6], TXS[9], 4),
    )
    request = RecoveryRequest(
        RecoveryMode.SKIP, None, (TXS[5],), segments, description="skip #5", end=TXS[9]
    )
    summary = plan_recovery(request, recovery_facts()).summary
    assert summary[0].startswith("apply 1 transaction on") or summary[0].startswith(
        "apply 1 transaction,"
    )
    assert summary[-1].endswith("stop after #9 0-1-9")
    assert not any("nothing to apply" in line and "apply no" in line for line in summary)


def test_upstream_stops_by_gtid_position_and_starts_nothing_for_an_empty_segment() -> None:
    """GTID UNTIL points where the index gives them (stale coordinates cannot fool them); a
    segment with nothing to apply starts nothing."""
    request = skip()
    segments = (Segment(TXS[6], TXS[7], None, None, 0), request.segments[1])
    request = RecoveryRequest(
        RecoveryMode.SKIP,
        None,
        (TXS[7],),
        segments,
        description="skip #7",
        end=TXS[9],
        start_position="0-1-6",
        final_position="0-1-9",
        skip_positions=("0-1-7",),
        until_positions=("0-1-9",),
    )
    facts = recovery_facts(delayed=node_facts("0-1-6"), applied=6)
    statements = sql_of(plan_recovery(request, facts))
    assert "START SLAVE UNTIL master_gtid_pos = '0-1-9'" in statements
    assert not any("MASTER_LOG_POS" in s for s in statements)
    assert statements.count("SET GLOBAL gtid_slave_pos = '0-1-7'") == 1
