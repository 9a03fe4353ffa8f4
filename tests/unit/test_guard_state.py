"""The guard's state file, how `drkit status` judges it, the alert it sends, and `applied`."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from drkit.classify import Finding, Severity
from drkit.cli.status import _guard_section
from drkit.config import Role
from drkit.guard import state as state_file
from drkit.guard.outcome import NodeOutcome, applied, is_history
from drkit.guard.payload import STATEMENT_LIMIT, alert_payload, incident_key
from drkit.guard.rules import Verdict
from drkit.guard.state import GuardState, PendingFreeze, guard_status
from drkit.index.records import Destructive, IndexedTransaction, TableRows
from drkit.model.facts import NodeFacts
from drkit.model.replica import ReplicaStatus
from drkit.model.version import ServerVersion

NOW = 1_800_000_000.0


def state(**changes: object) -> GuardState:
    base = GuardState(
        pid=os.getpid(), started_at=NOW - 60, heartbeat=NOW - 0.4, watching_since=NOW - 600
    )
    return base.moved(**changes)


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


PENDING = (
    PendingFreeze("delayed", 42, "0-1-42", NOW - 30, 3, NOW - 1, "state unknown: refused"),
    PendingFreeze("delayed2"),
)


def test_state_round_trips_atomically(tmp_path: Path) -> None:
    path = tmp_path / "drkit-guard.json"
    saved = state(last_seen_id=42, missed=({"id": 40, "node": "delayed"},), pending=PENDING)
    state_file.save(path, saved)
    assert state_file.load(path) == saved
    assert [p.name for p in tmp_path.iterdir()] == ["drkit-guard.json"], "no temporary file left"
    data = json.loads(path.read_text())
    assert data["last_seen_id"] == 42
    assert data["pending"][0] == {
        "node": "delayed",
        "id": 42,
        "gtid": "0-1-42",
        "since": NOW - 30,
        "attempts": 3,
        "last_try": NOW - 1,
        "reason": "state unknown: refused",
    }


def test_state_file_is_private_even_over_an_older_readable_one(tmp_path: Path) -> None:
    path = tmp_path / "drkit-guard.json"
    path.write_text("{}")
    path.chmod(0o644)
    old_umask = os.umask(0)  # the mode must not depend on the caller's umask
    try:
        state_file.save(path, state(pending=PENDING))
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert state_file.load(path) == state(pending=PENDING)
    # A temporary file left by a crashed writer with this pid does not stop the next save.
    (tmp_path / f".drkit-guard.json.{os.getpid()}.tmp").write_text("half a fi")
    state_file.save(path, state(last_seen_id=7))
    assert state_file.load(path) == state(last_seen_id=7)
    assert [p.name for p in tmp_path.iterdir()] == ["drkit-guard.json"]


def test_older_state_files_still_load(tmp_path: Path) -> None:
    path = tmp_path / "drkit-guard.json"
    older = {
        "pid": 4242,
        "started_at": NOW - 60,
        "heartbeat": NOW - 1,
        "watching_since": NOW - 600,
        "last_seen_id": 41,
        "last_seen_gtid": "0-1-41",
    }
    path.write_text(json.dumps(older))
    loaded = state_file.load(path)
    assert loaded is not None and loaded.pending == () and loaded.last_seen_id == 41
    # Pending freezes once named only the node: the guard then judges all that node has not applied.
    path.write_text(json.dumps({**older, "pending": ["delayed"], "some_future_key": 1}))
    loaded = state_file.load(path)
    assert loaded is not None
    assert loaded.pending == (PendingFreeze("delayed"),)
    assert loaded.pending[0].label == "delayed (every unapplied destructive transaction)"
    path.write_text(json.dumps({**older, "pending": [{"id": 3}]}))
    assert state_file.load(path) is None, "a pending freeze without a node is not a state"


def test_unreadable_state_is_no_state(tmp_path: Path) -> None:
    path = tmp_path / "drkit-guard.json"
    assert state_file.load(path) is None
    for text in ("{", "[]", '{"pid": 1}'):
        path.write_text(text)
        assert state_file.load(path) is None
    status = guard_status(path, NOW)
    assert not status.running and status.state is None


def test_running_needs_a_live_pid_and_a_fresh_heartbeat(tmp_path: Path) -> None:
    path = tmp_path / "drkit-guard.json"
    state_file.save(path, state())
    live = guard_status(path, NOW)
    assert live.running and live.reason.startswith(f"running (pid {os.getpid()}")
    stale = guard_status(path, NOW + 30)
    assert not stale.running and "has not written a heartbeat for 30s" in stale.reason
    gone = dead_pid()
    state_file.save(path, state(pid=gone))
    dead = guard_status(path, NOW)
    assert not dead.running and f"pid {gone} is gone" in dead.reason
    state_file.save(path, state(pid=gone, host="guard-host-elsewhere"))
    remote = guard_status(path, NOW)
    assert remote.running, "another host's pid cannot be checked here: the heartbeat decides"
    assert remote.reason.startswith(f"running (pid {gone} on guard-host-elsewhere")
    state_file.save(path, state(stopped_at=NOW - 5, once=True))
    once = guard_status(path, NOW)
    assert not once.running and once.reason.startswith("not running: ran once at ")
    assert once.to_json()["state"]["once"] is True


def test_status_section_shows_what_the_guard_last_saw_and_did(tmp_path: Path) -> None:
    path = tmp_path / "drkit-guard.json"
    state_file.save(
        path,
        state(
            primary="following primary from mysql-bin.000003",
            last_seen_id=42,
            last_seen_gtid="0-1-42",
            last_seen_at=NOW - 3,
            last_finding={
                "id": 42,
                "severity": "critical",
                "class": "drop_table",
                "reason": "DROP TABLE removes shop.orders",
            },
            last_action={"action": "frozen", "at": NOW - 2, "nodes": {"delayed": "frozen"}},
            missed=({"id": 40, "node": "delayed2"},),
        ),
    )
    text = _guard_section(guard_status(path, NOW), NOW)
    assert text.splitlines() == [
        f"GUARD: running (pid {os.getpid()}, heartbeat 0.4s ago); primary: following primary from mysql-bin.000003",
        "  last seen: #42 0-1-42 committed 2027-01-15T07:59:57Z (3s ago)",
        "  last finding: #42 critical drop_table: DROP TABLE removes shop.orders",
        "  last action: frozen (delayed frozen), 2s ago",
        "  WINDOWS MISSED: 1; latest #40 on delayed2",
    ]
    assert _guard_section(guard_status(tmp_path / "none.json", NOW), NOW) == (
        "GUARD: no guard has run here (no state file)"
    )


def test_status_section_lists_every_pending_freeze(tmp_path: Path) -> None:
    path = tmp_path / "drkit-guard.json"
    state_file.save(path, state(pending=PENDING))
    lines = _guard_section(guard_status(path, NOW), NOW).splitlines()
    assert lines[1:] == [
        "  FREEZE PENDING on delayed for #42 0-1-42 (3 attempts, last: state unknown: refused; retrying)",
        "  FREEZE PENDING on delayed2 (every unapplied destructive transaction) (not tried yet; retrying)",
    ]
    assert guard_status(path, NOW).to_json()["state"]["pending"][1]["node"] == "delayed2"


# -- the alert -----------------------------------------------------------------------------------

TRANSACTION = IndexedTransaction(
    id=42,
    gtid="0-1-42",
    file="mysql-bin.000001",
    start_pos=1000,
    end_pos=1200,
    timestamp=int(NOW),
    server_id=1,
    kind="ddl",
    tables=(TableRows("shop.orders"),),
    statement="DROP TABLE shop.orders " + "x" * 2000,
    destructive=Destructive("drop_table", "critical", "DROP TABLE removes shop.orders"),
)
DROP = Verdict(
    Finding("drop_table", Severity.CRITICAL, "DROP TABLE removes shop.orders", ("shop.orders",))
)
RENAME = Verdict(Finding("rename_table", Severity.MEDIUM, "RENAME", ("shop.a",)), "below")


def test_alert_for_a_freeze() -> None:
    outcomes = [NodeOutcome("delayed", "frozen", "applier stopped", "0-1-41", 3599.04)]
    alert = alert_payload(
        TRANSACTION, [DROP, RENAME], outcomes, primary="primary (h:1)", host="guard1", now=NOW
    )
    assert alert["alert"] == "frozen" and alert["severity"] == "critical"
    assert alert["summary"].startswith(
        "drkit guard: froze delayed: critical drop_table in #42 0-1-42"
    )
    assert alert["nodes"] == [
        {
            "node": "delayed",
            "action": "frozen",
            "detail": "applier stopped",
            "executed_gtid": "0-1-41",
            "seconds_left": 3599.0,
        }
    ]
    assert [f["action"] for f in alert["findings"]] == ["freeze", "log"]
    assert len(alert["transaction"]["statement"]) == STATEMENT_LIMIT
    # By GTID: the same transaction in every guard's index, whatever id each gave it.
    assert alert["next"].startswith("drkit recover --before 0-1-42 --dry-run")
    json.dumps(alert)  # it goes out as JSON


def test_two_guards_give_one_incident_the_same_dedup_key() -> None:
    """Another host's guard: its own index id for the transaction, its own outcome and host."""
    frozen = [NodeOutcome("delayed", "frozen", "applier stopped")]
    found = [NodeOutcome("delayed", "already_frozen", "the applier was already stopped")]
    elsewhere = IndexedTransaction(**{**TRANSACTION.__dict__, "id": 7})
    first = alert_payload(TRANSACTION, [DROP], frozen, primary="p (a:1)", host="g1", now=NOW)
    second = alert_payload(elsewhere, [DROP], found, primary="db1 (b:1)", host="g2", now=NOW + 1)
    assert first["dedup_key"] == second["dedup_key"] == incident_key(TRANSACTION)
    assert str(first["dedup_key"]).startswith("drkit-") and len(str(first["dedup_key"])) == 38
    failed = [NodeOutcome("delayed", "failed", "unreachable")]
    again = alert_payload(TRANSACTION, [DROP], failed, primary="p", host="g1", now=NOW)
    assert again["dedup_key"] == first["dedup_key"]  # freeze_failed, then frozen: one incident
    other = IndexedTransaction(**{**TRANSACTION.__dict__, "gtid": "0-1-43", "start_pos": 2000})
    assert incident_key(other) != incident_key(TRANSACTION)


