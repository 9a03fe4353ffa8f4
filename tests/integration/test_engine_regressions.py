"""Regressions for the failures issue #12's fault-injection trial reproduced, one test per item.

Each test replays the trial's exact sequence on a real sandbox and judges the outcome by the data
(table fingerprints, row counts, GTID positions), never by a return code alone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import (
    alive,
    catch_up_delayed,
    children_of,
    domain_writes,
    drkit_popen,
    row_lock,
)
from tests.support.sandbox import Sandbox, start_sandbox, wait_for
from tests.support.scenario import run_drkit
from tests.support.workload import (
    create_shop,
    delayed_status,
    drkit_json,
    fingerprint,
    index,
    latest_destructive,
)

REPLICA_KEYS = (
    "Using_Gtid",
    "Slave_IO_Running",
    "Slave_SQL_Running",
    "Relay_Log_File",
    "Relay_Log_Pos",
    "Relay_Master_Log_File",
    "Exec_Master_Log_Pos",
    "SQL_Delay",
)


def recover(box: Sandbox, *args: str, timeout: float = 180) -> tuple[Any, dict[str, Any]]:
    done, data = drkit_json(box, "recover", *args, "--yes", timeout=timeout)
    return done, data if isinstance(data, dict) else {}


def audit_rows(box: Sandbox, count: int, what: str = "row") -> None:
    with closing(box.connect("primary", app=True)) as conn:
        cur = conn.cursor()
        for i in range(count):
            cur.execute(f"INSERT INTO shop.audit (what) VALUES ('{what} {i}')")


def wait_received(box: Sandbox) -> None:
    """Until the delayed replica's receiver holds everything the primary wrote."""
    wait_for(
        lambda: (
            delayed_status(box)["Gtid_IO_Pos"] == box.value("primary", "SELECT @@gtid_binlog_pos")
        ),
        timeout=30,
        what="the delayed replica to receive everything",
    )


def wait_for_step(
    box: Sandbox, words: str, proc: subprocess.Popen[str], timeout: float = 60
) -> None:
    """Until drkit's state file shows the step; fails at once when drkit ended before it."""
    state_file = box.directory / "drkit-recovery.json"

    def there() -> bool:
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"drkit ended (exit {proc.returncode}) first: {out}{err}")
        try:
            return words in json.loads(state_file.read_text()).get("message", "")
        except (OSError, ValueError):
            return False

    wait_for(there, timeout=timeout, what=f"drkit to reach the step '{words}'")


def replica_snapshot(box: Sandbox) -> dict[str, Any]:
    status = delayed_status(box)
    snapshot = {k: status[k] for k in REPLICA_KEYS}
    snapshot["gtid_slave_pos"] = box.value("delayed", "SELECT @@gtid_slave_pos")
    return snapshot


def gtid_set(text: str | None) -> set[str]:
    return {part.strip() for part in (text or "").split(",") if part.strip()}


def assert_resumes_and_converges(box: Sandbox) -> None:
    """Invariant 3: `drkit resume`, then START SLAVE without delay, reach the primary cleanly.

    Resuming would apply the pending destructive transactions: the test names them (--through)."""
    named = [
        arg
        for event in drkit_json(box, "events", "--destructive", "--limit", "100")[1]
        for arg in ("--through", str(event["id"]))
    ]
    resumed = box.drkit("resume", "--yes", *named)
    assert resumed.returncode == 0, resumed.stderr
    status = wait_for(
        lambda: (s := delayed_status(box))["Slave_SQL_Running"] == "Yes" and s,
        timeout=20,
        what="the applier to run after resume",
    )
    assert status["Using_Gtid"] == "Slave_Pos"
    assert status["Last_SQL_Errno"] == 0, status["Last_SQL_Error"]
    assert status["Last_IO_Errno"] == 0, status["Last_IO_Error"]
    box.sql("delayed", "STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 0", "START SLAVE")
    target = box.value("primary", "SELECT @@gtid_binlog_pos")

    def converged() -> bool:
        status = delayed_status(box)
        assert status["Last_SQL_Errno"] == 0, status["Last_SQL_Error"]
        assert status["Last_IO_Errno"] == 0, status["Last_IO_Error"]
        return gtid_set(box.value("delayed", "SELECT @@gtid_slave_pos")) == gtid_set(target)

    wait_for(converged, timeout=60, what="the delayed replica to converge to the primary")


