"""A snapshot of one node, gathered at one moment; unreachable nodes are values too."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from drkit.model.coords import BinlogCoord
from drkit.model.gtid import MariadbGtidPos, MysqlGtidSet, parse_gtid_set
from drkit.model.replica import ReplicaStatus
from drkit.model.roles import ConfiguredNode, Role
from drkit.model.version import ServerVersion
from drkit.tls import TlsState


class Unreachable(StrEnum):
    """Why facts could not be gathered: a dead network differs from a refused login."""

    NETWORK = "network"
    AUTH = "auth"
    CONFIG = "config"
    ERROR = "error"


@dataclass(frozen=True)
class NodeFacts:
    """One node as seen at `gathered_at` (unix seconds)."""

    name: str
    role: Role
    address: str
    configured_delay: int | None
    gathered_at: float
    reachable: bool
    unreachable_kind: Unreachable | None = None
    unreachable_reason: str = ""
    version: ServerVersion | None = None
    server_id: int | None = None
    read_only: bool | None = None
    super_read_only: bool | None = None
    binlog: BinlogCoord | None = None
    gtid_executed_text: str = ""  # MariaDB @@gtid_current_pos / MySQL @@gtid_executed
    gtid_slave_pos_text: str = ""  # MariaDB only
    gtid_binlog_pos_text: str = ""  # MariaDB only
    server_uuid: str = ""  # MySQL only
    replica: ReplicaStatus | None = None
    errors: tuple[str, ...] = field(default=())
    tls: TlsState | None = None  # the session drkit read these facts through

    @classmethod
    def unreachable(
        cls, node: ConfiguredNode, kind: Unreachable, reason: str, gathered_at: float
    ) -> NodeFacts:
        return cls(
            name=node.name,
            role=node.role,
            address=node.address,
            configured_delay=node.delay,
            gathered_at=gathered_at,
            reachable=False,
            unreachable_kind=kind,
            unreachable_reason=reason,
        )

    @property
    def is_mariadb(self) -> bool:
        return self.version is not None and self.version.is_mariadb

    @property
    def executed(self) -> MariadbGtidPos | MysqlGtidSet:
        """What this node has applied or written: the set a GTID is looked up in.

        On MariaDB that is the later, per domain, of what replication applied (gtid_slave_pos) and
        what the binlog holds (gtid_binlog_pos): transactions replayed through the client keep
        their original server id and so never show in gtid_current_pos.
        """
        if not self.is_mariadb:
            return parse_gtid_set(self.gtid_executed_text, False)
        return (
            MariadbGtidPos.parse(self.gtid_executed_text)
            .merged(MariadbGtidPos.parse(self.gtid_slave_pos_text))
            .merged(MariadbGtidPos.parse(self.gtid_binlog_pos_text))
        )

    @property
    def remaining_delay(self) -> int | None:
        return self.replica.sql_remaining_delay if self.replica else None

    @property
    def writable(self) -> bool | None:
        if not self.reachable or self.read_only is None:
            return None
        return not self.read_only

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "role": self.role.value,
            "address": self.address,
            "reachable": self.reachable,
            "unreachable_reason": self.unreachable_reason or None,
            "flavour": self.version.flavour.value if self.version else None,
            "version": self.version.text if self.version else None,
            "server_id": self.server_id,
            "read_only": self.read_only,
            "super_read_only": self.super_read_only,
            "configured_delay": self.configured_delay,
            "binlog": str(self.binlog) if self.binlog else None,
            "gtid_executed": self.gtid_executed_text or None,
            "gtid_slave_pos": self.gtid_slave_pos_text or None,
            "replication": self.replica.to_json() if self.replica else None,
            "gathered_at": self.gathered_at,
            "errors": list(self.errors),
            "tls": self.tls.to_json() if self.tls else None,
        }
