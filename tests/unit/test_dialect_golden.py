"""Golden SQL per flavour and version: the exact text drkit sends for each operation."""

from __future__ import annotations

import pytest

from drkit.dialect import MariadbDialect, MysqlDialect, for_version
from drkit.dialect.base import Dialect
from drkit.dialect.sql import quote_ident, quote_string, quote_table
from drkit.model.coords import BinlogCoord
from drkit.model.version import ServerVersion

SRC = BinlogCoord("mysql-bin.000003", 4410)
RELAY = BinlogCoord("relay-bin.000004", 711)


def ops(d: Dialect) -> dict[str, str]:
    """Every operation rendered once, keyed by a short name."""
    rendered = {
        "replica_status": str(d.replica_status()),
        "binlog_status": str(d.binlog_status()),
        "stop_applier": str(d.stop_applier()),
        "start_applier": str(d.start_applier()),
        "stop_receiver": str(d.stop_receiver()),
        "start_receiver": str(d.start_receiver()),
        "stop_replication": str(d.stop_replication()),
        "start_replication": str(d.start_replication()),
        "until_source": str(d.start_applier_until_source(SRC)),
        "until_relay": str(d.start_applier_until_relay(RELAY)),
        "before_gtids": str(d.start_applier_before_gtids("0-1-28")),
        "delay": str(d.change_delay(0)),
        "delay_relay": str(d.change_delay(3600, RELAY)),
        "read_only_on": " ; ".join(map(str, d.set_read_only(True))),
        "read_only_off": " ; ".join(map(str, d.set_read_only(False))),
        "reset": str(d.reset_replica()),
        "workers": str(d.parallel_workers_setting()),
        "set_workers": str(d.set_parallel_workers(4)),
        "wait_gtid": str(d.wait_for_gtid("0-1-28", 0.5)),
    }
    return rendered


MARIADB_COMMON = {
    "replica_status": "SHOW SLAVE STATUS",
    "binlog_status": "SHOW MASTER STATUS",
    "stop_applier": "STOP SLAVE SQL_THREAD",
    "start_applier": "START SLAVE SQL_THREAD",
    "stop_receiver": "STOP SLAVE IO_THREAD",
    "start_receiver": "START SLAVE IO_THREAD",
    "stop_replication": "STOP SLAVE",
    "start_replication": "START SLAVE",
    "until_source": "START SLAVE SQL_THREAD UNTIL MASTER_LOG_FILE = 'mysql-bin.000003', MASTER_LOG_POS = 4410",
    "until_relay": "START SLAVE SQL_THREAD UNTIL RELAY_LOG_FILE = 'relay-bin.000004', RELAY_LOG_POS = 711",
    "before_gtids": "None",
    "delay": "CHANGE MASTER TO MASTER_DELAY = 0",
    "delay_relay": "CHANGE MASTER TO MASTER_DELAY = 3600, RELAY_LOG_FILE = 'relay-bin.000004', RELAY_LOG_POS = 711",
    "read_only_on": "SET GLOBAL read_only = ON",
    "read_only_off": "SET GLOBAL read_only = OFF",
    "reset": "RESET SLAVE ALL",
    "workers": "SELECT @@slave_parallel_threads AS workers",
    "set_workers": "SET GLOBAL slave_parallel_threads = 4",
    "wait_gtid": "SELECT MASTER_GTID_WAIT('0-1-28', 0.5) AS waited",
}

MYSQL_84 = {
    "replica_status": "SHOW REPLICA STATUS",
    "binlog_status": "SHOW BINARY LOG STATUS",
    "stop_applier": "STOP REPLICA SQL_THREAD",
    "start_applier": "START REPLICA SQL_THREAD",
    "stop_receiver": "STOP REPLICA IO_THREAD",
    "start_receiver": "START REPLICA IO_THREAD",
    "stop_replication": "STOP REPLICA",
    "start_replication": "START REPLICA",
    "until_source": "START REPLICA SQL_THREAD UNTIL SOURCE_LOG_FILE = 'mysql-bin.000003', SOURCE_LOG_POS = 4410",
    "until_relay": "START REPLICA SQL_THREAD UNTIL RELAY_LOG_FILE = 'relay-bin.000004', RELAY_LOG_POS = 711",
    "before_gtids": "START REPLICA SQL_THREAD UNTIL SQL_BEFORE_GTIDS = '0-1-28'",
    "delay": "CHANGE REPLICATION SOURCE TO SOURCE_DELAY = 0",
    "delay_relay": "CHANGE REPLICATION SOURCE TO SOURCE_DELAY = 3600, RELAY_LOG_FILE = 'relay-bin.000004', RELAY_LOG_POS = 711",
    "read_only_on": "SET GLOBAL super_read_only = ON",
    "read_only_off": "SET GLOBAL super_read_only = OFF ; SET GLOBAL read_only = OFF",
    "reset": "RESET REPLICA ALL",
    "workers": "SELECT @@replica_parallel_workers AS workers",
    "set_workers": "SET GLOBAL replica_parallel_workers = 4",
    "wait_gtid": "SELECT WAIT_FOR_EXECUTED_GTID_SET('0-1-28', 1) AS waited",
}