# -- 1. relay recovery, then --skip ---------------------------------------------------------------


def test_skip_after_a_relay_recovery_does_not_apply_the_skipped_drop(box: Sandbox) -> None:
    create_shop(box)
    audit_rows(box, 3, "before")
    orders = fingerprint(box, "primary", "shop.orders")
    box.sql("primary", "DROP TABLE shop.orders", app=True)
    audit_rows(box, 5, "after")
    index(box)
    drop = latest_destructive(box)
    wait_received(box)
    box.kill("primary")
    done, report = recover(box, "--before", "latest-destructive")
    assert done.returncode == 0, done.stderr
    assert report["strategy"] == "relay"
    assert fingerprint(box, "delayed", "shop.orders") == orders
    box.start("primary")
    index(box)
    done, report = recover(box, "--skip", "latest-destructive")
    assert done.returncode == 0, done.stderr
    assert fingerprint(box, "delayed", "shop.orders") == orders, "the skipped DROP was applied"
    assert report["skipped"] == [drop["gtid"]]
    assert box.value("delayed", "SELECT COUNT(*) FROM shop.audit") == 8, "later writes applied"
    assert fingerprint(box, "delayed", "shop.audit") == fingerprint(box, "primary", "shop.audit")
    assert gtid_set(box.value("delayed", "SELECT @@gtid_slave_pos")) == gtid_set(
        box.value("primary", "SELECT @@gtid_binlog_pos")
    )
    resumed = box.drkit("resume", "--yes")
    assert resumed.returncode == 0, resumed.stderr
    status = wait_for(
        lambda: (s := delayed_status(box))["Slave_SQL_Running"] == "Yes" and s, what="resume"
    )
    assert status["Using_Gtid"] == "Slave_Pos" and status["Last_SQL_Errno"] == 0
    assert fingerprint(box, "delayed", "shop.orders") == orders


def test_killed_relay_recovery_rerun_then_skip_keeps_every_later_transaction(
    box: Sandbox,
) -> None:
    create_shop(box)
    catch_up_delayed(box)
    audit_rows(box, 1500, "backlog")
    box.sql("primary", "UPDATE shop.customers SET name = 'blocked' WHERE id = 1", app=True)
    audit_rows(box, 20, "just before")
    orders = fingerprint(box, "primary", "shop.orders")
    audit_before = fingerprint(box, "primary", "shop.audit")
    box.sql("primary", "DROP TABLE shop.orders", app=True)
    audit_rows(box, 20, "later")
    index(box)
    wait_received(box)
    box.kill("primary")
    with row_lock(box, "delayed", "shop.customers", 1):
        proc = drkit_popen(box, "recover", "--before", "latest-destructive", "--yes")
        wait_for_step(box, "wait until", proc)
        time.sleep(0.5)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    done, report = recover(box, "--before", "latest-destructive")
    assert done.returncode == 0, done.stderr
    assert fingerprint(box, "delayed", "shop.orders") == orders
    assert fingerprint(box, "delayed", "shop.audit") == audit_before
    status = delayed_status(box)
    server_says = (
        f"{status['Relay_Master_Log_File']}:{status['Exec_Master_Log_Pos']}",
        f"{status['Relay_Log_File']}:{status['Relay_Log_Pos']}",
    )
    assert report["stopped_at"] is None or any(
        report["stopped_at"].endswith(c) for c in server_says
    ), f"the reported stop point {report['stopped_at']} is not the server's {server_says}"
    box.start("primary")
    index(box)
    done, report = recover(box, "--skip", "latest-destructive")
    assert done.returncode == 0, done.stderr
    assert fingerprint(box, "delayed", "shop.orders") == orders
    assert box.value("delayed", "SELECT COUNT(*) FROM shop.audit") == 1540, (
        "the 20 transactions after the DROP are applied"
    )
    assert fingerprint(box, "delayed", "shop.audit") == fingerprint(box, "primary", "shop.audit")
    assert gtid_set(box.value("delayed", "SELECT @@gtid_slave_pos")) == gtid_set(
        box.value("primary", "SELECT @@gtid_binlog_pos")
    )


