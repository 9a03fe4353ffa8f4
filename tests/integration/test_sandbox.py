"""The sandbox is a real topology: three servers, replicating, the delayed one behind by its delay."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest

from drkit.sandbox import topology
from tests.support.sandbox import Sandbox, pids_alive, start_sandbox, wait_for

DELAY = 4


@pytest.fixture(scope="module")
def short_delay(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    box = start_sandbox(tmp_path_factory.mktemp("short"), delay=DELAY)
    try:
        yield box
    finally:
        box.down(purge=True)


def test_three_nodes_replicate_and_the_delayed_one_waits(short_delay: Sandbox) -> None:
    box = short_delay
    assert [box.value(n, "SELECT @@server_id") for n in ("primary", "replica", "delayed")] == [
        1,
        2,
        3,
    ]
    assert box.value("primary", "SELECT @@read_only") == 0
    assert box.value("replica", "SELECT @@read_only") == 1
    assert box.value("delayed", "SELECT @@read_only") == 1
    assert box.replica_status("delayed")["SQL_Delay"] == DELAY
    assert box.replica_status("replica")["SQL_Delay"] == 0

    box.sql(
        "primary",
        "CREATE DATABASE IF NOT EXISTS t1",
        "CREATE TABLE t1.marks (id INT PRIMARY KEY, note VARCHAR(20))",
        "INSERT INTO t1.marks VALUES (1, 'one'), (2, 'two')",
        app=True,
    )
    written_at = time.monotonic()
    primary_gtid = box.value("primary", "SELECT @@gtid_binlog_pos")

    def replica_rows() -> int:
        tables = "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='t1'"
        if not box.value("replica", tables):
            return 0
        return int(box.value("replica", "SELECT COUNT(*) FROM t1.marks"))

    wait_for(lambda: replica_rows() == 2, timeout=5, what="rows on the replica")
    assert time.monotonic() - written_at < DELAY, "the replica should not wait for the delay"
    assert box.value("replica", "SELECT @@gtid_slave_pos") == primary_gtid
    # The delayed replica has received the transactions but not applied them yet.
    assert (
        box.value(
            "delayed", "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME='t1'"
        )
        == 0
    )
    status = box.replica_status("delayed")
    assert status["Gtid_IO_Pos"] == primary_gtid
    remaining = wait_for(
        lambda: box.replica_status("delayed")["SQL_Remaining_Delay"],
        timeout=DELAY,
        what="a remaining delay on the delayed replica",
    )
    assert 0 < remaining <= DELAY

    wait_for(
        lambda: box.value("delayed", "SELECT @@gtid_slave_pos") == primary_gtid,
        timeout=DELAY + 10,
        what="the delayed replica catching up",
    )
    assert time.monotonic() - written_at >= DELAY - 1
    assert box.sql("delayed", "SELECT id, note FROM t1.marks ORDER BY id") == [
        {"id": 1, "note": "one"},
        {"id": 2, "note": "two"},
    ]


def test_status_json_matches_the_servers(short_delay: Sandbox) -> None:
    box = short_delay
    box.sql("primary", "CREATE DATABASE IF NOT EXISTS t2", app=True)
    gtid = box.value("primary", "SELECT @@gtid_binlog_pos")
    wait_for(
        lambda: box.value("replica", "SELECT @@gtid_slave_pos") == gtid, timeout=5, what="replica"
    )
    done = box.drkit("status", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    nodes = {n["name"]: n for n in report["nodes"]}
    assert set(nodes) == {"primary", "replica", "delayed"}
    for name, node in nodes.items():
        assert node["reachable"] is True
        assert node["flavour"] == "mariadb"
        assert node["version"] == box.value(name, "SELECT VERSION()")
        assert node["server_id"] == box.value(name, "SELECT @@server_id")
        assert node["read_only"] is bool(box.value(name, "SELECT @@read_only"))
    assert nodes["primary"]["gtid_executed"] == gtid
    master = box.sql("primary", "SHOW MASTER STATUS")[0]
    assert nodes["primary"]["binlog"] == f"{master['File']}:{master['Position']}"
    assert nodes["primary"]["replication"] is None
    delayed = nodes["delayed"]
    assert delayed["configured_delay"] == DELAY
    assert delayed["replication"]["sql_delay"] == DELAY
    assert (
        delayed["replication"]["receiver"] == "Yes"
        and delayed["replication"]["applier_running"] is True
    )
    assert delayed["replication"]["source"] == f"127.0.0.1:{box.port('primary')}"
    assert nodes["replica"]["replication"]["executed_source"] == nodes["primary"]["binlog"]


def test_human_status_is_a_table(short_delay: Sandbox) -> None:
    done = short_delay.drkit("status")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:4] == ["NODE", "ROLE", "STATE", "VERSION"]
    assert [line.split()[0] for line in lines[1:4]] == ["primary", "replica", "delayed"]
    assert all(line.split()[2] == "up" for line in lines[1:4])


def test_up_again_reports_it_and_changes_nothing(short_delay: Sandbox) -> None:
    box = short_delay
    before_pids = {name: node.pid for name, node in box.state.nodes.items()}
    before_config = box.config_file.read_bytes()
    done = box.drkit("sandbox", "up", "--dir", str(box.directory))
    assert done.returncode == 0, done.stderr
    assert "already running" in done.stdout
    as_json = box.drkit("sandbox", "up", "--dir", str(box.directory), "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["already_running"] is True
    assert {name: node.pid for name, node in box.state.nodes.items()} == before_pids
    assert box.config_file.read_bytes() == before_config


def test_files_holding_passwords_are_private(short_delay: Sandbox) -> None:
    box = short_delay
    for path in (box.config_file, box.directory / "sandbox.json", box.directory / "app.cnf"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    config = box.config()
    assert config.node("delayed").delay == DELAY
    assert config.node("delayed").relay_log_dir == box.directory.resolve() / "nodes/delayed/data"
    assert (config.node("delayed").relay_log_dir / "relay-bin.index").exists()


def test_replication_account_has_only_replication_rights(short_delay: Sandbox) -> None:
    grants = box_grants(short_delay, "repl")
    assert grants == ["GRANT REPLICATION SLAVE ON *.* TO `repl`@`%`"]
    app = box_grants(short_delay, "app")
    assert "ALL PRIVILEGES" not in app[0] and "SUPER" not in app[0] and "INSERT" in app[0]


def box_grants(box: Sandbox, user: str) -> list[str]:
    rows = box.sql("primary", f"SHOW GRANTS FOR '{user}'@'%'")
    return [next(iter(row.values())).split(" IDENTIFIED BY")[0] for row in rows]


def test_wrong_password_is_a_clear_config_error(short_delay: Sandbox, tmp_path: Path) -> None:
    text = short_delay.config_file.read_text()
    real = short_delay.state.tool_account.password
    bad = tmp_path / "drkit.toml"
    bad.write_text(text.replace(real, "not-the-password"))
    done = short_delay.drkit("--config", str(bad), "status")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "login refused for user 'drkit'" in done.stderr
    assert "Access denied" in done.stderr
    assert "not-the-password" not in done.stderr + done.stdout
    # A refused login is said as such, not as a dead server.
    assert "LOGIN REFUSED" in done.stdout and "UNREACHABLE" not in done.stdout


def test_killed_node_shows_unreachable_and_status_still_reports(tmp_path: Path) -> None:
    box = start_sandbox(tmp_path / "kill", delay=60)
    try:
        box.kill("replica")
        started = time.monotonic()
        done = box.drkit("status", "--json")
        # A node down is a failure a monitor must see (exit 1); the report is complete anyway.
        assert done.returncode == 1, done.stderr
        assert "not answering: replica" in done.stderr
        assert time.monotonic() - started < 30
        nodes = {n["name"]: n for n in json.loads(done.stdout)["nodes"]}
        assert nodes["replica"]["reachable"] is False
        assert "unreachable" in nodes["replica"]["unreachable_reason"]
        assert nodes["primary"]["reachable"] and nodes["delayed"]["reachable"]
        # `up` restarts what died and keeps the data.
        box.sql("primary", "CREATE DATABASE after_kill", app=True)
        topology.up(box.directory)
        wait_for(
            lambda: (
                box.value(
                    "replica",
                    "SELECT COUNT(*) FROM information_schema.SCHEMATA "
                    "WHERE SCHEMA_NAME='after_kill'",
                )
                == 1
            ),
            timeout=10,
            what="catch-up",
        )
    finally:
        box.down(purge=True)


def test_down_stops_every_process_and_purge_removes_data(tmp_path: Path) -> None:
    directory = tmp_path / "down"
    box = start_sandbox(directory, delay=60)
    pids = [node.pid for node in box.state.nodes.values()]
    assert len(pids_alive(pids)) == 3
    done = box.drkit("sandbox", "down", "--dir", str(directory))
    assert done.returncode == 0, done.stderr
    assert pids_alive(pids) == []
    assert (directory / "nodes" / "primary" / "data").exists(), (
        "down without --purge keeps the data"
    )
    # Up again resumes the same data.
    topology.up(directory)
    assert box.value("primary", "SELECT @@server_id") == 1
    pids = [node.pid for node in box.state.nodes.values()]
    done = box.drkit("sandbox", "down", "--dir", str(directory), "--purge")
    assert done.returncode == 0, done.stderr
    assert pids_alive(pids) == []
    assert not (directory / "nodes").exists()
    assert not (directory / "drkit.toml").exists()


def test_sandbox_up_takes_seconds(tmp_path: Path) -> None:
    # Not a timing assertion on the machine: a sanity bound far above the measured ~1 s.
    started = time.monotonic()
    box = start_sandbox(tmp_path / "quick", delay=60)
    try:
        assert time.monotonic() - started < 120
        assert box.replica_status("delayed")["Slave_SQL_Running"] == "Yes"
    finally:
        box.down()
