"""Gather NodeFacts from live servers. Never raises for a node it cannot reach."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from drkit.config import NodeConfig
from drkit.errors import ConfigError, DrkitError
from drkit.io.mysql import DEFAULT_CONNECT_TIMEOUT, LoginRefused, NodeUnreachable, Session, connect
from drkit.model.coords import BinlogCoord
from drkit.model.facts import NodeFacts, Unreachable
from drkit.model.replica import ReplicaStatus

T = TypeVar("T")


def gather(node: NodeConfig, timeout: float = DEFAULT_CONNECT_TIMEOUT) -> NodeFacts:
    """Everything drkit needs to know about one node, or a value saying why it is unknown."""
    return gather_with(node, None, timeout)[0]


def gather_with(
    node: NodeConfig,
    also: Callable[[Session], T] | None,
    timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> tuple[NodeFacts, T | None]:
    """The node's facts and, on the same session, `also(session)` (None if it failed or the
    node is unknown): one connection where a caller needs one more answer from the node."""
    now = time.time()
    try:
        opened = connect(node, timeout=timeout)
    except DrkitError as exc:
        return NodeFacts.unreachable(node, _kind(exc), exc.message, now), None
    with opened:
        try:
            facts = facts_from_session(opened, now)
        except DrkitError as exc:
            return NodeFacts.unreachable(node, Unreachable.ERROR, exc.message, now), None
        try:
            return facts, also(opened) if also is not None else None
        except DrkitError:
            return facts, None


def _kind(exc: DrkitError) -> Unreachable:
    """Why a node is unknown: a refused login and a config error are not a dead node."""
    if isinstance(exc, LoginRefused):
        return Unreachable.AUTH
    if isinstance(exc, NodeUnreachable):
        return Unreachable.NETWORK
    if isinstance(exc, ConfigError):
        return Unreachable.CONFIG
    return Unreachable.ERROR


def gather_all(
    nodes: Iterable[NodeConfig], timeout: float = DEFAULT_CONNECT_TIMEOUT
) -> tuple[NodeFacts, ...]:
    """Gather every node at once, so one dead node costs one timeout, not one per node."""
    targets = list(nodes)
    if not targets:
        return ()
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        return tuple(pool.map(lambda node: gather(node, timeout), targets))


def facts_from_session(opened: Session, gathered_at: float | None = None) -> NodeFacts:
    """Read a node's facts through an open session (raises NodeError if a query fails)."""
    node = opened.node
    dialect = opened.dialect
    # Replica status first: once it says the applier stopped, the GTIDs read after it are final
    # (read the other way round, a last commit can land in between and look missing).
    replica_row = opened.one(dialect.replica_status())
    replica = ReplicaStatus.from_row(replica_row) if replica_row else None
    variables = opened.one(dialect.node_variables()) or {}
    errors: list[str] = []
    binlog = None
    if _flag(variables.get("log_bin")):
        status = opened.one(dialect.binlog_status())
        if status:
            binlog = BinlogCoord(_text(status.get("File")), int(status.get("Position") or 0))
    return NodeFacts(
        name=node.name,
        role=node.role,
        address=node.address,
        configured_delay=node.delay,
        gathered_at=time.time() if gathered_at is None else gathered_at,
        reachable=True,
        version=opened.version,
        server_id=_int(variables.get("server_id")),
        read_only=_flag(variables.get("read_only")),
        super_read_only=(
            None
            if variables.get("super_read_only") is None
            else _flag(variables["super_read_only"])
        ),
        binlog=binlog,
        tls=opened.tls,
        gtid_executed_text=_text(variables.get("gtid_executed")).replace("\n", ""),
        gtid_slave_pos_text=_text(variables.get("gtid_slave_pos")),
        gtid_binlog_pos_text=_text(variables.get("gtid_binlog_pos")),
        server_uuid=_text(variables.get("server_uuid")),
        replica=replica,
        errors=tuple(errors),
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    return str(value)


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _flag(value: Any) -> bool:
    text = _text(value).strip().upper()
    return text in {"1", "ON", "YES", "TRUE"}