GOLDEN = {
    "10.5.23-MariaDB": MARIADB_COMMON,
    "10.11.6-MariaDB-0+deb12u1-log": MARIADB_COMMON,
    "11.4.2-MariaDB": {
        **MARIADB_COMMON,
        "before_gtids": "START SLAVE SQL_THREAD UNTIL SQL_BEFORE_GTIDS = '0-1-28'",
    },
    "8.0.36": {**MYSQL_84, "binlog_status": "SHOW MASTER STATUS"},
    "8.4.0": MYSQL_84,
}


@pytest.mark.parametrize("version", list(GOLDEN))
def test_golden_sql(version: str) -> None:
    dialect = for_version(ServerVersion.parse(version))
    assert ops(dialect) == GOLDEN[version]


def test_flavour_selection_and_refusals() -> None:
    assert isinstance(for_version(ServerVersion.parse("10.11.6-MariaDB")), MariadbDialect)
    assert isinstance(for_version(ServerVersion.parse("8.4.0")), MysqlDialect)
    with pytest.raises(ValueError, match=r"older than MariaDB 10\.5"):
        for_version(ServerVersion.parse("10.4.30-MariaDB"))
    with pytest.raises(ValueError, match=r"older than MySQL 8\.0"):
        for_version(ServerVersion.parse("5.7.44"))


def test_mysql_before_8_0_23_uses_the_old_vocabulary() -> None:
    d = for_version(ServerVersion.parse("8.0.20"))
    assert str(d.stop_applier()) == "STOP SLAVE SQL_THREAD"
    assert str(d.change_delay(5)) == "CHANGE MASTER TO MASTER_DELAY = 5"
    assert str(d.start_applier_until_source(SRC)) == (
        "START SLAVE SQL_THREAD UNTIL MASTER_LOG_FILE = 'mysql-bin.000003', MASTER_LOG_POS = 4410"
    )


@pytest.mark.parametrize("version", ["10.11.6-MariaDB", "8.4.0", "8.0.36"])
def test_passwords_are_redacted_when_printed(version: str) -> None:
    d = for_version(ServerVersion.parse(version))
    change = d.change_source("db1", 3306, "repl", "s3cr'et", delay=60)
    assert "s3cr" not in str(change) and "<redacted>" in str(change)
    assert "'s3cr''et'" in change.text
    user = d.create_user("app", "%", "hunter2")
    assert "hunter2" not in str(user) and "'hunter2'" in user.text


def test_mariadb_change_source_golden() -> None:
    d = for_version(ServerVersion.parse("10.11.6-MariaDB"))
    assert str(d.change_source("127.0.0.1", 13306, "repl", "x", delay=3600)) == (
        "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = 13306, MASTER_USER = 'repl', "
        "MASTER_PASSWORD = '<redacted>', MASTER_USE_GTID = slave_pos, MASTER_DELAY = 3600"
    )
    assert isinstance(d, MariadbDialect)
    assert str(d.set_gtid_slave_pos("0-1-29")) == "SET GLOBAL gtid_slave_pos = '0-1-29'"
    assert str(d.start_until_gtid_pos("0-1-27")) == "START SLAVE UNTIL master_gtid_pos = '0-1-27'"


def test_mysql_skip_is_an_empty_transaction() -> None:
    d = for_version(ServerVersion.parse("8.4.0"))
    assert isinstance(d, MysqlDialect)
    uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
    assert [str(s) for s in d.skip_with_empty_transaction(f"{uuid}:28")] == [
        f"SET GTID_NEXT = '{uuid}:28'",
        "BEGIN",
        "COMMIT",
        "SET GTID_NEXT = 'AUTOMATIC'",
    ]


def test_quoting() -> None:
    assert quote_ident("or`ders") == "`or``ders`"
    assert quote_table("shop.orders") == "`shop`.`orders`"
    assert quote_string("it's a \\ test") == "'it''s a \\\\ test'"
    with pytest.raises(ValueError):
        quote_ident("")
    d = for_version(ServerVersion.parse("10.11.6-MariaDB"))
    with pytest.raises(ValueError, match="not a binlog file name"):
        d.start_applier_until_source(BinlogCoord("x'; DROP TABLE t; --.000001", 4))
    assert str(d.checksum_table("shop.orders")) == "CHECKSUM TABLE `shop`.`orders` EXTENDED"
    assert not d.checksum_table("shop.orders").changes
    assert d.stop_applier().changes
