"""Every MariaDB statement the dialect writes runs on a real server and does what it says."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from drkit.dialect import MariadbDialect
from drkit.io.mysql import Session, connect
from drkit.model.coords import BinlogCoord
from tests.support.sandbox import Sandbox, wait_for
from tests.support.workload import create_shop


@pytest.fixture(scope="module")
def box(module_box: Sandbox) -> Sandbox:
    create_shop(module_box, orders=20)
    return module_box


def session(box: Sandbox, node: str) -> Session:
    # The sandbox's admin account: some statements here (accounts, sql_log_bin) are not drkit's.
    return connect(box.admin_node(node))


def status(s: Session) -> dict[str, Any]:
    return s.one(s.dialect.replica_status()) or {}


def test_reads(box: Sandbox) -> None:
    s = session(box, "primary")
    d = s.dialect
    assert isinstance(d, MariadbDialect)
    variables = s.one(d.node_variables())
    assert variables and variables["server_id"] == 1 and int(variables["read_only"]) == 0
    master = s.one(d.binlog_status())
    assert master and master["File"] == "mysql-bin.000001"
    assert [row["Log_name"] for row in s.rows(d.binlog_files())] == ["mysql-bin.000001"]
    events = s.rows(d.binlog_events("mysql-bin.000001", 4, 3))
    assert events[0]["Event_type"] == "Format_desc" and len(events) == 3
    assert s.one(d.ping()) == {"ok": 1}
    assert {("drkit", "%"), ("repl", "%"), ("app", "%")} <= {
        (r["user"], r["host"]) for r in s.rows(d.accounts())
    }
    assert s.one(d.count_rows("shop.orders")) == {"n": 20}
    checksum = s.one(d.checksum_table("shop.orders"))
    assert checksum and checksum["Checksum"]
    assert s.one(d.table_exists("shop.orders")) == {"n": 1}
    assert s.one(d.table_exists("shop.nothing")) == {"n": 0}
    assert s.one(d.schema_tables("shop")) == {"n": 3}
    assert s.one(d.schema_exists("shop")) == {"n": 1}
    assert (s.one(d.table_type("shop.orders")) or {}).get("kind") == "BASE TABLE"
    create = s.one(d.show_create_table("shop.orders"))
    assert create and "CREATE TABLE `orders`" in create["Create Table"]
    assert s.rows(d.table_triggers("shop.orders")) == []
    assert d.start_applier_before_gtids("0-1-1") is None, "MariaDB 10.11 has no SQL_BEFORE_GTIDS"
    s.close()


def test_waiting_for_a_gtid_on_a_replica(box: Sandbox) -> None:
    """The applier's GTID wait answers 0 at once for an applied transaction, -1 after its timeout
    for one the replica has not applied."""
    s = session(box, "replica")
    d = s.dialect
    applied = str((s.one(d.node_variables()) or {})["gtid_slave_pos"])
    domain, server, seq = applied.split(",", maxsplit=1)[0].split("-")
    assert s.one(d.wait_for_gtid(f"{domain}-{server}-{seq}", 5)) == {"waited": 0}
    started = time.monotonic()
    assert s.one(d.wait_for_gtid(f"{domain}-{server}-{int(seq) + 1000}", 0.2)) == {"waited": -1}
    assert 0.15 <= time.monotonic() - started < 5
    s.close()


def test_replication_control_on_the_delayed_replica(box: Sandbox) -> None:
    s = session(box, "delayed")
    d = s.dialect
    assert isinstance(d, MariadbDialect)
    relay = BinlogCoord(status(s)["Relay_Log_File"], int(status(s)["Relay_Log_Pos"]))
    relay_events = s.rows(d.relaylog_events(relay.file, 4, 5))
    assert relay_events[0]["Event_type"] == "Format_desc"

    s.run(d.stop_applier())
    assert status(s)["Slave_SQL_Running"] == "No" and status(s)["Slave_IO_Running"] == "Yes"
    s.run(d.start_applier())
    assert status(s)["Slave_SQL_Running"] == "Yes"
    s.run(d.stop_receiver())
    assert status(s)["Slave_IO_Running"] == "No"
    s.run(d.start_receiver())
    wait_for(lambda: status(s)["Slave_IO_Running"] == "Yes", what="the receiver")
    s.run(d.stop_replication())
    assert (status(s)["Slave_IO_Running"], status(s)["Slave_SQL_Running"]) == ("No", "No")

    s.run(d.set_parallel_workers(2))
    assert s.one(d.parallel_workers_setting()) == {"workers": 2}
    s.run(d.set_parallel_workers(0))
    assert s.one(d.parallel_workers_setting()) == {"workers": 0}

    s.run(d.change_delay(5))
    assert status(s)["SQL_Delay"] == 5 and status(s)["Using_Gtid"] == "Slave_Pos"
    relay = BinlogCoord(status(s)["Relay_Log_File"], int(status(s)["Relay_Log_Pos"]))
    s.run(d.change_delay(7, relay))
    after = status(s)
    assert after["SQL_Delay"] == 7 and after["Using_Gtid"] == "No", (
        "relay coordinates leave GTID mode"
    )
    assert (after["Relay_Log_File"], int(after["Relay_Log_Pos"])) == (relay.file, relay.pos)

    s.run(d.start_applier_until_relay(relay))
    assert status(s)["Until_Condition"] == "Relay"
    wait_for(
        lambda: status(s)["Slave_SQL_Running"] == "No", what="UNTIL to stop the applier at once"
    )
    s.run(d.resume_with_gtid(3600))
    assert status(s)["Using_Gtid"] == "Slave_Pos" and status(s)["SQL_Delay"] == 3600

    position = str(s.one(d.node_variables())["gtid_slave_pos"])  # type: ignore[index]
    s.run(d.set_gtid_slave_pos(position))
    assert str(s.one(d.node_variables())["gtid_slave_pos"]) == position  # type: ignore[index]

    primary_pos = box.sql("primary", "SHOW MASTER STATUS")[0]
    target = BinlogCoord(primary_pos["File"], int(primary_pos["Position"]))
    s.run(d.start_applier_until_source(target))
    assert (
        status(s)["Until_Condition"] == "Master" and int(status(s)["Until_Log_Pos"]) == target.pos
    )
    s.run(d.stop_replication())
    s.run(d.start_replication_until_source(target))
    assert status(s)["Until_Condition"] == "Master"
    assert status(s)["Slave_IO_Running"] != "No", "both threads start"
    s.run(d.stop_replication())
    s.run(d.start_until_gtid_pos(box.value("primary", "SELECT @@gtid_binlog_pos")))
    assert status(s)["Until_Condition"] == "Gtid"
    s.run(d.stop_replication())
    s.run(d.start_replication())
    assert status(s)["Slave_SQL_Running"] == "Yes"
    s.close()


def test_accounts_read_only_and_session_binlog(box: Sandbox) -> None:
    s = session(box, "primary")
    d = s.dialect
    before = box.value("primary", "SELECT @@gtid_binlog_pos")
    s.run(d.set_session_binlog(False))
    s.run(d.create_user("probe", "%", "pw-1"))
    s.run(d.grant_application("probe", "%"))
    s.run(d.grant_replication("probe", "%"))
    s.run(d.grant_all("probe", "%"))
    s.run(d.create_schema("dialect_probe"))
    assert box.value("primary", "SELECT COUNT(*) FROM mysql.user WHERE User = 'probe'") == 1
    s.run(d.drop_user("probe", "%"))
    s.run(d.set_session_binlog(True))
    assert box.value("primary", "SELECT COUNT(*) FROM mysql.user WHERE User = 'probe'") == 0
    assert box.value("primary", "SELECT @@gtid_binlog_pos") == before, (
        "sql_log_bin=0 kept it out of the binlog"
    )
    for statement in d.set_read_only(True):
        s.run(statement)
    assert box.value("primary", "SELECT @@read_only") == 1
    for statement in d.set_read_only(False):
        s.run(statement)
    assert box.value("primary", "SELECT @@read_only") == 0
    s.close()


def test_reset_and_repoint_the_plain_replica(box: Sandbox) -> None:
    s = session(box, "replica")
    d = s.dialect
    s.run(d.stop_replication())
    s.run(d.reset_replica())
    assert s.rows(d.replica_status()) == []
    s.run(d.reset_binary_logs())
    assert box.value("replica", "SELECT @@gtid_binlog_pos") == ""
    state = box.state
    s.run(d.set_gtid_slave_pos(""))
    s.run(
        d.change_source(
            "127.0.0.1",
            state.nodes["primary"].port,
            state.replication.user,
            state.replication.password,
            delay=0,
        )
    )
    s.run(d.start_replication())
    wait_for(
        lambda: (
            box.value(
                "replica",
                "SELECT COUNT(*) FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = 'dialect_probe'",
            )
            is not None
            and status(s).get("Slave_SQL_Running") == "Yes"
        ),
        what="replication from scratch",
    )
    wait_for(
        lambda: (
            box.value("replica", "SELECT @@gtid_slave_pos")
            == box.value("primary", "SELECT @@gtid_binlog_pos")
        ),
        what="the re-pointed replica to catch up",
    )
    s.close()
    assert Path(box.directory).exists()