# -- 2. plans that cross an unapplied destructive transaction ------------------------------------


def assert_refused_unnamed(done: Any, data: Any, drop: dict[str, Any]) -> None:
    assert done.returncode == 3, (done.returncode, done.stdout, done.stderr)
    assert isinstance(data, dict), f"the refusal is a JSON object on stdout: {done.stdout!r}"
    assert data["exit"] == 3 and data["error"] and "hint" in data
    assert str(drop["id"]) in data["error"] + str(data["hint"]) or drop["gtid"] in (
        data["error"] + str(data["hint"])
    ), "the refusal names the destructive transaction"


def test_until_time_past_an_unapplied_drop_is_refused_unless_named(box: Sandbox) -> None:
    create_shop(box)
    catch_up_delayed(box)
    orders = fingerprint(box, "primary", "shop.orders")
    box.sql("primary", "DROP TABLE shop.orders", app=True)
    audit_rows(box, 3, "after")
    index(box)
    drop = latest_destructive(box)
    before = replica_snapshot(box)
    done, data = drkit_json(box, "recover", "--until-time", "now", "--yes")
    assert_refused_unnamed(done, data, drop)
    assert replica_snapshot(box) == before, "a refusal changes nothing"
    assert fingerprint(box, "delayed", "shop.orders") == orders
    done, report = recover(box, "--until-time", "now", "--through", str(drop["id"]))
    assert done.returncode == 0, done.stderr
    assert report["verified"] is True
    assert fingerprint(box, "delayed", "shop.orders") is None, "named, so applied"
    assert box.value("delayed", "SELECT COUNT(*) FROM shop.audit") == 3
    assert box.value("delayed", "SELECT @@gtid_slave_pos") == box.value(
        "primary", "SELECT @@gtid_binlog_pos"
    )


def test_before_a_later_target_across_an_earlier_drop_is_refused_unless_named(
    box: Sandbox,
) -> None:
    create_shop(box)
    catch_up_delayed(box)
    customers = fingerprint(box, "primary", "shop.customers")
    box.sql("primary", "SET FOREIGN_KEY_CHECKS = 0", "DROP TABLE shop.customers", app=True)
    audit_rows(box, 2, "between")
    box.sql("primary", "DELETE FROM shop.orders", app=True)
    index(box)
    first = drkit_json(box, "events", "--destructive", "--limit", "2")[1][-1]
    assert "customers" in first["statement"]
    before = replica_snapshot(box)
    done, data = drkit_json(box, "recover", "--before", "latest-destructive", "--yes")
    assert_refused_unnamed(done, data, first)
    assert replica_snapshot(box) == before
    assert fingerprint(box, "delayed", "shop.customers") == customers
    done, _ = recover(box, "--before", "latest-destructive", "--through", first["gtid"])
    assert done.returncode == 0, done.stderr
    assert fingerprint(box, "delayed", "shop.customers") is None
    assert box.value("delayed", "SELECT COUNT(*) FROM shop.orders") == 100
    assert box.value("delayed", "SELECT COUNT(*) FROM shop.audit") == 2


def test_skip_to_the_end_across_another_drop_is_refused_unless_named(box: Sandbox) -> None:
    create_shop(box)
    catch_up_delayed(box)
    box.sql("primary", "TRUNCATE TABLE shop.audit", app=True)
    audit_rows(box, 2, "between")
    box.sql("primary", "DROP TABLE shop.orders", app=True)
    index(box)
    truncate, drop = drkit_json(box, "events", "--destructive", "--limit", "2")[1][::-1]
    before = replica_snapshot(box)
    done, data = drkit_json(box, "recover", "--skip", str(truncate["id"]), "--yes")
    assert_refused_unnamed(done, data, drop)
    assert replica_snapshot(box) == before
    assert box.value("delayed", "SELECT COUNT(*) FROM shop.orders") == 100


