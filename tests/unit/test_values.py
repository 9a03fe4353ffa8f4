"""Versions, binlog coordinates, GTIDs and replica status rows parsed into values."""

from __future__ import annotations

import pytest

from drkit.model.coords import BinlogCoord, file_sequence
from drkit.model.gtid import (
    MariadbGtid,
    MariadbGtidPos,
    MysqlGtid,
    MysqlGtidSet,
    looks_like_gtid,
    parse_gtid,
)
from drkit.model.replica import ReplicaStatus
from drkit.model.version import Flavour, ServerVersion

UUID = "3e11fa47-71ca-11e1-9e33-c80aa9429562"


@pytest.mark.parametrize(
    ("text", "comment", "flavour", "number"),
    [
        ("10.11.6-MariaDB-0+deb12u1-log", "", Flavour.MARIADB, (10, 11, 6)),
        ("5.5.5-10.5.23-MariaDB", "", Flavour.MARIADB, (10, 5, 23)),
        ("11.4.2-MariaDB-ubu2404", "mariadb.org binary distribution", Flavour.MARIADB, (11, 4, 2)),
        ("10.6.16", "MariaDB Server", Flavour.MARIADB, (10, 6, 16)),
        ("8.0.36", "MySQL Community Server - GPL", Flavour.MYSQL, (8, 0, 36)),
        ("8.4.0-commercial", "MySQL Enterprise Server", Flavour.MYSQL, (8, 4, 0)),
        ("8.0.35-27", "Percona Server (GPL)", Flavour.MYSQL, (8, 0, 35)),
    ],
)
def test_version_parsing(
    text: str, comment: str, flavour: Flavour, number: tuple[int, int, int]
) -> None:
    version = ServerVersion.parse(text, comment)
    assert version.flavour is flavour
    assert version.number == number
    assert version.text == text


def test_version_comparisons_are_numeric_not_textual() -> None:
    assert ServerVersion.parse("10.11.2-MariaDB").at_least(10, 5)
    assert not ServerVersion.parse("10.9.8-MariaDB").at_least(10, 11)
    assert ServerVersion.parse("8.0.23").at_least(8, 0, 23)
    assert not ServerVersion.parse("8.0.9").at_least(8, 0, 23)


@pytest.mark.parametrize("text", ["", "MariaDB", "ten.eleven", "8"])
def test_version_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="not a server version"):
        ServerVersion.parse(text)


def test_coordinates_order_by_file_number_then_position() -> None:
    assert BinlogCoord("mysql-bin.000009", 900) < BinlogCoord("mysql-bin.000010", 4)
    assert BinlogCoord("mysql-bin.000010", 4) < BinlogCoord("mysql-bin.000010", 5)
    assert BinlogCoord.parse("relay-bin.000002:627") == BinlogCoord("relay-bin.000002", 627)
    assert str(BinlogCoord("a.000001", 4)) == "a.000001:4"
    assert file_sequence("mysql-bin.1000000") == 1000000
    with pytest.raises(ValueError):
        BinlogCoord.parse("mysql-bin.000001")
    with pytest.raises(ValueError):
        BinlogCoord("mysql-bin", 4)


def test_gtid_parsing_both_flavours() -> None:
    assert parse_gtid("0-1-28") == MariadbGtid(0, 1, 28)
    assert parse_gtid(f"{UUID.upper()}:28") == MysqlGtid(UUID, 28)
    assert looks_like_gtid("1-2-3") and looks_like_gtid(f"{UUID}:1")
    for bad in ("0-1", "28", "uuid:28", "0-1-x", f"{UUID}:"):
        assert not looks_like_gtid(bad)
        with pytest.raises(ValueError, match="not a GTID"):
            parse_gtid(bad)


def test_mariadb_position_keeps_the_latest_per_domain() -> None:
    pos = MariadbGtidPos.parse("0-1-100,1-2-5,0-3-90")
    assert str(pos) == "0-1-100,1-2-5"
    assert pos.contains(MariadbGtid(0, 1, 100))
    assert pos.contains(MariadbGtid(0, 2, 99))
    assert not pos.contains(MariadbGtid(0, 1, 101))
    assert not pos.contains(MariadbGtid(2, 1, 1))
    assert not MariadbGtidPos.parse("").contains(MariadbGtid(0, 1, 1))
    moved = pos.with_gtid(MariadbGtid(0, 1, 120))
    assert str(moved) == "0-1-120,1-2-5"


def test_mysql_gtid_set_intervals() -> None:
    other = "4e11fa47-71ca-11e1-9e33-c80aa9429562"
    gset = MysqlGtidSet.parse(f"{UUID}:1-5:7-9,\n{other}:3")
    assert gset.contains(MysqlGtid(UUID, 5))
    assert not gset.contains(MysqlGtid(UUID, 6))
    assert gset.contains(MysqlGtid(UUID, 8))
    assert gset.contains(MysqlGtid(other, 3))
    assert not gset.contains(MysqlGtid(other, 4))
    assert not gset.contains(MariadbGtid(0, 1, 1))
    assert str(MysqlGtidSet.parse(f"{UUID}:1-3:4-6:9")) == f"{UUID}:1-6:9"