def test_a_missed_window_is_the_loudest_alert() -> None:
    outcomes = [
        NodeOutcome("delayed", "frozen", "applier stopped"),
        NodeOutcome("delayed2", "window_missed", "it has already applied #42"),
    ]
    alert = alert_payload(TRANSACTION, [DROP], outcomes, primary="p", host="h", now=NOW)
    assert (alert["alert"], alert["severity"]) == ("window_missed", "window_missed")
    assert "WINDOW MISSED on delayed2" in alert["summary"] and "froze delayed" in alert["summary"]
    only_missed = alert_payload(TRANSACTION, [DROP], outcomes[1:], primary="p", host="h", now=NOW)
    assert "restore from a backup" in only_missed["next"]
    failed = alert_payload(
        TRANSACTION,
        [DROP],
        [NodeOutcome("delayed", "failed", "unreachable")],
        primary="p",
        host="h",
        now=NOW,
    )
    assert failed["alert"] == "freeze_failed" and "drkit freeze" in failed["next"]


def test_a_missed_window_names_the_way_back() -> None:
    missed = [NodeOutcome("delayed", "window_missed", "it has already applied #42")]
    drop = alert_payload(TRANSACTION, [DROP], missed, primary="p", host="h", now=NOW)
    assert drop["next"] == (
        "no delayed replica holds the data from before #42 (0-1-42): restore from a backup taken "
        "before 2027-01-15T08:00:00Z and replay drkit's binlog archive up to mysql-bin.000001:1000 "
        "(mariadb-binlog --stop-position=1000)"
    )
    deleted = IndexedTransaction(
        **{**TRANSACTION.__dict__, "tables": (TableRows("shop.orders", deletes=500),)}
    )
    delete = alert_payload(deleted, [DROP], missed, primary="p", host="h", now=NOW)
    assert "`drkit flashback 0-1-42 --dry-run` reverses its row changes" in str(delete["next"])
    assert "or restore from a backup" in str(delete["next"])