@pytest.mark.parametrize("interruption", ["kill", "guard"])
def test_rerun_after_an_interruption_continues_to_the_first_target(
    box: Sandbox, interruption: str
) -> None:
    create_shop(box)
    catch_up_delayed(box)
    audit_rows(box, 1500, "backlog")
    box.sql("primary", "UPDATE shop.customers SET name = 'blocked' WHERE id = 1", app=True)
    orders = fingerprint(box, "primary", "shop.orders")
    box.sql("primary", "DELETE FROM shop.orders", app=True)
    index(box)
    first = latest_destructive(box)
    with row_lock(box, "delayed", "shop.customers", 1) as lock:
        proc = drkit_popen(box, "recover", "--before", "latest-destructive", "--yes")
        wait_for_step(box, "wait until", proc)
        # A second disaster arrives while the first recovery runs.
        audit_rows(box, 3, "after the first")
        box.sql("primary", "DROP TABLE shop.audit", app=True)
        if interruption == "kill":
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
        else:
            guard = box.drkit("guard", "--once")
            assert guard.returncode == 0, guard.stderr
            lock.rollback()
            proc.communicate(timeout=120)
            assert proc.returncode != 0, "the guard's freeze interrupted the recovery"
    index(box)
    assert latest_destructive(box)["id"] != first["id"]
    done, report = recover(box, "--before", "latest-destructive")
    assert done.returncode == 0, done.stderr
    assert report["verified"] is True
    assert fingerprint(box, "delayed", "shop.orders") == orders, "stopped before the first target"
    assert box.value("delayed", "SELECT COUNT(*) FROM shop.audit") == 1500
    seq = int(first["gtid"].rsplit("-", 1)[1])
    assert box.value("delayed", "SELECT @@gtid_slave_pos") == f"0-1-{seq - 1}"
    # `drkit resume` drops the recorded target (naming what resuming would apply): the next plan
    # resolves latest-destructive afresh.
    second = latest_destructive(box)
    resumed = box.drkit(
        "resume", "--yes", "--through", str(first["id"]), "--through", str(second["id"])
    )
    assert resumed.returncode == 0, resumed.stderr
    done, report = recover(box, "--before", "latest-destructive", "--through", str(first["id"]))
    assert done.returncode == 0, done.stderr
    assert fingerprint(box, "delayed", "shop.orders") == (0, 0)
    assert box.value("delayed", "SELECT COUNT(*) FROM shop.audit") == 1503


def test_rerun_of_a_skip_killed_after_the_skip_continues(box: Sandbox) -> None:
    """Found by the torture suite (seed 3): the re-run saw the skipped DROP as applied and refused."""
    create_shop(box)
    catch_up_delayed(box)
    orders = fingerprint(box, "primary", "shop.orders")
    box.sql("primary", "DROP TABLE shop.orders", app=True)
    audit_rows(box, 1, "right after")
    box.sql("primary", "UPDATE shop.customers SET name = 'blocked' WHERE id = 1", app=True)
    audit_rows(box, 5, "later")
    index(box)
    with row_lock(box, "delayed", "shop.customers", 1):
        proc = drkit_popen(box, "recover", "--skip", "latest-destructive", "--yes")
        wait_for(
            lambda: box.value("delayed", "SELECT COUNT(*) FROM shop.audit") == 1,
            timeout=60,
            what="the skip to happen and the catch-up to reach the locked row",
        )
        time.sleep(0.3)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    done, report = recover(box, "--skip", "latest-destructive")
    assert done.returncode == 0, done.stderr
    assert report["verified"] is True
    assert fingerprint(box, "delayed", "shop.orders") == orders
    assert fingerprint(box, "delayed", "shop.audit") == fingerprint(box, "primary", "shop.audit")
    assert fingerprint(box, "delayed", "shop.customers") == fingerprint(
        box, "primary", "shop.customers"
    )
    assert gtid_set(box.value("delayed", "SELECT @@gtid_slave_pos")) == gtid_set(
        box.value("primary", "SELECT @@gtid_binlog_pos")
    )


