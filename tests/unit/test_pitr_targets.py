"""Recovery targets: resolved once and recorded (invariant 2), destructive transactions in the
applied range refused unless named (invariant 1), GTID positions read from the index per domain."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drkit.config import Role
from drkit.errors import ExitCode, IndexBehind, RefusedError, UsageError
from drkit.index.position import applied_position, last_applied
from drkit.index.records import Destructive, TableRows
from drkit.index.store import IndexStore, NewTransaction
from drkit.model.coords import BinlogCoord
from drkit.model.facts import NodeFacts
from drkit.model.version import ServerVersion
from drkit.pitr import state as state_file
from drkit.pitr.gather import segments, slave_positions
from drkit.pitr.plan import RecoveryMode
from drkit.pitr.recovery import crossed_destructive
from drkit.pitr.state import RecoveryState, RecoveryStatus
from drkit.pitr.targets import (
    DestructiveInRange,
    RecoverySpec,
    refuse_unnamed_destructive,
    resolve,
)

T0 = 1_795_000_000
DROP = Destructive("drop_table", "critical", "DROP TABLE removes shop.orders")


def tx(n: int, gtid: str, destructive: bool = False) -> NewTransaction:
    start = 4 + 100 * (n - 1)
    return NewTransaction(
        gtid=gtid,
        file="bin.000001",
        start_pos=start,
        end_pos=start + 100,
        timestamp=T0 + 60 * (n - 1),
        server_id=1,
        kind="ddl" if destructive else "dml",
        tables=(TableRows("shop.orders", inserts=0 if destructive else 1),),
        statement="DROP TABLE shop.orders" if destructive else f"INSERT {n}",
        destructive=DROP if destructive else None,
        row_events=(),
    )


# Twelve transactions in two GTID domains; #5 and #9 are DROPs (domain 0).
GTIDS = {
    1: "0-1-1",
    2: "1-1-1",
    3: "0-1-2",
    4: "1-1-2",
    5: "0-1-3",
    6: "0-1-4",
    7: "1-1-3",
    8: "0-1-5",
    9: "0-1-6",
    10: "1-1-4",
    11: "0-1-7",
    12: "1-1-5",
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[IndexStore]:
    with IndexStore(tmp_path / "index.db") as opened:
        opened.append(
            [tx(n, gtid, destructive=n in (5, 9)) for n, gtid in GTIDS.items()],
            BinlogCoord("bin.000001", 4 + 100 * 12),
        )
        yield opened


def facts(executed: str, slave_pos: str | None = None) -> NodeFacts:
    return NodeFacts(
        name="delayed",
        role=Role.DELAYED,
        address="127.0.0.1:3308",
        configured_delay=3600,
        gathered_at=time.time(),
        reachable=True,
        version=ServerVersion.parse("10.11.6-MariaDB"),
        gtid_executed_text=executed,
        gtid_slave_pos_text=executed if slave_pos is None else slave_pos,
    )


def test_latest_destructive_is_resolved_once_and_a_rerun_continues_to_it(
    store: IndexStore, tmp_path: Path
) -> None:
    spec = RecoverySpec(before="latest-destructive")
    first = resolve(store, spec, node="delayed", previous=None, now=time.time())
    assert first.stop is not None and first.stop.id == 9
    assert first.mode is RecoveryMode.BEFORE
    record = RecoveryState(
        node="delayed",
        description=first.description,
        command="drkit recover --before latest-destructive",
        strategy="upstream",
        status=RecoveryStatus.INTERRUPTED,
        step=3,
        steps=6,
        started_at=time.time(),
        updated_at=time.time(),
        pid=1,
        spec=spec.to_json(),
        targets=first.record(),
    )
    state_file.save(tmp_path, record)
    saved = state_file.load(tmp_path)
    assert saved == record
    # A newer DROP arrives; the same command continues to the recorded #9, not to it.
    store.append([tx(13, "0-1-8", destructive=True)], BinlogCoord("bin.000001", 4 + 1300))
    again = resolve(store, spec, node="delayed", previous=saved, now=time.time())
    assert again.stop is not None and again.stop.id == 9
    assert again.continued == saved
    assert again.mode is RecoveryMode.BEFORE  # the recorded path names the mode too
    # A different command resolves afresh and so sees the newer one.
    fresh = resolve(
        store,
        RecoverySpec(before="latest-destructive", skips=()),
        node="other",
        previous=saved,
        now=time.time(),
    )
    assert fresh.stop is not None and fresh.stop.id == 13
    # After a resume the record no longer binds.
    resumed = resolve(
        store,
        spec,
        node="delayed",
        previous=record.moved(status=RecoveryStatus.RESUMED),
        now=time.time(),
    )
    assert resumed.stop is not None and resumed.stop.id == 13


def test_a_recorded_target_the_index_no_longer_holds_is_refused(store: IndexStore) -> None:
    spec = RecoverySpec(before="9")
    recorded = resolve(store, spec, node="delayed", previous=None, now=time.time()).record()
    bogus = RecoveryState(
        "delayed",
        "x",
        "c",
        "relay",
        RecoveryStatus.FAILED,
        1,
        2,
        0.0,
        0.0,
        1,
        spec=spec.to_json(),
        targets=type(recorded)(stop_id=9, stop_gtid="0-9-9"),
    )
    with pytest.raises(RefusedError, match="no longer holds"):
        resolve(store, spec, node="delayed", previous=bogus, now=time.time())


def test_skip_to_the_end_records_the_end_so_a_rerun_never_goes_further(store: IndexStore) -> None:
    targets = resolve(
        store, RecoverySpec(skips=("5",)), node="delayed", previous=None, now=time.time()
    )
    assert targets.end is not None and targets.end.id == 12
    assert targets.record().end_id == 12
    assert targets.last_id == 12
    assert targets.mode is RecoveryMode.SKIP


def test_until_time_resolves_to_its_mode_and_the_first_later_transaction(
    store: IndexStore,
) -> None:
    spec = RecoverySpec(until_time="2000-01-01T00:00:00Z")
    targets = resolve(store, spec, node="delayed", previous=None, now=time.time())
    assert spec.mode is targets.mode is RecoveryMode.UNTIL_TIME
    first = store.get(1)
    assert targets.stop is not None and first is not None and targets.stop.id == first.id


def test_spec_validation() -> None:
    with pytest.raises(UsageError):
        RecoverySpec().validate()
    with pytest.raises(UsageError):
        RecoverySpec(before="1", until_time="-1h").validate()
    with pytest.raises(UsageError, match="--until goes with --skip"):
        RecoverySpec(before="1", until="3").validate()


def test_destructive_in_the_applied_range_is_refused_unless_named(store: IndexStore) -> None:
    applied = store.get(3)
    stop = store.get(11)
    found = segments(store, applied, (), stop)
    crossed = crossed_destructive(store, found)
    assert [t.id for t in crossed] == [5, 9]
    with pytest.raises(DestructiveInRange) as refused:
        refuse_unnamed_destructive(crossed, (), node="delayed", action="this recovery")
    assert refused.value.exit_code is ExitCode.REFUSED
    assert "#5 (0-1-3" in refused.value.message and "#9 (0-1-6" in refused.value.message
    assert "--through 5 --through 9" in (refused.value.hint or "")
    assert refused.value.to_json()["destructive"] == [5, 9]
    with pytest.raises(DestructiveInRange, match="1 destructive transaction that"):
        refuse_unnamed_destructive(crossed, (store.get(5),), node="delayed", action="x")  # type: ignore[arg-type]
    refuse_unnamed_destructive(crossed, (store.get(5), store.get(9)), node="d", action="x")  # type: ignore[arg-type]
    # Skipping #5 and stopping before #9: nothing destructive is applied.
    skipped = segments(store, applied, (store.get(5),), store.get(9))  # type: ignore[arg-type]
    assert crossed_destructive(store, skipped) == []


def test_applied_position_spans_every_domain(store: IndexStore) -> None:
    # Domain 1 is at 1-1-3 (#7), domain 0 at 0-1-4 (#6): the applied prefix ends at #7.
    applied, in_order = last_applied(facts("0-1-4,1-1-3"), store, store.latest())
    assert applied is not None and applied.id == 7 and in_order
    # Domain 1 ahead (1-1-4, #10) while domain 0 lags at #6: not a prefix.
    applied, in_order = last_applied(facts("0-1-4,1-1-4"), store, store.latest())
    assert applied is not None and applied.id == 10 and not in_order


def test_a_position_beyond_the_index_is_unknown_not_nothing(store: IndexStore) -> None:
    # Domain 0 ends at 0-1-7 (#11) in the index; the node applied 0-1-8: the index is behind.
    with pytest.raises(IndexBehind) as behind:
        last_applied(facts("0-1-8,1-1-5"), store, store.latest())
    assert behind.value.exit_code is ExitCode.REFUSED
    assert behind.value.message == (
        "the index is behind what delayed has applied (its position GTID 0-1-8 is not indexed "
        "yet): run `drkit index`"
    )
    # Written by a replica's own server id, the GTID is still the primary's domain position.
    with pytest.raises(IndexBehind, match="GTID 1-1-6 is not indexed"):
        last_applied(facts("0-1-7,1-7-6"), store, store.latest())
    assert applied_position(facts("0-1-8"), store) is None
    # Older than the index (or not a domain it holds): nothing indexed applied there.
    assert last_applied(facts("5-1-99"), store, store.latest()) == (None, True)
    applied, _ = last_applied(facts("0-1-7,1-1-5"), store, store.latest())
    assert applied is not None and applied.id == 12


def test_slave_positions_are_read_from_the_index_per_domain(store: IndexStore) -> None:
    # The replica applied up to #7; its gtid_slave_pos is stale in domain 1 (an archive replay).
    replica = facts("0-1-4,1-1-3", slave_pos="0-1-4,1-1-1")
    applied = store.get(7)
    start, final, skips, ends = slave_positions(
        store,
        replica,
        applied,
        (store.get(9),),  # type: ignore[arg-type]
        11,
        (8, 11),
    )
    assert start == "0-1-4,1-1-3"
    assert final == "0-1-7,1-1-4"
    assert skips == ("0-1-6,1-1-3",)
    assert ends == ("0-1-5,1-1-3", "0-1-7,1-1-4")


def test_latest_destructive_is_a_transaction_never_a_binlog_incident(store: IndexStore) -> None:
    gap = Destructive("binlog_incident", "critical", "the binlog lost events here")
    incident = NewTransaction(
        gtid=None,
        file="bin.000001",
        start_pos=4 + 1200,
        end_pos=4 + 1250,
        timestamp=T0 + 60 * 12,
        server_id=1,
        kind="incident",
        tables=(),
        statement="binlog incident LOST_EVENTS: a gap",
        destructive=gap,
        row_events=(),
    )
    store.append([incident], BinlogCoord("bin.000001", 4 + 1250))
    targets = resolve(
        store, RecoverySpec(before="latest-destructive"), node="d", previous=None, now=0.0
    )
    assert targets.stop is not None and targets.stop.id == 9
    # A plan crossing the incident names it like any destructive record.
    crossed = crossed_destructive(store, segments(store, store.get(11), (), None, store.get(13)))
    assert [t.kind for t in crossed] == ["incident"]
