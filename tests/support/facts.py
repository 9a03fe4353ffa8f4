"""Hand-built NodeFacts, replica rows and index records for pure tests (no server involved)."""

from __future__ import annotations

from typing import Any

from drkit.config import LoadBalancerConfig, Role
from drkit.index.records import Destructive, IndexedTransaction, TableRows
from drkit.model.facts import NodeFacts, Unreachable
from drkit.model.loadbalancer import LoadBalancerView
from drkit.model.replica import ReplicaStatus
from drkit.model.version import ServerVersion

MARIADB = "10.11.6-MariaDB-log"
MYSQL = "8.4.0"
UUID = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
SERVER_IDS = {"primary": 1, "replica": 2, "delayed": 3}


def replica_status(**changes: Any) -> ReplicaStatus:
    """A healthy, running replica status row; `changes` override fields."""
    values: dict[str, Any] = {
        "source_host": "127.0.0.1",
        "source_port": 13306,
        "receiver_state": "Yes",
        "applier_running": True,
        "read_source": None,
        "executed_source": None,
        "relay": None,
        "seconds_behind": 0,
        "sql_delay": 0,
        "sql_remaining_delay": None,
        "applier_state": "",
        "last_io_error": "",
        "last_sql_error": "",
        "last_sql_errno": 0,
        "using_gtid": "Slave_Pos",
        "received_gtids": "",
        "until_condition": "None",
    }
    values.update(changes)
    return ReplicaStatus(**values)


def frozen(received: str = "") -> ReplicaStatus:
    """A delayed replica after a recovery: both threads stopped."""
    return replica_status(
        receiver_state="No",
        applier_running=False,
        seconds_behind=None,
        received_gtids=received,
    )


def node(
    name: str,
    role: Role | None = None,
    *,
    version: str = MARIADB,
    read_only: bool | None = None,
    super_read_only: bool | None = None,
    executed: str = "",
    slave_pos: str = "",
    binlog_pos: str | None = None,
    replica: ReplicaStatus | None = None,
    delay: int | None = None,
    server_id: int | None = None,
) -> NodeFacts:
    """A reachable node; MariaDB unless `version` says MySQL."""
    if role is None:
        role = Role(name) if name in ("primary", "replica", "delayed") else Role.REPLICA
    parsed = ServerVersion.parse(version)
    if read_only is None:
        read_only = role is not Role.PRIMARY
    return NodeFacts(
        name=name,
        role=role,
        address=f"127.0.0.1:{13306 + (SERVER_IDS.get(name, 9))}",
        configured_delay=delay if delay is not None else (3600 if role is Role.DELAYED else None),
        gathered_at=1000.0,
        reachable=True,
        version=parsed,
        server_id=server_id if server_id is not None else SERVER_IDS.get(name, 9),
        read_only=read_only,
        super_read_only=super_read_only if not parsed.is_mariadb else None,
        gtid_executed_text=executed,
        gtid_slave_pos_text=slave_pos if parsed.is_mariadb else "",
        gtid_binlog_pos_text=(executed if binlog_pos is None else binlog_pos)
        if parsed.is_mariadb
        else "",
        replica=replica,
    )


def down(name: str, kind: Unreachable = Unreachable.NETWORK, role: Role | None = None) -> NodeFacts:
    """A node that did not answer."""
    from drkit.config import NodeConfig, PasswordSource

    config = NodeConfig(
        name=name,
        role=role or (Role(name) if name in ("primary", "replica", "delayed") else Role.REPLICA),
        host="127.0.0.1",
        port=13306 + SERVER_IDS.get(name, 9),
        user="drkit",
        password=PasswordSource(literal="x"),
    )
    reason = {
        Unreachable.NETWORK: "Can't connect to MySQL server (error 2003)",
        Unreachable.AUTH: "login refused for user 'drkit' (error 1045)",
    }.get(kind, "failed")
    return NodeFacts.unreachable(config, kind, reason, 1000.0)


def transaction(
    tx_id: int,
    gtid: str,
    *,
    statement: str = "",
    destructive: str | None = None,
    table: str = "shop.orders",
) -> IndexedTransaction:
    """An index record; `destructive` is a class such as drop_table."""
    return IndexedTransaction(
        id=tx_id,
        gtid=gtid,
        file="mysql-bin.000001",
        start_pos=100 * tx_id,
        end_pos=100 * tx_id + 90,
        timestamp=1_700_000_000 + tx_id,
        server_id=1,
        kind="ddl" if destructive == "drop_table" else "dml",
        tables=(TableRows(table),),
        statement=statement or (f"DROP TABLE {table}" if destructive else f"INSERT INTO {table}"),
        destructive=Destructive(destructive, "critical", "drops a table") if destructive else None,
    )


def loadbalancer_config(**servers: str) -> LoadBalancerConfig:
    from pathlib import Path

    return LoadBalancerConfig(
        kind="haproxy",
        socket=Path("haproxy/admin.sock"),
        backend="mysql_primary",
        servers=servers or {"primary": "db1", "replica": "db2", "delayed": "db3"},
    )


def lb_view(modes: dict[str, str], config: LoadBalancerConfig | None = None) -> LoadBalancerView:
    """A reachable HAProxy view: server name -> ready | maint."""
    from drkit.model.loadbalancer import AdminFlag, OpState, ServerState

    config = config or loadbalancer_config()
    servers = tuple(
        ServerState(
            backend=config.backend,
            server=server,
            address="127.0.0.1",
            port=20000 + index,
            op_state=OpState.RUNNING,
            admin_flags=AdminFlag.FMAINT if mode == "maint" else AdminFlag(0),
        )
        for index, (server, mode) in enumerate(modes.items())
    )
    return LoadBalancerView(
        str(config.socket), config.backend, True, None, servers, dict(config.servers)
    )
