"""The point-in-time engine on real servers: every recovery is judged by the rescued data itself."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from drkit.sandbox.binaries import find_program
from tests.support.sandbox import Sandbox, start_sandbox, wait_for
from tests.support.workload import (
    create_shop,
    delayed_status,
    drkit_json,
    fingerprint,
    index,
    latest_destructive,
    wait_replica_caught_up,
)


def recover(box: Sandbox, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    done, data = drkit_json(box, "recover", *args, "--yes")
    return done, data or {}


def recover_in_background(box: Sandbox, **popen: Any) -> subprocess.Popen[Any]:
    """`drkit recover --before latest-destructive --yes` as a separate process, not waited for."""
    args = [
        sys.executable,
        "-m",
        "drkit",
        "--config",
        str(box.config_file),
        "recover",
        "--before",
        "latest-destructive",
        "--yes",
        "--parallel",
        "0",
    ]
    env = {k: v for k, v in os.environ.items() if k != "DRKIT_DEBUG"}
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, **popen)


def wait_for_wait_step(state_file: Path) -> None:
    """Until the recovery state file says drkit is waiting for the catch-up."""

    def waiting() -> bool:
        try:
            return "wait until" in json.loads(state_file.read_text()).get("message", "")
        except (OSError, ValueError):
            return False

    wait_for(waiting, timeout=60, what="drkit to reach the wait step")


DISASTERS = {
    "drop_table": ("DROP TABLE shop.orders", "shop.orders"),
    "delete_without_where": ("DELETE FROM shop.orders", "shop.orders"),
    "truncate": ("TRUNCATE TABLE shop.orders", "shop.orders"),
    "update_without_where": ("UPDATE shop.orders SET total = 0", "shop.orders"),
    "drop_database": ("DROP DATABASE shop", "shop.orders"),
}


@pytest.mark.parametrize("kind", list(DISASTERS))
def test_recover_before_each_disaster_restores_the_table(box: Sandbox, kind: str) -> None:
    statement, table = DISASTERS[kind]
    create_shop(box)
    before = fingerprint(box, "primary", table)
    box.sql("primary", statement, app=True)
    assert fingerprint(box, "primary", table) != before
    index(box)
    event = latest_destructive(box)
    assert event["destructive"]["class"] == kind
    done, report = recover(box, "--before", "latest-destructive")
    assert done.returncode == 0, done.stderr
    assert fingerprint(box, "delayed", table) == before
    assert report["verified"] is True
    assert report["strategy"] == "upstream"
    status = delayed_status(box)
    assert status["Slave_SQL_Running"] == "No"
    assert (
        f"{status['Relay_Master_Log_File']}:{status['Exec_Master_Log_Pos']}"
        == f"{event['file']}:{event['start_pos']}"
    )
    prev_seq = int(event["gtid"].rsplit("-", 1)[1]) - 1
    assert box.value("delayed", "SELECT @@gtid_slave_pos") == f"0-1-{prev_seq}"


def test_before_stops_ahead_of_later_writes_and_skip_keeps_them(tmp_path: Path) -> None:
    for mode in ("before", "skip"):
        box = start_sandbox(tmp_path / mode, delay=3600)
        try:
            create_shop(box)
            orders = fingerprint(box, "primary", "shop.orders")
            box.sql("primary", "DROP TABLE shop.orders", app=True)
            for i in range(5):
                box.sql("primary", f"INSERT INTO shop.audit (what) VALUES ('after {i}')", app=True)
            box.sql("primary", "UPDATE shop.customers SET name = 'renamed' WHERE id = 3", app=True)
            index(box)
            done, report = recover(box, f"--{mode}", "latest-destructive")
            assert done.returncode == 0, done.stderr
            assert fingerprint(box, "delayed", "shop.orders") == orders
            later = box.value("delayed", "SELECT COUNT(*) FROM shop.audit")
            renamed = box.value("delayed", "SELECT name FROM shop.customers WHERE id = 3")
            if mode == "before":
                assert later == 0 and renamed == "customer 3"
            else:
                assert later == 5 and renamed == "renamed"
                assert report["skipped"] == [latest_destructive(box)["gtid"]]
                assert box.value("delayed", "SELECT @@gtid_slave_pos") == box.value(
                    "primary", "SELECT @@gtid_binlog_pos"
                )
        finally:
            box.down(purge=True)


def test_destructive_statement_inside_a_multi_statement_transaction(box: Sandbox) -> None:
    create_shop(box)
    orders = fingerprint(box, "primary", "shop.orders")
    conn = box.connect("primary", app=True)
    cur = conn.cursor()
    cur.execute("START TRANSACTION")
    cur.execute("INSERT INTO shop.audit (what) VALUES ('inside 1')")
    cur.execute("DELETE FROM shop.orders")
    cur.execute("INSERT INTO shop.audit (what) VALUES ('inside 2')")
    cur.execute("COMMIT")
    conn.close()
    index(box)
    event = latest_destructive(box)
    assert event["destructive"]["class"] == "delete_without_where"
    assert set(event["tables"]) == {"shop.audit", "shop.orders"}
    done, _ = recover(box, "--before", event["gtid"])
    assert done.returncode == 0, done.stderr
    assert fingerprint(box, "delayed", "shop.orders") == orders
    assert box.value("delayed", "SELECT COUNT(*) FROM shop.audit") == 0, (
        "the whole transaction stays unapplied"
    )


def test_primary_killed_after_the_disaster_recovers_through_the_relay_logs(box: Sandbox) -> None:
    create_shop(box)
    box.sql("primary", "INSERT INTO shop.audit (what) VALUES ('before')", app=True)
    orders = fingerprint(box, "primary", "shop.orders")
    audit = fingerprint(box, "primary", "shop.audit")
    box.sql("primary", "DROP TABLE shop.orders", app=True)
    index(box)
    wait_for(
        lambda: (
            delayed_status(box)["Gtid_IO_Pos"] == box.value("primary", "SELECT @@gtid_binlog_pos")
        ),
        what="the delayed replica to receive everything",
    )
    box.kill("primary")
    done, report = recover(box, "--before", "latest-destructive")
    assert done.returncode == 0, done.stderr
    assert report["strategy"] == "relay"
    assert fingerprint(box, "delayed", "shop.orders") == orders
    assert fingerprint(box, "delayed", "shop.audit") == audit, (
        "no transaction before the disaster is lost"
    )
    assert report["relay_backup"] and Path(report["relay_backup"]).is_dir()
    assert any(p.name.startswith("relay-bin.") for p in Path(report["relay_backup"]).iterdir())


def test_primary_killed_and_relay_logs_short_recovers_through_the_archive(box: Sandbox) -> None:
    create_shop(box)
    wait_for(
        lambda: (
            delayed_status(box)["Gtid_IO_Pos"] == box.value("primary", "SELECT @@gtid_binlog_pos")
        ),
        what="the delayed replica to receive the schema",
    )
    # The delayed replica stops receiving: what follows exists only on the primary and in drkit's archive.
    box.sql("delayed", "STOP SLAVE IO_THREAD")
    for i in range(20):
        box.sql(
            "primary", f"INSERT INTO shop.audit (what) VALUES ('only in the archive {i}')", app=True
        )
    orders = fingerprint(box, "primary", "shop.orders")
    audit = fingerprint(box, "primary", "shop.audit")
    box.sql("primary", "DELETE FROM shop.orders", app=True)
    index(box)
    box.kill("primary")
    done, report = recover(box, "--before", "latest-destructive")
    assert done.returncode == 0, done.stderr
    assert report["strategy"] == "archive"
    assert fingerprint(box, "delayed", "shop.orders") == orders
    assert fingerprint(box, "delayed", "shop.audit") == audit
    event = latest_destructive(box)
    prev_seq = int(event["gtid"].rsplit("-", 1)[1]) - 1
    assert box.value("delayed", "SELECT @@gtid_slave_pos") == f"0-1-{prev_seq}", (
        "replayed GTIDs are recorded"
    )


def test_parallel_appliers_keep_the_stop_point_exact(tmp_path: Path) -> None:
    box = start_sandbox(
        tmp_path / "par",
        delay=3600,
        server_options={"slave-parallel-threads": "4", "slave-parallel-mode": "aggressive"},
    )
    try:
        create_shop(box, orders=10)
        conn = box.connect("primary", app=True)
        cur = conn.cursor()
        for i in range(400):
            cur.execute(f"INSERT INTO shop.audit (what) VALUES ('row {i}')")
            cur.execute(f"UPDATE shop.orders SET total = total + 1 WHERE id = {i % 10 + 1}")
        conn.close()
        orders = fingerprint(box, "primary", "shop.orders")
        audit = fingerprint(box, "primary", "shop.audit")
        box.sql("primary", "UPDATE shop.orders SET note = 'oops'", app=True)
        for i in range(50):
            box.sql("primary", f"INSERT INTO shop.audit (what) VALUES ('later {i}')", app=True)
        index(box)
        assert box.value("delayed", "SELECT @@slave_parallel_threads") == 4
        done, report = recover(box, "--before", "latest-destructive")
        assert done.returncode == 0, done.stderr
        assert fingerprint(box, "delayed", "shop.orders") == orders
        assert fingerprint(box, "delayed", "shop.audit") == audit
        assert box.value("delayed", "SELECT @@slave_parallel_threads") == 4, (
            "the setting is put back"
        )
        assert report["transactions_applied"] >= 800
    finally:
        box.down(purge=True)


def test_target_already_applied_is_refused_and_changes_nothing(box: Sandbox) -> None:
    create_shop(box)
    box.sql("primary", "DROP TABLE shop.customers", app=True)
    box.sql("primary", "DROP TABLE shop.orders", app=True)
    index(box)
    first = drkit_json(box, "events", "--destructive", "--limit", "2")[1][-1]
    assert first["statement"].startswith("DROP TABLE `shop`.`customers`")
    untouched = box.value("delayed", "SELECT @@gtid_current_pos")
    # Invariant 1: stopping before the second DROP would apply the first one: refused...
    done, refusal = recover(box, "--before", "latest-destructive", "--json")
    assert done.returncode == 3, done.stderr
    assert refusal["exit"] == 3 and refusal["destructive"] == [first["id"]]
    assert box.value("delayed", "SELECT @@gtid_current_pos") == untouched
    assert delayed_status(box)["SQL_Delay"] == 3600, "nothing was changed"
    # ...unless the operator names it.
    done, _ = recover(box, "--before", "latest-destructive", "--through", str(first["id"]))
    assert done.returncode == 0, done.stderr
    before = (
        box.value("delayed", "SELECT @@gtid_slave_pos"),
        delayed_status(box)["Exec_Master_Log_Pos"],
    )
    # Stopping before the first drop is no longer possible: the replica applied it.
    done = box.drkit("recover", "--before", str(first["id"]), "--yes")
    assert done.returncode == 3
    assert "already applied" in done.stderr and "nothing was changed" in done.stderr
    assert "restore a backup" in done.stderr
    assert (
        box.value("delayed", "SELECT @@gtid_slave_pos"),
        delayed_status(box)["Exec_Master_Log_Pos"],
    ) == before


def test_drkit_killed_mid_recovery_and_rerun_finishes(box: Sandbox) -> None:
    create_shop(box, orders=10)
    conn = box.connect("primary", app=True)
    cur = conn.cursor()
    for i in range(6000):
        cur.execute(f"INSERT INTO shop.audit (what) VALUES ('row {i}')")
    conn.close()
    audit = fingerprint(box, "primary", "shop.audit")
    box.sql("primary", "TRUNCATE TABLE shop.audit", app=True)
    index(box)
    proc = recover_in_background(box, start_new_session=True)
    state_file = box.directory / "drkit-recovery.json"
    wait_for_wait_step(state_file)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    state = json.loads(state_file.read_text())
    assert state["status"] == "running", "the state file shows the recovery was cut short"
    done, report = recover(box, "--before", "latest-destructive")
    assert done.returncode == 0, done.stderr
    assert report["verified"] is True
    assert fingerprint(box, "delayed", "shop.audit") == audit
    assert json.loads(state_file.read_text())["status"] == "done"


def test_skipped_transaction_that_a_later_one_needs_stops_with_the_error(box: Sandbox) -> None:
    create_shop(box)
    box.sql("primary", "TRUNCATE TABLE shop.audit", app=True)  # the one to skip (destructive)
    box.sql("primary", "CREATE TABLE shop.needs (id INT PRIMARY KEY)", app=True)
    index(box)
    skip = latest_destructive(box)
    # Skip the CREATE TABLE too: the INSERT after it cannot apply without it.
    box.sql("primary", "INSERT INTO shop.needs VALUES (1)", app=True)
    index(box)
    events = drkit_json(box, "events", "--limit", "3")[1]
    create = next(e for e in events if e["statement"].startswith("CREATE TABLE shop.needs"))
    insert = next(e for e in events if e["tables"] == ["shop.needs"])
    done = box.drkit("recover", "--skip", skip["gtid"], "--skip", create["gtid"], "--yes")
    assert done.returncode == 1
    assert f"#{insert['id']}" in done.stderr and "shop.needs" in done.stderr
    assert "doesn't exist" in done.stderr
    assert box.value("delayed", "SELECT COUNT(*) FROM shop.orders") == 100


def test_until_time_applies_what_was_committed_by_then(box: Sandbox) -> None:
    create_shop(box)
    box.sql("primary", "INSERT INTO shop.audit (what) VALUES ('early')", app=True)
    cutoff = int(time.time())  # 'early' and everything before it committed at or before this
    # 'late' is stamped a minute after the cutoff in the binlog (the index keeps whole seconds):
    # no need to wait for the clock to move on.
    box.sql(
        "primary",
        f"SET timestamp = {cutoff + 60}",
        "INSERT INTO shop.audit (what) VALUES ('late')",
        app=True,
    )
    index(box)
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(cutoff))
    done, report = recover(box, "--until-time", iso)
    assert done.returncode == 0, done.stderr
    rows = box.sql("delayed", "SELECT what FROM shop.audit ORDER BY id")
    assert rows == [{"what": "early"}]
    assert report["verified"] is True


def test_dry_run_prints_the_plan_and_changes_nothing(box: Sandbox) -> None:
    create_shop(box)
    box.sql("primary", "DROP TABLE shop.orders", app=True)
    index(box)
    before = delayed_status(box)
    done = box.drkit("recover", "--before", "latest-destructive", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "CHANGE MASTER TO MASTER_DELAY = 0" in done.stdout
    assert "START SLAVE UNTIL master_gtid_pos = " in done.stdout
    after = delayed_status(box)
    keys = (
        "Slave_SQL_Running",
        "Slave_IO_Running",
        "SQL_Delay",
        "Exec_Master_Log_Pos",
        "Relay_Log_File",
    )
    assert {k: after[k] for k in keys} == {k: before[k] for k in keys}


def test_bad_input_is_a_clear_error_that_changes_nothing(box: Sandbox, tmp_path: Path) -> None:
    create_shop(box)
    box.sql("primary", "DROP TABLE shop.orders", app=True)
    index(box)
    before = delayed_status(box)
    unknown = box.drkit("recover", "--before", "0-1-999", "--yes")
    assert unknown.returncode == 2 and "not in the index" in unknown.stderr
    unknown_id = box.drkit("recover", "--before", "4242", "--yes")
    assert unknown_id.returncode == 2 and "no transaction #4242" in unknown_id.stderr
    garbage = box.drkit("recover", "--before", "yesterday", "--yes")
    assert garbage.returncode == 2 and "not a target" in garbage.stderr
    both = box.drkit("recover", "--before", "1", "--until-time", "-1h", "--yes")
    assert both.returncode == 2
    text = box.config_file.read_text()
    no_delayed = tmp_path / "nodelayed.toml"
    no_delayed.write_text(
        text.replace('role = "delayed"', 'role = "replica"').replace("delay = 3600\n", "")
    )
    missing = box.drkit("--config", str(no_delayed), "recover", "--before", "1", "--yes")
    assert missing.returncode == 2 and "no node has role" in missing.stderr
    # An applier in an error state is refused.
    box.sql(
        "delayed",
        "STOP SLAVE",
        "SET GLOBAL read_only = OFF",
        "CREATE DATABASE IF NOT EXISTS shop",
        "CREATE TABLE shop.customers (id INT PRIMARY KEY)",
        "SET GLOBAL read_only = ON",
        "CHANGE MASTER TO MASTER_DELAY = 0",
        "START SLAVE",
    )
    wait_for(lambda: delayed_status(box)["Last_SQL_Errno"] != 0, what="a replication error")
    errno = delayed_status(box)["Last_SQL_Errno"]
    broken = box.drkit("recover", "--before", "latest-destructive", "--yes")
    assert broken.returncode == 3
    assert "error state" in broken.stderr and f"({errno}:" in broken.stderr
    assert "Traceback" not in unknown.stderr + broken.stderr + missing.stderr
    assert before["SQL_Delay"] == 3600
    assert delayed_status(box)["Last_SQL_Errno"] == errno, "the refusal changed nothing"


def test_index_behind_the_replica_is_refused(tmp_path: Path) -> None:
    box = start_sandbox(tmp_path / "behind", delay=1)
    try:
        create_shop(box)
        index(box)
        box.sql("primary", "INSERT INTO shop.audit (what) VALUES ('not indexed')", app=True)
        target = box.value("primary", "SELECT @@gtid_binlog_pos")
        wait_for(
            lambda: box.value("delayed", "SELECT @@gtid_slave_pos") == target,
            timeout=15,
            what="the delayed replica to apply everything",
        )
        done = box.drkit("recover", "--until-time", "now", "--yes")
        assert done.returncode == 3
        assert "index" in done.stderr and "behind" in done.stderr
    finally:
        box.down(purge=True)


def test_freeze_is_idempotent_and_resume_restores_the_delay(box: Sandbox) -> None:
    create_shop(box)
    box.sql("primary", "DROP TABLE shop.orders", app=True)
    index(box)
    wait_replica_caught_up(box)
    done, first = drkit_json(box, "freeze", "--yes")
    assert done.returncode == 0, done.stderr
    assert first["was_running"] is True
    assert first["first_destructive"]["destructive"]["class"] == "drop_table"
    assert first["pending"] == first["destructive_distance"] + 1
    assert delayed_status(box)["Slave_SQL_Running"] == "No"
    assert delayed_status(box)["Slave_IO_Running"] == "Yes", "the receiver keeps fetching"
    done, second = drkit_json(box, "freeze", "--yes")
    assert done.returncode == 0 and second["was_running"] is False
    relay_files = sorted(
        p.name for p in (box.directory / "nodes/delayed/data").glob("relay-bin.0*")
    )
    assert relay_files, "relay logs are kept"
    done, _ = recover(box, "--before", "latest-destructive")
    assert done.returncode == 0
    assert delayed_status(box)["SQL_Delay"] == 0
    # Invariant 1: resuming would apply the DROP after the delay: refused until named.
    refused = box.drkit("resume", "--yes")
    assert refused.returncode == 3 and "--through" in refused.stderr
    assert delayed_status(box)["SQL_Delay"] == 0, "the refusal changed nothing"
    drop = latest_destructive(box)["id"]
    resumed = box.drkit("resume", "--yes", "--through", str(drop))
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((box.directory / "drkit-recovery.json").read_text())["status"] == "resumed"
    status = delayed_status(box)
    assert status["SQL_Delay"] == 3600
    assert status["Slave_SQL_Running"] == "Yes" and status["Slave_IO_Running"] == "Yes"
    assert status["Using_Gtid"] == "Slave_Pos"
    assert fingerprint(box, "delayed", "shop.orders") is not None, (
        "the delay keeps the table for now"
    )


def test_resume_refuses_while_a_recovery_is_in_progress(box: Sandbox) -> None:
    state = {
        "node": "delayed",
        "description": "stop just before #9",
        "command": "drkit recover",
        "strategy": "upstream",
        "status": "running",
        "step": 3,
        "steps": 7,
        "started_at": time.time(),
        "updated_at": time.time(),
        "pid": os.getpid(),
        "message": "wait until ...",
    }
    (box.directory / "drkit-recovery.json").write_text(json.dumps(state))
    done = box.drkit("resume", "--yes")
    assert done.returncode == 3 and "in progress" in done.stderr
    assert delayed_status(box)["Slave_SQL_Running"] == "Yes"
    forced = box.drkit("resume", "--yes", "--force")
    assert forced.returncode == 0, forced.stderr


def test_ctrl_c_during_the_catch_up_leaves_the_replica_frozen(tmp_path: Path) -> None:
    box = start_sandbox(tmp_path / "ctrlc", delay=2)
    try:
        create_shop(box, orders=10)
        wait_for(
            lambda: (
                box.value(
                    "delayed",
                    "SELECT COUNT(*) FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA='shop' AND TABLE_NAME='orders'",
                )
                == 1
            ),
            timeout=20,
            what="the delayed replica to create shop.orders",
        )
        wait_for(
            lambda: box.value("delayed", "SELECT COUNT(*) FROM shop.orders") == 10,
            timeout=20,
            what="rows",
        )
        box.sql("delayed", "STOP SLAVE SQL_THREAD")
        conn = box.connect("primary", app=True)
        cur = conn.cursor()
        for i in range(300):
            cur.execute(f"INSERT INTO shop.audit (what) VALUES ('row {i}')")
        cur.execute("UPDATE shop.orders SET note = 'blocked here' WHERE id = 1")
        for i in range(300):
            cur.execute(f"INSERT INTO shop.audit (what) VALUES ('after {i}')")
        conn.close()
        box.sql("primary", "DROP TABLE shop.customers", app=True)
        index(box)
        # A reader on the delayed replica holds the row the backlog updates: the catch-up blocks there,
        # so the interrupt surely arrives while drkit is waiting.
        holder = box.connect("delayed")
        lock = holder.cursor()
        lock.execute("START TRANSACTION")
        lock.execute("SELECT * FROM shop.orders WHERE id = 1 FOR UPDATE")
        lock.fetchall()
        proc = recover_in_background(box, text=True)
        state_file = box.directory / "drkit-recovery.json"
        wait_for_wait_step(state_file)
        wait_for(
            lambda: box.value("delayed", "SELECT COUNT(*) FROM shop.audit") == 300,
            timeout=30,
            what="the applier to reach the locked row",
        )
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        lock.execute("ROLLBACK")
        holder.close()
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 1, stderr
        assert "interrupted by the operator" in stderr and "frozen" in stderr
        assert "Traceback" not in stderr
        status = delayed_status(box)
        assert status["Slave_SQL_Running"] == "No"
        assert json.loads(state_file.read_text())["status"] == "interrupted"
        assert box.value("delayed", "SELECT COUNT(*) FROM shop.audit") < 600, "stopped mid-backlog"
        assert box.value("delayed", "SELECT COUNT(*) FROM shop.customers") == 10
        done, report = recover(box, "--before", "latest-destructive")
        assert done.returncode == 0, done.stderr
        assert report["verified"] is True
        assert box.value("delayed", "SELECT COUNT(*) FROM shop.audit") == 600
        assert box.value("delayed", "SELECT COUNT(*) FROM shop.customers") == 10
    finally:
        box.down(purge=True)


def test_relay_logs_the_upstream_plan_purges_are_kept_aside_and_readable(box: Sandbox) -> None:
    """Upstream recovery drops the relay logs (CHANGE MASTER in GTID mode); the copies drkit
    keeps first must still hold the disaster, readable by the server's own binlog tool."""
    create_shop(box)
    box.sql("primary", "DROP TABLE shop.orders", app=True)
    index(box)
    data = box.directory / "nodes/delayed/data"
    wait_for(
        lambda: (
            delayed_status(box)["Gtid_IO_Pos"] == box.value("primary", "SELECT @@gtid_binlog_pos")
        ),
        what="the delayed replica to receive everything",
    )
    before = {p.name: p.read_bytes() for p in data.glob("relay-bin.0*")}
    done, report = recover(box, "--before", "latest-destructive")
    assert done.returncode == 0, done.stderr
    assert report["strategy"] == "upstream"
    kept = Path(report["relay_backup"])
    # Kept by hard link: once the server purged its relay logs, drkit's names are the only ones
    # left on those files (a file the server still had would count two links).
    assert all((kept / name).stat().st_nlink == 1 for name in before), (
        "the plan's CHANGE MASTER purged the relay logs the copies were taken from"
    )
    for name, content in before.items():
        assert (kept / name).read_bytes() == content, f"{name} kept byte for byte"
    tool = find_program("mariadb-binlog", "mysqlbinlog")
    assert tool is not None
    decoded = subprocess.run(
        [str(tool), *(str(kept / name) for name in sorted(before))],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "DROP TABLE `shop`.`orders`" in decoded
