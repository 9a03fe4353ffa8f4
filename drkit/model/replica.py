"""A replica's replication status, normalized from either flavour's `SHOW ... STATUS` row."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drkit.model.coords import BinlogCoord


@dataclass(frozen=True)
class ReplicaStatus:
    """A replica status row (MariaDB slave status or MySQL replica status), flavour-free."""

    source_host: str
    source_port: int
    receiver_state: str  # Yes | No | Connecting
    applier_running: bool
    read_source: BinlogCoord | None  # how far the receiver has fetched, in the source's binlog
    executed_source: BinlogCoord | None  # how far the applier has applied, in the source's binlog
    relay: BinlogCoord | None  # the applier's position in its own relay log
    seconds_behind: int | None
    sql_delay: int
    sql_remaining_delay: int | None
    applier_state: str
    last_io_error: str
    last_sql_error: str
    last_sql_errno: int
    using_gtid: str  # MariaDB: No | Slave_Pos | Current_Pos; MySQL: auto_position 0/1 as No/Yes
    received_gtids: str  # MariaDB Gtid_IO_Pos; MySQL Retrieved_Gtid_Set
    until_condition: str
    parallel_workers: int | None = None

    @property
    def receiver_running(self) -> bool:
        return self.receiver_state == "Yes"

    @property
    def is_replicating(self) -> bool:
        return self.receiver_running and self.applier_running

    @property
    def last_error(self) -> str:
        return self.last_sql_error or self.last_io_error

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ReplicaStatus:
        """Build from a status row of either flavour (MySQL 8.0.22+ renamed Master_* to Source_*)."""
        get = _Getter(row)
        source_file = get.text("Master_Log_File", "Source_Log_File")
        executed_file = get.text("Relay_Master_Log_File", "Relay_Source_Log_File")
        gtid_mode = get.text("Using_Gtid")
        if not gtid_mode:
            gtid_mode = "Yes" if get.text("Auto_Position") == "1" else "No"
        return cls(
            source_host=get.text("Master_Host", "Source_Host"),
            source_port=get.integer("Master_Port", "Source_Port") or 0,
            receiver_state=get.text("Slave_IO_Running", "Replica_IO_Running") or "No",
            applier_running=get.text("Slave_SQL_Running", "Replica_SQL_Running") == "Yes",
            read_source=_coord(
                source_file, get.integer("Read_Master_Log_Pos", "Read_Source_Log_Pos")
            ),
            executed_source=_coord(
                executed_file, get.integer("Exec_Master_Log_Pos", "Exec_Source_Log_Pos")
            ),
            relay=_coord(get.text("Relay_Log_File"), get.integer("Relay_Log_Pos")),
            seconds_behind=get.integer("Seconds_Behind_Master", "Seconds_Behind_Source"),
            sql_delay=get.integer("SQL_Delay") or 0,
            sql_remaining_delay=get.integer("SQL_Remaining_Delay"),
            applier_state=get.text("Slave_SQL_Running_State", "Replica_SQL_Running_State"),
            last_io_error=get.text("Last_IO_Error"),
            last_sql_error=get.text("Last_SQL_Error"),
            last_sql_errno=get.integer("Last_SQL_Errno") or 0,
            using_gtid=gtid_mode,
            received_gtids=get.text("Gtid_IO_Pos", "Retrieved_Gtid_Set").replace("\n", ""),
            until_condition=get.text("Until_Condition"),
            parallel_workers=get.integer("Parallel_Workers"),
        )

    def to_json(self) -> dict[str, object]:
        return {
            "source": f"{self.source_host}:{self.source_port}",
            "receiver": self.receiver_state,
            "applier_running": self.applier_running,
            "read_source": str(self.read_source) if self.read_source else None,
            "executed_source": str(self.executed_source) if self.executed_source else None,
            "relay": str(self.relay) if self.relay else None,
            "seconds_behind": self.seconds_behind,
            "sql_delay": self.sql_delay,
            "sql_remaining_delay": self.sql_remaining_delay,
            "applier_state": self.applier_state,
            "last_io_error": self.last_io_error,
            "last_sql_error": self.last_sql_error,
            "using_gtid": self.using_gtid,
            "received_gtids": self.received_gtids,
            "until_condition": self.until_condition,
        }


def _coord(file: str, pos: int | None) -> BinlogCoord | None:
    if not file or pos is None:
        return None
    return BinlogCoord(file, pos)


class _Getter:
    """Reads the first present column among synonyms, tolerating bytes and NULLs."""

    def __init__(self, row: Mapping[str, Any]) -> None:
        self._row = row

    def _raw(self, names: tuple[str, ...]) -> Any:
        for name in names:
            if name in self._row:
                return self._row[name]
        return None

    def text(self, *names: str) -> str:
        value = self._raw(names)
        if value is None:
            return ""
        if isinstance(value, bytes | bytearray):
            return value.decode("utf-8", "replace")
        return str(value)

    def integer(self, *names: str) -> int | None:
        value = self._raw(names)
        if value is None or value == "":
            return None
        if isinstance(value, bytes | bytearray):
            value = value.decode()
        try:
            return int(value)
        except (TypeError, ValueError):
            return None
