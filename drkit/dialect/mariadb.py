"""MariaDB 10.5 to 11.x."""

from __future__ import annotations

from drkit.dialect.base import Dialect
from drkit.dialect.sql import Sql, log_file_literal, quote_string, read
from drkit.model.coords import BinlogCoord
from drkit.model.gtid import MariadbGtidPos


class MariadbDialect(Dialect):
    """MariaDB keeps the SLAVE/MASTER vocabulary everywhere drkit needs it."""

    def wait_for_gtid(self, gtid: str, seconds: float) -> Sql:
        # Waits on gtid_slave_pos, which the applier moves (-1 on timeout).
        return read(f"SELECT MASTER_GTID_WAIT({quote_string(gtid)}, {seconds:g}) AS waited")

    def node_variables(self) -> Sql:
        return read(
            "SELECT @@server_id AS server_id, @@read_only AS read_only, NULL AS super_read_only, "
            "@@gtid_current_pos AS gtid_executed, @@gtid_slave_pos AS gtid_slave_pos, "
            "@@gtid_binlog_pos AS gtid_binlog_pos, '' AS server_uuid, "
            "@@gtid_domain_id AS gtid_domain_id, @@log_bin AS log_bin"
        )

    def session_time_limits(self, seconds: float) -> list[Sql]:
        limit = max(1, int(seconds))
        return [
            Sql(f"SET SESSION lock_wait_timeout = {limit}"),
            Sql(f"SET SESSION max_statement_time = {limit}"),
        ]

    def replica_status(self) -> Sql:
        return read("SHOW SLAVE STATUS")

    def binlog_status(self) -> Sql:
        return read("SHOW MASTER STATUS")

    def stop_applier(self) -> Sql:
        return Sql("STOP SLAVE SQL_THREAD")

    def start_applier(self) -> Sql:
        return Sql("START SLAVE SQL_THREAD")

    def stop_receiver(self) -> Sql:
        return Sql("STOP SLAVE IO_THREAD")

    def start_receiver(self) -> Sql:
        return Sql("START SLAVE IO_THREAD")

    def stop_replication(self) -> Sql:
        return Sql("STOP SLAVE")

    def start_replication(self) -> Sql:
        return Sql("START SLAVE")

    def start_applier_until_source(self, coord: BinlogCoord) -> Sql:
        return Sql(
            "START SLAVE SQL_THREAD UNTIL "
            f"MASTER_LOG_FILE = {log_file_literal(coord.file)}, MASTER_LOG_POS = {coord.pos}"
        )

    def start_replication_until_source(self, coord: BinlogCoord) -> Sql:
        """Both threads: the receiver fetches what is missing, the applier stops at `coord`."""
        return Sql(
            "START SLAVE UNTIL "
            f"MASTER_LOG_FILE = {log_file_literal(coord.file)}, MASTER_LOG_POS = {coord.pos}"
        )

    def start_applier_until_relay(self, coord: BinlogCoord) -> Sql:
        return Sql(
            "START SLAVE SQL_THREAD UNTIL "
            f"RELAY_LOG_FILE = {log_file_literal(coord.file)}, RELAY_LOG_POS = {coord.pos}"
        )

    def start_applier_before_gtids(self, gtids: str) -> Sql | None:
        # SQL_BEFORE_GTIDS arrived in MariaDB 11.3; older servers stop by position instead.
        if not self.version.at_least(11, 3):
            return None
        return Sql(f"START SLAVE SQL_THREAD UNTIL SQL_BEFORE_GTIDS = {quote_string(gtids)}")

    def start_until_gtid_pos(self, pos: str) -> Sql:
        """MariaDB's UNTIL master_gtid_pos stops *after* the named GTIDs."""
        return Sql(f"START SLAVE UNTIL master_gtid_pos = {quote_string(pos)}")

    def change_delay(self, seconds: int, relay: BinlogCoord | None = None) -> Sql:
        text = f"CHANGE MASTER TO MASTER_DELAY = {int(seconds)}"
        if relay is not None:
            text += (
                f", RELAY_LOG_FILE = {log_file_literal(relay.file)}, RELAY_LOG_POS = {relay.pos}"
            )
        return Sql(text)

    def resume_with_gtid(self, seconds: int) -> Sql:
        """Back to GTID replication with the configured delay (the relay logs are fetched anew)."""
        return Sql(f"CHANGE MASTER TO MASTER_DELAY = {int(seconds)}, MASTER_USE_GTID = slave_pos")

    def change_source(self, host: str, port: int, user: str, password: str, delay: int = 0) -> Sql:
        head = (
            f"CHANGE MASTER TO MASTER_HOST = {quote_string(host)}, MASTER_PORT = {int(port)}, "
            f"MASTER_USER = {quote_string(user)}, MASTER_PASSWORD = "
        )
        tail = f", MASTER_USE_GTID = slave_pos, MASTER_DELAY = {int(delay)}"
        return Sql(head + quote_string(password) + tail, redacted=head + "'<redacted>'" + tail)

    def source_tls(self, ca: str | None, cert: str | None, key: str | None, verify: bool) -> Sql:
        """The replica reaches its source over TLS, checking the source's certificate."""
        parts = ["MASTER_SSL = 1"]
        if ca:
            parts.append(f"MASTER_SSL_CA = {quote_string(ca)}")
        if cert and key:
            parts += [
                f"MASTER_SSL_CERT = {quote_string(cert)}",
                f"MASTER_SSL_KEY = {quote_string(key)}",
            ]
        parts.append(f"MASTER_SSL_VERIFY_SERVER_CERT = {1 if verify else 0}")
        return Sql("CHANGE MASTER TO " + ", ".join(parts))

    def reset_replica(self) -> Sql:
        return Sql("RESET SLAVE ALL")

    def reset_binary_logs(self) -> Sql:
        return Sql("RESET MASTER")

    def set_read_only(self, on: bool) -> list[Sql]:
        # MariaDB has no super_read_only; READ ONLY ADMIN holders can still write (documented).
        return [Sql(f"SET GLOBAL read_only = {'ON' if on else 'OFF'}")]

    def parallel_workers_setting(self) -> Sql:
        return read("SELECT @@slave_parallel_threads AS workers")

    def set_parallel_workers(self, workers: int) -> Sql:
        return Sql(f"SET GLOBAL slave_parallel_threads = {int(workers)}")

    def set_gtid_slave_pos(self, pos: MariadbGtidPos | str) -> Sql:
        """Declare what the applier has executed; needs both replication threads stopped."""
        return Sql(f"SET GLOBAL gtid_slave_pos = {quote_string(str(pos))}")
