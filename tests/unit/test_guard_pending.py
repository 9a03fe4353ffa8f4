"""Pending freezes: kept across a restart, retried first, swept on a first start, and a freeze
counted as done only when the server confirmed it (a fake freezer and alerter, a real index)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drkit import config as config_module
from drkit.config import NodeConfig, Role
from drkit.dialect import for_version
from drkit.dialect.sql import Sql
from drkit.guard import freezer as freezer_module
from drkit.guard import state as state_file
from drkit.guard.freezer import Freezer
from drkit.guard.outcome import NodeOutcome, applied
from drkit.guard.state import GuardState, PendingFreeze
from drkit.guard.watch import Guard, unapplied_destructive
from drkit.index.records import Destructive, IndexedTransaction, TableRows
from drkit.index.store import IndexStore, NewTransaction
from drkit.io.audit import AuditLog
from drkit.model.coords import BinlogCoord
from drkit.model.facts import NodeFacts
from drkit.model.replica import ReplicaStatus
from drkit.model.version import ServerVersion
from drkit.pitr import state as recovery_state
from drkit.pitr.state import RecoveryState, RecoveryStatus
from tests.support.configs import TWO_NODES

CONFIG = (
    """
[index]
path = "index.db"
archive_dir = "binlogs"
"""
    + TWO_NODES
    + """