# -- 4. one plan at a time ------------------------------------------------------------------------


def blocked_backlog(box: Sandbox) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    """A backlog whose catch-up blocks on customers #1 while a test holds that row on `delayed`."""
    create_shop(box)
    catch_up_delayed(box)
    audit_rows(box, 200, "backlog")
    box.sql("primary", "UPDATE shop.customers SET name = 'blocked' WHERE id = 1", app=True)
    audit_rows(box, 200, "backlog 2")
    orders = fingerprint(box, "primary", "shop.orders")
    audit = fingerprint(box, "primary", "shop.audit")
    box.sql("primary", "DROP TABLE shop.orders", app=True)
    index(box)
    return orders, audit


def test_two_recoveries_at_once_one_is_refused_naming_the_other(box: Sandbox) -> None:
    orders, audit = blocked_backlog(box)
    with row_lock(box, "delayed", "shop.customers", 1) as lock:
        first = drkit_popen(box, "recover", "--before", "latest-destructive", "--yes", "--json")
        time.sleep(0.4)
        second = drkit_popen(box, "recover", "--before", "latest-destructive", "--yes", "--json")
        time.sleep(3)
        lock.rollback()
        outs = [p.communicate(timeout=120) for p in (first, second)]
    codes = sorted(p.returncode for p in (first, second))
    assert codes == [0, 3], (codes, outs)
    loser = 0 if first.returncode == 3 else 1
    winner_pid = (first, second)[1 - loser].pid
    assert str(winner_pid) in outs[loser][0] + outs[loser][1], "the refusal names the holder's pid"
    report = json.loads(outs[1 - loser][0])
    assert report["verified"] is True
    assert fingerprint(box, "delayed", "shop.orders") == orders
    assert fingerprint(box, "delayed", "shop.audit") == audit
    status = delayed_status(box)
    assert status["Last_SQL_Errno"] == 0, status["Last_SQL_Error"]
    assert_resumes_and_converges(box)


@pytest.mark.parametrize(
    "second",
    [
        ("resume", "--yes"),
        ("extract", "--table", "shop.customers", "--into", "shop.customers_copy", "--yes"),
        ("promote", "--yes", "--force"),
    ],
    ids=["resume", "extract", "promote"],
)
def test_other_commands_during_a_recovery_are_refused(
    box: Sandbox, second: tuple[str, ...]
) -> None:
    orders, audit = blocked_backlog(box)
    with row_lock(box, "delayed", "shop.customers", 1) as lock:
        first = drkit_popen(box, "recover", "--before", "latest-destructive", "--yes", "--json")
        wait_for_step(box, "wait until", first)
        replica = delayed_status(box)
        primary_tables = box.value("primary", "SELECT COUNT(*) FROM information_schema.TABLES")
        primary_ro = box.value("primary", "SELECT @@read_only")
        other = box.drkit(*second)
        assert other.returncode == 3, (other.stdout, other.stderr)
        assert str(first.pid) in other.stdout + other.stderr, "names the holder's pid"
        assert delayed_status(box)["SQL_Delay"] == replica["SQL_Delay"]
        assert box.value("primary", "SELECT COUNT(*) FROM information_schema.TABLES") == (
            primary_tables
        )
        assert box.value("primary", "SELECT @@read_only") == primary_ro
        lock.rollback()
        out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert json.loads(out)["verified"] is True
    assert fingerprint(box, "delayed", "shop.orders") == orders
    assert fingerprint(box, "delayed", "shop.audit") == audit


# -- 5. a refused login is not a dead primary -----------------------------------------------------