def facts(executed: str, exec_file: str = "mysql-bin.000001", exec_pos: int = 0) -> NodeFacts:
    replica = ReplicaStatus.from_row(
        {
            "Slave_SQL_Running": "Yes",
            "Relay_Master_Log_File": exec_file,
            "Exec_Master_Log_Pos": exec_pos,
        }
    )
    return NodeFacts(
        name="delayed",
        role=Role.DELAYED,
        address="h:1",
        configured_delay=3600,
        gathered_at=NOW,
        reachable=True,
        version=ServerVersion.parse("10.11.6-MariaDB", "mariadb.org binary distribution"),
        gtid_executed_text=executed,
        replica=replica,
    )


def test_applied_by_gtid_or_by_coordinates() -> None:
    assert not applied(facts("0-1-41"), TRANSACTION)
    assert applied(facts("0-1-42"), TRANSACTION)
    assert applied(facts("0-1-50"), TRANSACTION)
    assert not applied(facts("1-1-99"), TRANSACTION), "another domain says nothing about 0-1-42"
    anonymous = IndexedTransaction(**{**TRANSACTION.__dict__, "gtid": None})
    assert not applied(facts("", exec_pos=1000), anonymous), "stopped right before it"
    assert applied(facts("", exec_pos=1200), anonymous)
    assert applied(facts("", exec_file="mysql-bin.000002", exec_pos=4), anonymous)


def test_history_is_only_what_was_applied_before_the_guard_first_watched() -> None:
    missed = [NodeOutcome("delayed", "window_missed", "applied")]
    frozen = [NodeOutcome("delayed", "frozen", "stopped")]
    assert is_history(1000, 1001.5, missed)
    assert not is_history(1001, 1001.5, missed), "the same second: it may have come after"
    assert not is_history(1000, 1001.5, frozen + missed), "a node was saved: that is news"
    assert not is_history(2000, 1001.5, missed)