MARIADB_ROW = {
    "Slave_IO_State": "Waiting for master to send event",
    "Master_Host": "127.0.0.1",
    "Master_Port": 13306,
    "Master_Log_File": "mysql-bin.000003",
    "Read_Master_Log_Pos": 9120,
    "Relay_Log_File": "relay-bin.000004",
    "Relay_Log_Pos": 711,
    "Relay_Master_Log_File": "mysql-bin.000003",
    "Slave_IO_Running": "Yes",
    "Slave_SQL_Running": "No",
    "Exec_Master_Log_Pos": 4410,
    "Until_Condition": "Master",
    "Last_IO_Error": "",
    "Last_SQL_Errno": 1146,
    "Last_SQL_Error": "Table 'shop.orders' doesn't exist",
    "Seconds_Behind_Master": None,
    "Using_Gtid": "Slave_Pos",
    "Gtid_IO_Pos": "0-1-40",
    "SQL_Delay": 3600,
    "SQL_Remaining_Delay": None,
    "Slave_SQL_Running_State": "",
    "Parallel_Mode": "optimistic",
}

MYSQL_ROW = {
    "Source_Host": "10.0.0.1",
    "Source_Port": 3306,
    "Source_Log_File": "binlog.000002",
    "Read_Source_Log_Pos": 5000,
    "Relay_Log_File": "relay.000003",
    "Relay_Log_Pos": 400,
    "Relay_Source_Log_File": "binlog.000002",
    "Replica_IO_Running": "Connecting",
    "Replica_SQL_Running": "Yes",
    "Exec_Source_Log_Pos": 4800,
    "Seconds_Behind_Source": 12,
    "SQL_Delay": 600,
    "SQL_Remaining_Delay": 588,
    "Replica_SQL_Running_State": "Waiting until SOURCE_DELAY seconds after source executed event",
    "Last_IO_Error": "error connecting to source",
    "Last_SQL_Error": "",
    "Retrieved_Gtid_Set": f"{UUID}:1-\n40",
    "Auto_Position": 1,
    "Until_Condition": "None",
}


def test_replica_status_from_mariadb_row() -> None:
    status = ReplicaStatus.from_row(MARIADB_ROW)
    assert status.receiver_running and not status.applier_running
    assert status.executed_source == BinlogCoord("mysql-bin.000003", 4410)
    assert status.read_source == BinlogCoord("mysql-bin.000003", 9120)
    assert status.relay == BinlogCoord("relay-bin.000004", 711)
    assert status.sql_delay == 3600 and status.sql_remaining_delay is None
    assert (
        status.last_error == "Table 'shop.orders' doesn't exist" and status.last_sql_errno == 1146
    )
    assert status.using_gtid == "Slave_Pos" and status.received_gtids == "0-1-40"


def test_replica_status_from_mysql_row() -> None:
    status = ReplicaStatus.from_row(MYSQL_ROW)
    assert status.receiver_state == "Connecting" and not status.receiver_running
    assert status.applier_running
    assert status.executed_source == BinlogCoord("binlog.000002", 4800)
    assert status.seconds_behind == 12 and status.sql_remaining_delay == 588
    assert status.using_gtid == "Yes"
    assert status.received_gtids == f"{UUID}:1-40"
    assert status.last_error == "error connecting to source"


TAGGED_UUID = "3e11fa47-71ca-11e1-9e33-c80aa9429562"


def test_a_tagged_mysql_gtid_is_its_own_source_in_a_set() -> None:
    """MySQL 8.3+: `uuid:tag:n`; a set counts each tag's numbers apart (`uuid:1-5:tag:1-3`)."""
    tagged = parse_gtid(f"{TAGGED_UUID}:Nightly:5")
    assert tagged == MysqlGtid(f"{TAGGED_UUID}:nightly", 5)
    assert str(tagged) == f"{TAGGED_UUID}:nightly:5"
    gtids = MysqlGtidSet.parse(f"{TAGGED_UUID}:1-5:nightly:1-3:b2:7,{TAGGED_UUID}:9")
    assert gtids.contains(parse_gtid(f"{TAGGED_UUID}:nightly:3"))
    assert not gtids.contains(tagged)  # the tag's numbers stop at 3, the untagged ones go to 9
    assert gtids.contains(parse_gtid(f"{TAGGED_UUID}:5"))
    assert gtids.contains(parse_gtid(f"{TAGGED_UUID}:b2:7"))
    assert MysqlGtidSet.parse(str(gtids)).intervals == gtids.intervals
