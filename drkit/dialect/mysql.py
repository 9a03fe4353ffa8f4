"""MySQL 8.0 and 8.4 (8.0.23 introduced the SOURCE/REPLICA vocabulary drkit writes)."""

from __future__ import annotations

from drkit.dialect.base import Dialect
from drkit.dialect.sql import Sql, log_file_literal, quote_string, read
from drkit.model.coords import BinlogCoord


class MysqlDialect(Dialect):
    """MySQL 8.0.23+ and 8.4; before 8.0.23 the older MASTER/SLAVE forms are used."""

    @property
    def _modern(self) -> bool:
        return self.version.at_least(8, 0, 23)

    def _verb(self) -> str:
        return "REPLICA" if self._modern else "SLAVE"

    def wait_for_gtid(self, gtid: str, seconds: float) -> Sql:
        # Whole seconds: 1 on timeout.
        timeout = max(1, round(seconds))
        return read(f"SELECT WAIT_FOR_EXECUTED_GTID_SET({quote_string(gtid)}, {timeout}) AS waited")

    def node_variables(self) -> Sql:
        return read(
            "SELECT @@server_id AS server_id, @@read_only AS read_only, "
            "@@super_read_only AS super_read_only, @@gtid_executed AS gtid_executed, "
            "'' AS gtid_slave_pos, '' AS gtid_binlog_pos, @@server_uuid AS server_uuid, "
            "0 AS gtid_domain_id, @@log_bin AS log_bin"
        )

    def session_time_limits(self, seconds: float) -> list[Sql]:
        limit = max(1, int(seconds))
        return [
            Sql(f"SET SESSION lock_wait_timeout = {limit}"),
            Sql(f"SET SESSION max_execution_time = {limit * 1000}"),
        ]

    def replica_status(self) -> Sql:
        return read(f"SHOW {self._verb()} STATUS")

    def binlog_status(self) -> Sql:
        # 8.4 removed SHOW MASTER STATUS; 8.2 introduced its replacement.
        if self.version.at_least(8, 2):
            return read("SHOW BINARY LOG STATUS")
        return read("SHOW MASTER STATUS")

    def stop_applier(self) -> Sql:
        return Sql(f"STOP {self._verb()} SQL_THREAD")

    def start_applier(self) -> Sql:
        return Sql(f"START {self._verb()} SQL_THREAD")

    def stop_receiver(self) -> Sql:
        return Sql(f"STOP {self._verb()} IO_THREAD")

    def start_receiver(self) -> Sql:
        return Sql(f"START {self._verb()} IO_THREAD")

    def stop_replication(self) -> Sql:
        return Sql(f"STOP {self._verb()}")

    def start_replication(self) -> Sql:
        return Sql(f"START {self._verb()}")

    def start_applier_until_source(self, coord: BinlogCoord) -> Sql:
        file_key, pos_key = (
            ("SOURCE_LOG_FILE", "SOURCE_LOG_POS")
            if self._modern
            else ("MASTER_LOG_FILE", "MASTER_LOG_POS")
        )
        return Sql(
            f"START {self._verb()} SQL_THREAD UNTIL "
            f"{file_key} = {log_file_literal(coord.file)}, {pos_key} = {coord.pos}"
        )

    def start_applier_until_relay(self, coord: BinlogCoord) -> Sql:
        return Sql(
            f"START {self._verb()} SQL_THREAD UNTIL "
            f"RELAY_LOG_FILE = {log_file_literal(coord.file)}, RELAY_LOG_POS = {coord.pos}"
        )

    def start_applier_before_gtids(self, gtids: str) -> Sql | None:
        return Sql(
            f"START {self._verb()} SQL_THREAD UNTIL SQL_BEFORE_GTIDS = {quote_string(gtids)}"
        )

    def change_delay(self, seconds: int, relay: BinlogCoord | None = None) -> Sql:
        if self._modern:
            text = f"CHANGE REPLICATION SOURCE TO SOURCE_DELAY = {int(seconds)}"
        else:
            text = f"CHANGE MASTER TO MASTER_DELAY = {int(seconds)}"
        if relay is not None:
            text += (
                f", RELAY_LOG_FILE = {log_file_literal(relay.file)}, RELAY_LOG_POS = {relay.pos}"
            )
        return Sql(text)

    def change_source(self, host: str, port: int, user: str, password: str, delay: int = 0) -> Sql:
        if self._modern:
            head = (
                f"CHANGE REPLICATION SOURCE TO SOURCE_HOST = {quote_string(host)}, "
                f"SOURCE_PORT = {int(port)}, SOURCE_USER = {quote_string(user)}, SOURCE_PASSWORD = "
            )
            tail = f", SOURCE_AUTO_POSITION = 1, SOURCE_DELAY = {int(delay)}, GET_SOURCE_PUBLIC_KEY = 1"
        else:
            head = (
                f"CHANGE MASTER TO MASTER_HOST = {quote_string(host)}, MASTER_PORT = {int(port)}, "
                f"MASTER_USER = {quote_string(user)}, MASTER_PASSWORD = "
            )
            tail = f", MASTER_AUTO_POSITION = 1, MASTER_DELAY = {int(delay)}, GET_MASTER_PUBLIC_KEY = 1"
        return Sql(head + quote_string(password) + tail, redacted=head + "'<redacted>'" + tail)

    def source_tls(self, ca: str | None, cert: str | None, key: str | None, verify: bool) -> Sql:
        """The replica reaches its source over TLS, checking the source's certificate."""
        word = "SOURCE" if self._modern else "MASTER"
        parts = [f"{word}_SSL = 1"]
        if ca:
            parts.append(f"{word}_SSL_CA = {quote_string(ca)}")
        if cert and key:
            parts += [
                f"{word}_SSL_CERT = {quote_string(cert)}",
                f"{word}_SSL_KEY = {quote_string(key)}",
            ]
        parts.append(f"{word}_SSL_VERIFY_SERVER_CERT = {1 if verify else 0}")
        head = "CHANGE REPLICATION SOURCE TO " if self._modern else "CHANGE MASTER TO "
        return Sql(head + ", ".join(parts))

    def reset_replica(self) -> Sql:
        return Sql(f"RESET {self._verb()} ALL")

    def reset_binary_logs(self) -> Sql:
        # 8.4 removed RESET MASTER; 8.2 introduced its replacement.
        if self.version.at_least(8, 2):
            return Sql("RESET BINARY LOGS AND GTIDS")
        return Sql("RESET MASTER")

    def set_read_only(self, on: bool) -> list[Sql]:
        # super_read_only implies read_only when switched on, and must go first when switched off.
        if on:
            return [Sql("SET GLOBAL super_read_only = ON")]
        return [Sql("SET GLOBAL super_read_only = OFF"), Sql("SET GLOBAL read_only = OFF")]

    def parallel_workers_setting(self) -> Sql:
        name = "replica_parallel_workers" if self._modern else "slave_parallel_workers"
        return read(f"SELECT @@{name} AS workers")

    def set_parallel_workers(self, workers: int) -> Sql:
        name = "replica_parallel_workers" if self._modern else "slave_parallel_workers"
        return Sql(f"SET GLOBAL {name} = {int(workers)}")

    def skip_with_empty_transaction(self, gtid: str) -> list[Sql]:
        """Mark a GTID as executed without running it: MySQL's way to skip one transaction."""
        return [
            Sql(f"SET GTID_NEXT = {quote_string(gtid)}"),
            Sql("BEGIN"),
            Sql("COMMIT"),
            Sql("SET GTID_NEXT = 'AUTOMATIC'"),
        ]