@pytest.mark.parametrize("how", ["wrong_password", "unset_password_env"])
def test_refused_login_on_the_primary_is_exit_2_and_changes_nothing(box: Sandbox, how: str) -> None:
    create_shop(box)
    box.sql("primary", "DROP TABLE shop.orders", app=True)
    index(box)
    wait_received(box)
    # Beside the real config, so every relative path (index, archive, relay logs) resolves alike.
    text = box.config_file.read_text()
    head, primary_block = text.split("[nodes.primary]", 1)
    password_line = next(line for line in primary_block.splitlines() if line.startswith("password"))
    replacement = (
        'password = "not-the-password"'
        if how == "wrong_password"
        else 'password_env = "DRKIT_TEST_SURELY_UNSET_PASSWORD"'
    )
    broken = box.directory / "broken.toml"
    broken.write_text(
        head + "[nodes.primary]" + primary_block.replace(password_line, replacement, 1)
    )
    broken.chmod(0o600)
    os.environ.pop("DRKIT_TEST_SURELY_UNSET_PASSWORD", None)
    before = replica_snapshot(box)
    done = run_drkit(broken, "recover", "--before", "latest-destructive", "--yes")
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "relay" not in done.stdout.lower(), "no strategy for a dead primary was picked"
    assert replica_snapshot(box) == before, "the delayed replica is untouched"
    # Only a primary that does not answer is gone: then the relay logs are used.
    box.kill("primary")
    done, report = recover(box, "--before", "latest-destructive")
    assert done.returncode == 0, done.stderr
    assert report["strategy"] == "relay"


# -- 6. archive replays: children die with drkit, GTID bookkeeping in every domain ----------------


def test_kill_during_archive_replay_leaves_no_orphans_and_rerun_is_exact(box: Sandbox) -> None:
    create_shop(box)
    catch_up_delayed(box)
    box.sql("delayed", "STOP SLAVE IO_THREAD")
    audit_rows(box, 300, "archived")
    box.sql("primary", "UPDATE shop.customers SET name = 'blocked' WHERE id = 1", app=True)
    audit_rows(box, 300, "archived 2")
    orders = fingerprint(box, "primary", "shop.orders")
    audit = fingerprint(box, "primary", "shop.audit")
    customers = fingerprint(box, "primary", "shop.customers")
    box.sql("primary", "DELETE FROM shop.orders", app=True)
    index(box)
    drop = latest_destructive(box)
    box.kill("primary")
    with row_lock(box, "delayed", "shop.customers", 1):
        proc = drkit_popen(box, "recover", "--before", "latest-destructive", "--yes")
        kids = wait_for(
            lambda: (
                k
                if {"mariadb-binlog", "mariadb"} <= set((k := children_of(proc.pid)).values())
                else None
            ),
            timeout=60,
            what="the archive replay's mariadb-binlog | mariadb",
        )
        wait_for(
            lambda: box.value("delayed", "SELECT COUNT(*) FROM shop.audit") == 300,
            timeout=30,
            what="the replay to reach the locked row",
        )
        os.kill(proc.pid, signal.SIGKILL)  # drkit only, as the OOM killer or `kill -9 PID` would
        proc.communicate()
        time.sleep(2)
        orphans = {pid: name for pid, name in kids.items() if alive(pid)}
        for pid in orphans:  # do not leave them behind for the next test
            os.kill(pid, signal.SIGKILL)
    assert not orphans, f"children outlived drkit: {orphans}"
    done, report = recover(box, "--before", "latest-destructive")
    assert done.returncode == 0, done.stderr
    assert report["strategy"] == "archive"
    assert fingerprint(box, "delayed", "shop.orders") == orders
    assert fingerprint(box, "delayed", "shop.audit") == audit, "nothing applied twice or lost"
    assert fingerprint(box, "delayed", "shop.customers") == customers
    seq = int(drop["gtid"].rsplit("-", 1)[1])
    assert box.value("delayed", "SELECT @@gtid_slave_pos") == f"0-1-{seq - 1}"
    box.start("primary")
    assert_resumes_and_converges(box)


