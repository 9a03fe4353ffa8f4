"""The statements drkit needs from a server, as an abstract table each flavour fills in."""

from __future__ import annotations

from abc import ABC, abstractmethod

from drkit.dialect.sql import Sql, log_file_literal, quote_ident, quote_string, quote_table, read
from drkit.model.coords import BinlogCoord
from drkit.model.version import ServerVersion


class Dialect(ABC):
    """SQL text for one server flavour and version. Nothing outside drkit/dialect writes SQL."""

    def __init__(self, version: ServerVersion) -> None:
        self.version = version

    # -- facts -------------------------------------------------------------------------------

    version_query = read("SELECT VERSION() AS version, @@version_comment AS comment")
    # The session's own encryption, read right after connecting (drkit/io/tls.py).
    tls_status_query = read(
        "SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_version', 'Ssl_cipher')"
    )

    @abstractmethod
    def node_variables(self) -> Sql:
        """One row: server_id, read_only, super_read_only, gtid_executed, gtid_slave_pos, ..."""

    @abstractmethod
    def replica_status(self) -> Sql: ...

    @abstractmethod
    def binlog_status(self) -> Sql:
        """The primary's current binlog file and position."""

    def binlog_files(self) -> Sql:
        return read("SHOW BINARY LOGS")

    def binlog_events(self, file: str, pos: int | None = None, limit: int | None = None) -> Sql:
        text = f"SHOW BINLOG EVENTS IN {log_file_literal(file)}"
        if pos is not None:
            text += f" FROM {int(pos)}"
        if limit is not None:
            text += f" LIMIT {int(limit)}"
        return read(text)

    def relaylog_events(self, file: str, pos: int, limit: int) -> Sql:
        return read(
            f"SHOW RELAYLOG EVENTS IN {log_file_literal(file)} FROM {int(pos)} LIMIT {int(limit)}"
        )

    def busy_sessions(self, user: str) -> Sql:
        """Other sessions of `user` still running a statement (a killed replay's client)."""
        return read(
            "SELECT ID AS id, TIME AS seconds, LEFT(INFO, 80) AS info "
            "FROM information_schema.PROCESSLIST WHERE USER = "
            f"{quote_string(user)} AND ID <> CONNECTION_ID() AND COMMAND = 'Query'"
        )

    def read_only_snapshot(self) -> list[Sql]:
        """A read-only session on one consistent snapshot (inspect's queries)."""
        return [
            read("SET SESSION TRANSACTION READ ONLY"),
            read("START TRANSACTION WITH CONSISTENT SNAPSHOT"),
        ]

    def end_snapshot(self) -> Sql:
        return read("COMMIT")

    def session_time_limits(self, seconds: float) -> list[Sql]:
        """Bound this session's lock waits and statements (verification obeys --timeout)."""
        return [Sql(f"SET SESSION lock_wait_timeout = {max(1, int(seconds))}")]

    # -- replication control -----------------------------------------------------------------

    @abstractmethod
    def stop_applier(self) -> Sql: ...

    @abstractmethod
    def start_applier(self) -> Sql: ...

    @abstractmethod
    def stop_receiver(self) -> Sql: ...

    @abstractmethod
    def start_receiver(self) -> Sql: ...

    @abstractmethod
    def stop_replication(self) -> Sql: ...

    @abstractmethod
    def start_replication(self) -> Sql: ...

    @abstractmethod
    def start_applier_until_source(self, coord: BinlogCoord) -> Sql:
        """Apply up to the first transaction boundary at or after `coord` in the source's binlog."""

    @abstractmethod
    def start_applier_until_relay(self, coord: BinlogCoord) -> Sql:
        """Apply up to the first transaction boundary at or after `coord` in the relay log."""

    @abstractmethod
    def wait_for_gtid(self, gtid: str, seconds: float) -> Sql:
        """One row, `waited`: 0 once the applier has executed `gtid`, nonzero after `seconds`."""

    def start_applier_before_gtids(self, gtids: str) -> Sql | None:
        """Apply everything before the given GTIDs; None where the server lacks SQL_BEFORE_GTIDS."""
        return None

    @abstractmethod
    def change_delay(self, seconds: int, relay: BinlogCoord | None = None) -> Sql:
        """Set the applier delay; with relay coordinates, so the server keeps its relay logs."""

    @abstractmethod
    def change_source(self, host: str, port: int, user: str, password: str, delay: int = 0) -> Sql:
        """Point this replica at a source, by GTID auto-positioning."""

    @abstractmethod
    def reset_replica(self) -> Sql:
        """Forget the replica configuration entirely (after promotion)."""

    @abstractmethod
    def reset_binary_logs(self) -> Sql:
        """Forget this server's own binlog and GTID history (a replica about to be reloaded)."""

    @abstractmethod
    def set_read_only(self, on: bool) -> list[Sql]:
        """Statements that make the server read-only (fenced) or writable, strongest form first."""

    @abstractmethod
    def parallel_workers_setting(self) -> Sql:
        """Read the applier's parallel worker count."""

    @abstractmethod
    def set_parallel_workers(self, workers: int) -> Sql: ...

    # -- data --------------------------------------------------------------------------------

    def checksum_table(self, table: str) -> Sql:
        return read(f"CHECKSUM TABLE {quote_table(table)} EXTENDED")

    def count_rows(self, table: str) -> Sql:
        return read(f"SELECT COUNT(*) AS n FROM {quote_table(table)}")

    def table_exists(self, table: str) -> Sql:
        schema, _, name = table.partition(".")
        return read(
            "SELECT COUNT(*) AS n FROM information_schema.TABLES "
            f"WHERE TABLE_SCHEMA = {quote_string(schema)} AND TABLE_NAME = {quote_string(name)}"
        )

    def schema_tables(self, schema: str) -> Sql:
        return read(
            "SELECT COUNT(*) AS n FROM information_schema.TABLES "
            f"WHERE TABLE_SCHEMA = {quote_string(schema)}"
        )

    def table_type(self, table: str) -> Sql:
        """One row (`kind`: BASE TABLE, VIEW, SEQUENCE...) when the table exists, none otherwise."""
        schema, _, name = table.partition(".")
        return read(
            "SELECT TABLE_TYPE AS kind FROM information_schema.TABLES "
            f"WHERE TABLE_SCHEMA = {quote_string(schema)} AND TABLE_NAME = {quote_string(name)}"
        )

    def show_create_table(self, table: str) -> Sql:
        return read(f"SHOW CREATE TABLE {quote_table(table)}")

    def table_triggers(self, table: str) -> Sql:
        schema, _, name = table.partition(".")
        return read(
            "SELECT TRIGGER_NAME AS name FROM information_schema.TRIGGERS "
            f"WHERE EVENT_OBJECT_SCHEMA = {quote_string(schema)} "
            f"AND EVENT_OBJECT_TABLE = {quote_string(name)}"
        )

    def schema_exists(self, schema: str) -> Sql:
        return read(
            "SELECT COUNT(*) AS n FROM information_schema.SCHEMATA "
            f"WHERE SCHEMA_NAME = {quote_string(schema)}"
        )

    def create_schema(self, schema: str) -> Sql:
        return Sql(f"CREATE DATABASE {quote_ident(schema)}")

    def create_table_like_source(
        self, definition: str, source: str, target: str, *, rename_foreign_keys: bool
    ) -> Sql:
        """The source's `SHOW CREATE TABLE` text, made to create `target` (schema-qualified)."""
        from drkit.dialect.ddl import retarget_create_table

        return Sql(
            retarget_create_table(
                definition, source, target, drop_foreign_key_names=rename_foreign_keys
            )
        )

    def set_session_binlog(self, on: bool) -> Sql:
        return Sql(f"SET SESSION sql_log_bin = {1 if on else 0}")

    def ping(self) -> Sql:
        return read("SELECT 1 AS ok")

    # -- accounts (sandbox set-up) -----------------------------------------------------------

    def create_user(self, user: str, host: str, password: str) -> Sql:
        head = f"CREATE USER {quote_string(user)}@{quote_string(host)} IDENTIFIED BY "
        return Sql(head + quote_string(password), redacted=head + "'<redacted>'")

    def source_tls(self, ca: str | None, cert: str | None, key: str | None, verify: bool) -> Sql:
        """The replica reaches its source over TLS (each flavour names the options)."""
        raise NotImplementedError

    def require_tls(self, user: str, host: str, *, certificate: bool) -> Sql:
        """The account logs in only over TLS, and with a certificate from a trusted CA if asked."""
        need = "X509" if certificate else "SSL"
        return Sql(f"ALTER USER {quote_string(user)}@{quote_string(host)} REQUIRE {need}")

    def drop_user(self, user: str, host: str) -> Sql:
        return Sql(f"DROP USER IF EXISTS {quote_string(user)}@{quote_string(host)}")

    def grant_all(self, user: str, host: str) -> Sql:
        return Sql(
            f"GRANT ALL PRIVILEGES ON *.* TO {quote_string(user)}@{quote_string(host)} WITH GRANT OPTION"
        )

    def grant_replication(self, user: str, host: str) -> Sql:
        return Sql(f"GRANT REPLICATION SLAVE ON *.* TO {quote_string(user)}@{quote_string(host)}")

    def grant_application(self, user: str, host: str) -> Sql:
        """What an application account holds: data and schema changes, no admin rights."""
        return Sql(
            "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, REFERENCES, "
            "CREATE TEMPORARY TABLES, LOCK TABLES, CREATE VIEW, SHOW VIEW, TRIGGER "
            f"ON *.* TO {quote_string(user)}@{quote_string(host)}"
        )

    def accounts(self) -> Sql:
        return read("SELECT User AS user, Host AS host FROM mysql.user")