[alerts]
commands = [["true"]]
"""
)

DROP = Destructive("drop_table", "critical", "DROP TABLE removes shop.orders")
T0 = int(time.time()) - 600  # the workload committed ten minutes ago, within the delay


def tx(n: int, destructive: Destructive | None = None) -> NewTransaction:
    start = 4 + 100 * (n - 1)
    return NewTransaction(
        gtid=f"0-1-{n}",
        file="bin.000001",
        start_pos=start,
        end_pos=start + 100,
        timestamp=T0 + n,
        server_id=1,
        kind="ddl" if destructive else "dml",
        tables=(TableRows("shop.orders", inserts=0 if destructive else 1),),
        statement="DROP TABLE shop.orders" if destructive else f"INSERT {n}",
        destructive=destructive,
        row_events=(),
    )


class FakeFreezer:
    """Answers like the real one, from a script: facts per node (None: no answer) and outcomes."""

    def __init__(self) -> None:
        self.answers: dict[str, NodeFacts | None] = {}
        self.outcomes: list[str] = []  # actions to return, in order; the last one repeats
        self.calls: list[tuple[str, int]] = []

    def facts(self, node: NodeConfig) -> NodeFacts | None:
        return self.answers.get(node.name)

    def freeze(self, node: NodeConfig, transaction: IndexedTransaction) -> NodeOutcome:
        self.calls.append((node.name, transaction.id))
        action = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        detail = "state unknown: cannot connect" if action == "failed" else action
        return NodeOutcome(node.name, action, detail, at=time.time())


class FakeAlerter:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, payload: dict[str, Any]) -> None:
        self.sent.append(payload)


def facts(executed: str, *, running: bool = True) -> NodeFacts:
    replica = ReplicaStatus.from_row(
        {"Slave_SQL_Running": "Yes" if running else "No", "Relay_Master_Log_File": "bin.000001"}
    )
    return NodeFacts(
        name="delayed",
        role=Role.DELAYED,
        address="127.0.0.1:13308",
        configured_delay=3600,
        gathered_at=time.time(),
        reachable=True,
        version=ServerVersion.parse("10.11.6-MariaDB", ""),
        gtid_executed_text=executed,
        replica=replica,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[IndexStore]:
    (tmp_path / "drkit.toml").write_text(CONFIG)
    opened = IndexStore(tmp_path / "index.db")
    opened.append([tx(1), tx(2), tx(3, DROP), tx(4), tx(5, DROP)], BinlogCoord("bin.000001", 504))
    try:
        yield opened
    finally:
        opened.close()


def started_guard(
    tmp_path: Path, previous: GuardState | None
) -> tuple[Guard, FakeFreezer, FakeAlerter]:
    guard = Guard(config_module.load(tmp_path / "drkit.toml"))
    freezer, alerter = FakeFreezer(), FakeAlerter()
    guard._freezer = freezer  # type: ignore[assignment]
    guard._alerter = alerter  # type: ignore[assignment]
    guard._start_state(previous, once=False)
    return guard, freezer, alerter


def earlier(*pending: PendingFreeze) -> GuardState:
    now = time.time()
    return GuardState(
        pid=1,
        started_at=now - 900,
        heartbeat=now - 60,
        watching_since=now - 3600,
        last_seen_id=5,
        last_seen_gtid="0-1-5",
        pending=pending,
    )


def saved(tmp_path: Path) -> GuardState:
    loaded = state_file.load(tmp_path / "drkit-guard.json")
    assert loaded is not None
    return loaded


def test_a_freeze_that_failed_before_a_restart_is_retried_first_until_it_holds(
    tmp_path: Path, store: IndexStore
) -> None:
    pending = PendingFreeze("delayed", 3, "0-1-3", time.time() - 60, 4, None, "refused")
    guard, freezer, alerter = started_guard(tmp_path, earlier(pending))
    assert saved(tmp_path).pending == (pending,), "kept in the file until the guard looked at it"
    guard._restore_pending(store, earlier(pending), sweep=False)

    freezer.outcomes = ["failed", "failed", "frozen"]
    guard._retry_pending(store)
    assert freezer.calls == [("delayed", 3)]
    (entry,) = saved(tmp_path).pending
    assert (entry.id, entry.gtid, entry.attempts) == (3, "0-1-3", 5)
    assert entry.reason == "state unknown: cannot connect"
    (first,) = alerter.sent
    assert (first["alert"], first["transaction"]["gtid"]) == ("freeze_failed", "0-1-3")
    assert first["nodes"][0]["action"] == "failed"

    guard._retry_pending(store)  # fails again at once: no second page within ALERT_AGAIN
    assert len(alerter.sent) == 1 and saved(tmp_path).pending[0].attempts == 6

    guard._retry_pending(store)
    assert saved(tmp_path).pending == ()
    assert [(a["alert"], a["nodes"][0]["action"]) for a in alerter.sent[1:]] == [
        ("frozen", "frozen")
    ]
    last_action = saved(tmp_path).last_action
    assert last_action is not None and last_action["nodes"] == {"delayed": "frozen"}
    audited = [json.loads(line) for line in (tmp_path / "drkit-audit.jsonl").open()]
    freezes = [(r["alert"], r["retry"]) for r in audited if r["kind"] == "guard-freeze"]
    assert freezes == [("freeze_failed", 5), ("frozen", 6)]
    (started,) = [r for r in audited if r["kind"] == "guard-started"]
    assert started["pending"] == [pending.to_json()]


def test_a_pending_freeze_the_node_applied_meanwhile_is_a_missed_window(
    tmp_path: Path, store: IndexStore
) -> None:
    pending = PendingFreeze("delayed", 3, "0-1-3", time.time() - 60, 1, None, "refused")
    guard, freezer, alerter = started_guard(tmp_path, earlier(pending))
    guard._restore_pending(store, earlier(pending), sweep=False)
    freezer.outcomes = ["window_missed"]
    guard._retry_pending(store)
    (alert,) = alerter.sent
    assert (alert["alert"], alert["transaction"]["id"]) == ("window_missed", 3)
    assert "restore from a backup" in str(alert["next"])
    state = saved(tmp_path)
    assert state.pending == ()
    assert [(m["id"], m["gtid"], m["node"]) for m in state.missed] == [(3, "0-1-3", "delayed")]


def test_a_pending_freeze_the_index_no_longer_holds_becomes_a_sweep(
    tmp_path: Path, store: IndexStore
) -> None:
    gone = PendingFreeze("delayed", 99, "0-1-99", time.time() - 60, 1)
    guard, freezer, alerter = started_guard(tmp_path, earlier(gone, PendingFreeze("old-node")))
    guard._restore_pending(store, earlier(gone, PendingFreeze("old-node")), sweep=False)
    assert saved(tmp_path).pending == (PendingFreeze("delayed", since=gone.since, attempts=1),)
    freezer.answers["delayed"] = facts("0-1-4")  # it applied the first DROP, not the second
    freezer.outcomes = ["frozen"]
    guard._retry_pending(store)
    assert freezer.calls == [("delayed", 5)]
    assert saved(tmp_path).pending == ()
    assert [a["transaction"]["id"] for a in alerter.sent] == [5]


def test_a_first_start_freezes_for_every_destructive_transaction_not_applied_yet(
    tmp_path: Path, store: IndexStore
) -> None:
    guard, freezer, alerter = started_guard(tmp_path, None)
    assert guard._resume_point(store, None) is None
    assert saved(tmp_path).last_seen_id == 5, "the index's end: new transactions come after it"

    guard._restore_pending(store, None, sweep=True)
    freezer.answers["delayed"] = None  # down: unknown, so nothing is assumed applied or safe
    guard._retry_pending(store)
    (sweep,) = saved(tmp_path).pending
    assert (sweep.node, sweep.id, sweep.attempts) == ("delayed", None, 1)
    assert sweep.reason == "state unknown: it does not answer"
    assert alerter.sent == [] and freezer.calls == []

    freezer.answers["delayed"] = facts("0-1-2")  # back, before both DROPs
    freezer.outcomes = ["frozen", "already_frozen"]
    guard._retry_pending(store)
    assert freezer.calls == [("delayed", 3), ("delayed", 5)]
    assert [(a["transaction"]["id"], a["nodes"][0]["action"]) for a in alerter.sent] == [
        (3, "frozen"),
        (5, "already_frozen"),
    ]
    assert saved(tmp_path).pending == ()


def test_unapplied_destructive_stops_at_the_first_applied_one(store: IndexStore) -> None:
    assert [t.id for t in unapplied_destructive(store, facts("0-1-2"))] == [3, 5]
    assert [t.id for t in unapplied_destructive(store, facts("0-1-4"))] == [5]
    assert unapplied_destructive(store, facts("0-1-5")) == []
    assert applied(facts("0-1-5"), store.get(5))  # type: ignore[arg-type]


class FakeSession:
    """Enough of a Session for the freezer: the statements it ran, and a dialect."""

    def __init__(self) -> None:
        self.version = ServerVersion.parse("10.11.6-MariaDB", "")
        self.dialect = for_version(self.version)
        self.ran: list[str] = []

    def run(self, statement: Sql) -> None:
        self.ran.append(str(statement))

    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("after", "detail"),
    [
        (None, "the applier is not reported (no replica status) after the stop"),
        (facts("0-1-2", running=True), "the applier still runs after the stop"),
    ],
)
def test_a_freeze_counts_only_when_the_server_says_the_applier_stopped(
    tmp_path: Path,
    store: IndexStore,
    monkeypatch: pytest.MonkeyPatch,
    after: NodeFacts | None,
    detail: str,
) -> None:
    session = FakeSession()
    answers = iter([facts("0-1-2"), after if after is not None else _no_replica()])
    monkeypatch.setattr(freezer_module, "connect", lambda *a, **k: session)
    monkeypatch.setattr(freezer_module, "facts_from_session", lambda _s: next(answers))
    config = config_module.load(tmp_path / "drkit.toml")
    freezer = Freezer(config.delayed, AuditLog(tmp_path / "audit.jsonl", command="t"))
    try:
        outcome = freezer.freeze(config.node("delayed"), store.get(3))  # type: ignore[arg-type]
    finally:
        freezer.close()
    assert session.ran == ["STOP SLAVE SQL_THREAD"]
    assert (outcome.action, outcome.detail) == ("failed", detail)
    assert not outcome.safe


def _no_replica() -> NodeFacts:
    answered = facts("0-1-2")
    return NodeFacts(**{**answered.__dict__, "replica": None})


def resume_record(named: tuple[int, ...], at: float) -> RecoveryState:
    return RecoveryState(
        node="delayed",
        description="resume",
        command="drkit resume --through 0-1-3 --yes",
        strategy="",
        status=RecoveryStatus.RESUMED.value,
        step=0,
        steps=0,
        started_at=at,
        updated_at=at,
        pid=1,
        resumed_through=named,
    )


@pytest.mark.parametrize(
    ("named", "resumed_ago", "dropped"),
    [
        ((3,), 10, True),  # named after the freeze began failing: the operator's choice stands
        ((4,), 10, False),  # another transaction named: this one still needs its freeze
        ((3,), 120, False),  # a resume older than the failing freeze says nothing about it
    ],
)
def test_a_pending_freeze_is_dropped_once_an_operator_resumed_through_it(
    tmp_path: Path,
    store: IndexStore,
    named: tuple[int, ...],
    resumed_ago: int,
    dropped: bool,
) -> None:
    now = time.time()
    pending = PendingFreeze("delayed", 3, "0-1-3", now - 60, 2, None, "refused")
    guard, freezer, alerter = started_guard(tmp_path, earlier(pending))
    guard._restore_pending(store, earlier(pending), sweep=False)
    recovery_state.save(tmp_path, resume_record(named, now - resumed_ago))
    freezer.outcomes = ["frozen"]

    guard._retry_pending(store)

    audited = [json.loads(line) for line in (tmp_path / "drkit-audit.jsonl").open()]
    drops = [r for r in audited if r["kind"] == "guard-freeze-dropped"]
    if dropped:
        assert freezer.calls == [], "the replica the operator started is not stopped again"
        assert saved(tmp_path).pending == ()
        assert alerter.sent == []
        assert [(d["transaction"], d["gtid"], d["node"]) for d in drops] == [
            (3, "0-1-3", "delayed")
        ]
    else:
        assert freezer.calls == [("delayed", 3)]
        assert drops == []
        assert [a["alert"] for a in alerter.sent] == ["frozen"]


def test_when_judging_fails_the_guard_falls_back_to_each_stored_finding_on_its_own_tables(
    tmp_path: Path, store: IndexStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    guard, _, _ = started_guard(tmp_path, None)
    drop = Destructive("drop_table", "critical", "DROP TABLE removes shop.orders", ("shop.orders",))
    wipe = Destructive("delete_without_where", "high", "DELETE without WHERE", ("shop.items",))
    transaction = IndexedTransaction(
        id=9,
        gtid="0-1-9",
        file="bin.000001",
        start_pos=904,
        end_pos=1004,
        timestamp=T0 + 9,
        server_id=1,
        kind="dml",
        tables=(TableRows("shop.orders"), TableRows("shop.items", deletes=3)),
        statement="DROP TABLE shop.orders; DELETE FROM shop.items",
        destructive=drop,
        findings=(drop, wipe),
    )

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("rules unreadable")

    monkeypatch.setattr("drkit.guard.watch.guard_findings", broken)
    verdicts = guard._verdicts(transaction)
    judged = [(v.finding.category, v.finding.tables) for v in verdicts]
    assert judged == [("drop_table", ("shop.orders",)), ("delete_without_where", ("shop.items",))]
    assert all(v.freezes for v in verdicts), "a failed judgement never lets a disaster through"