def test_archive_recovery_records_every_gtid_domain(box: Sandbox) -> None:
    create_shop(box)
    box.sql("primary", "CREATE TABLE shop.other (id INT PRIMARY KEY, v INT)", app=True)
    wait_received(box)
    box.sql("delayed", "STOP SLAVE IO_THREAD")
    last: dict[int, str] = {}
    for round_ in range(20):
        last[0] = domain_writes(box, 0, [f"INSERT INTO shop.audit (what) VALUES ('d0 {round_}')"])[
            -1
        ]
        last[1] = domain_writes(
            box, 1, [f"INSERT INTO shop.other VALUES ({round_}, {round_ * 7})"]
        )[-1]
    orders = fingerprint(box, "primary", "shop.orders")
    other = fingerprint(box, "primary", "shop.other")
    box.sql("primary", "DROP TABLE shop.orders", app=True)
    domain_writes(box, 1, ["INSERT INTO shop.other VALUES (1000, 1)"])
    index(box)
    box.kill("primary")
    done, report = recover(box, "--before", "latest-destructive")
    assert done.returncode == 0, done.stderr
    assert report["strategy"] == "archive"
    assert fingerprint(box, "delayed", "shop.orders") == orders
    assert fingerprint(box, "delayed", "shop.other") == other
    assert gtid_set(box.value("delayed", "SELECT @@gtid_slave_pos")) == {last[0], last[1]}
    binlog = gtid_set(box.value("delayed", "SELECT @@gtid_binlog_pos"))
    assert last[1] in binlog, "the replica's own binlog agrees in domain 1"
    box.start("primary")
    assert_resumes_and_converges(box)
    assert fingerprint(box, "delayed", "shop.other") == fingerprint(box, "primary", "shop.other")


# -- 7. the source dies during an upstream catch-up -----------------------------------------------


def test_primary_killed_during_upstream_catch_up_stops_within_the_stall_time(
    tmp_path: Path,
) -> None:
    # The relay-log space limit keeps the receiver well behind the target while the applier is
    # blocked, so the target is only on the primary when it dies.
    box = start_sandbox(
        tmp_path / "stall",
        delay=3600,
        server_options={"relay-log-space-limit": "1M", "max-relay-log-size": "262144"},
    )
    try:
        create_shop(box, orders=10)
        box.sql("primary", "CREATE TABLE shop.big (id INT PRIMARY KEY, pad TEXT)", app=True)
        catch_up_delayed(box)
        box.sql("primary", "UPDATE shop.customers SET name = 'blocked' WHERE id = 1", app=True)
        conn = box.connect("primary", app=True)
        cur = conn.cursor()
        for i in range(400):
            cur.execute(f"INSERT INTO shop.big VALUES ({i}, REPEAT('x', 16000))")
        conn.close()
        box.sql("primary", "DROP TABLE shop.orders", app=True)
        index(box)
        stall = 5.0
        with row_lock(box, "delayed", "shop.customers", 1) as lock:
            proc = drkit_popen(
                box,
                "recover",
                "--before",
                "latest-destructive",
                "--yes",
                "--stall",
                str(stall),
                "--timeout",
                "90",
            )
            wait_for_step(box, "wait until", proc)
            time.sleep(1)
            box.kill("primary")
            killed_at = time.monotonic()
            lock.rollback()
            out, err = proc.communicate(timeout=150)
        elapsed = time.monotonic() - killed_at
        assert proc.returncode not in (0, None), (out, err)
        assert elapsed < stall + 20, f"drkit waited {elapsed:.0f}s after the primary died"
        assert "Traceback" not in err
        assert any(w in err.lower() for w in ("primary", "source", "progress", "stall")), err
        assert delayed_status(box)["Slave_SQL_Running"] == "No", "left frozen"
        assert box.value("delayed", "SELECT COUNT(*) FROM shop.orders") == 10
    finally:
        box.down(purge=True)
