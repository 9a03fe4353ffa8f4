"""The load balancer as drkit sees it: HAProxy server states, the runtime-API commands, the switch.

Everything here is pure: parsers of the runtime API's text answers, the command texts (built in one
place, from validated names), and the plan that moves writers from one server to another.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag, StrEnum
from pathlib import Path
from typing import Any, Protocol

from drkit.errors import ConfigError


class WriterBackend(Protocol):
    """What the model needs of the configured load balancer (drkit.config.LoadBalancerConfig is one)."""

    @property
    def socket(self) -> Path: ...

    @property
    def backend(self) -> str: ...

    @property
    def servers(self) -> Mapping[str, str]: ...


class Mode(StrEnum):
    """The administrative mode an operator sets with `set server BE/SRV state MODE`."""

    READY = "ready"
    DRAIN = "drain"
    MAINT = "maint"


class Action(StrEnum):
    """What a load-balancer step does to a server."""

    SET_STATE = "set-state"
    SHUTDOWN_SESSIONS = "shutdown-sessions"


class OpState(IntEnum):
    """`srv_op_state`: what HAProxy believes about the server's health."""

    STOPPED = 0
    STARTING = 1
    RUNNING = 2
    STOPPING = 3


class AdminFlag(IntFlag):
    """`srv_admin_state`: a bit field of the reasons a server is in maintenance or drained."""

    FMAINT = 0x01  # forced into maintenance (`set server ... state maint`)
    IMAINT = 0x02  # inherited from a tracked server
    CMAINT = 0x04  # `disabled` in the configuration; stays set after the server leaves maint
    FDRAIN = 0x08  # forced into drain
    IDRAIN = 0x10  # inherited drain
    RMAINT = 0x20  # address resolution failed
    HMAINT = 0x40  # FQDN changed at runtime: a marker, not a maintenance


# HAProxy's own SRV_ADMF_MAINT mask leaves CMAINT out: measured on 2.6, a server declared
# `disabled` then set ready reports admin state 0x04 and takes connections.
MAINT_FLAGS = AdminFlag.FMAINT | AdminFlag.IMAINT | AdminFlag.RMAINT
DRAIN_FLAGS = AdminFlag.FDRAIN | AdminFlag.IDRAIN

# Names HAProxy accepts for proxies and servers; anything else could smuggle a second command
# (`;` and newlines separate commands on the runtime API).
_NAME = re.compile(r"^[A-Za-z0-9_.:-]+$")
_STATE_FORMAT = "1"


@dataclass(frozen=True)
class ServerState:
    """One server of one backend, decoded from a `show servers state` row."""

    backend: str
    server: str
    address: str | None
    port: int | None
    op_state: OpState
    admin_flags: AdminFlag
    weight: int = 1
    fqdn: str | None = None
    sessions: int | None = None  # current sessions, when `show stat` was read too

    @property
    def mode(self) -> Mode:
        """ready, drain or maint, decided the way HAProxy's stats page decides it."""
        if self.admin_flags & MAINT_FLAGS:
            return Mode.MAINT
        if self.admin_flags & DRAIN_FLAGS:
            return Mode.DRAIN
        return Mode.READY

    @property
    def takes_traffic(self) -> bool:
        """Whether a new connection to the backend can be sent to this server."""
        up = self.op_state in (OpState.STARTING, OpState.RUNNING)
        return self.mode is Mode.READY and up and self.weight > 0

    @property
    def endpoint(self) -> str:
        host = self.address or self.fqdn or "-"
        return f"{host}:{self.port}" if self.port is not None else host

    def to_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "server": self.server,
            "address": self.address,
            "port": self.port,
            "fqdn": self.fqdn,
            "mode": self.mode.value,
            "op_state": self.op_state.name.lower(),
            "admin_flags": [flag.name for flag in AdminFlag if flag in self.admin_flags],
            "weight": self.weight,
            "takes_traffic": self.takes_traffic,
            "sessions": self.sessions,
        }


@dataclass(frozen=True)
class LoadBalancerView:
    """What the load balancer says about the writers' backend, or why it could not be asked."""

    socket: str
    backend: str
    reachable: bool
    reason: str | None = None
    servers: tuple[ServerState, ...] = ()
    nodes: Mapping[str, str] = field(default_factory=dict)  # node name -> server name

    @classmethod
    def unreachable(
        cls, config: WriterBackend, reason: str, *, answered: bool = False
    ) -> LoadBalancerView:
        """A view with no servers; `answered` when the socket replied but not usefully."""
        return cls(str(config.socket), config.backend, answered, reason, (), dict(config.servers))

    def server(self, name: str) -> ServerState | None:
        return next((s for s in self.servers if s.server == name), None)

    def for_node(self, node: str) -> ServerState | None:
        name = self.nodes.get(node)
        return None if name is None else self.server(name)

    def node_of(self, server: str) -> str | None:
        return next((node for node, name in self.nodes.items() if name == server), None)

    @property
    def writers(self) -> tuple[ServerState, ...]:
        """The servers new connections can reach: exactly one when the setup is healthy."""
        return tuple(s for s in self.servers if s.takes_traffic)

    @property
    def problems(self) -> tuple[str, ...]:
        """Sentences on what is wrong with the writers' backend; empty when all is well."""
        if self.reason is not None:
            return (self.reason,)
        found: list[str] = []
        for node, name in self.nodes.items():
            if self.server(name) is None:
                found.append(f"server {name} (node {node}) is not in backend {self.backend}")
        writers = self.writers
        if not writers:
            found.append(f"no server of backend {self.backend} takes connections")
        elif len(writers) > 1:
            names = ", ".join(s.server for s in writers)
            found.append(f"{len(writers)} servers of backend {self.backend} take writes: {names}")
        return tuple(found)

    def to_json(self) -> dict[str, Any]:
        servers = []
        for state in self.servers:
            entry = state.to_json()
            entry["node"] = self.node_of(state.server)
            servers.append(entry)
        return {
            "kind": "haproxy",
            "socket": self.socket,
            "backend": self.backend,
            "reachable": self.reachable,
            "reason": self.reason,
            "servers": servers,
            "problems": list(self.problems),
        }


def parse_servers_state(text: str) -> tuple[ServerState, ...]:
    """Decode `show servers state` output (format version 1); ValueError on anything else."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or lines[0].strip() != _STATE_FORMAT:
        first = lines[0].strip() if lines else "an empty answer"
        raise ValueError(f"not a `show servers state` answer (format 1): {first!r}")
    if len(lines) < 2 or not lines[1].startswith("#"):
        raise ValueError("`show servers state` answer has no column header")
    columns = lines[1].lstrip("#").split()
    missing = [c for c in _NEEDED_COLUMNS if c not in columns]
    if missing:
        raise ValueError(f"`show servers state` answer lacks columns: {', '.join(missing)}")
    states = []
    for line in lines[2:]:
        if line.startswith("#"):
            continue
        values = line.split()
        if len(values) != len(columns):
            raise ValueError(
                f"`show servers state` row has {len(values)} fields, header has {len(columns)}: "
                f"{line!r}"
            )
        states.append(_server_state(dict(zip(columns, values, strict=True)), line))
    return tuple(states)


def parse_sessions(csv_text: str) -> dict[str, int]:
    """Current sessions per server (`scur`) from `show stat` CSV output; ValueError if malformed."""
    lines = [line for line in csv_text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("# "):
        first = lines[0].strip() if lines else "an empty answer"
        raise ValueError(f"not a `show stat` answer: {first!r}")
    columns = lines[0][2:].split(",")
    try:
        name_at, scur_at, type_at = (columns.index(c) for c in ("svname", "scur", "type"))
    except ValueError:
        raise ValueError("`show stat` answer lacks svname, scur or type") from None
    sessions: dict[str, int] = {}
    for line in lines[1:]:
        values = line.split(",")
        if len(values) <= max(name_at, scur_at, type_at):
            raise ValueError(f"`show stat` row too short: {line!r}")
        if values[type_at] == "2":  # 0 frontend, 1 backend, 2 server, 3 listener
            sessions[values[name_at]] = int(values[scur_at] or 0)
    return sessions


def reply_error(reply: str) -> str | None:
    """The error text of a runtime-API reply to a `set`/`shutdown` command, or None on success.

    HAProxy answers those commands with an empty line when they worked and with a sentence
    ("No such server.", "Permission denied") when they did not; there is no status code. No
    bytes at all means the connection closed before HAProxy answered: not a success either.
    """
    if not reply:
        return "no answer: the connection closed before HAProxy replied"
    text = " ".join(reply.split())
    return text or None


# The runtime-API commands drkit sends, written only here.


def show_servers_state_command(backend: str) -> str:
    return f"show servers state {checked_name(backend)}"


def show_stat_command(backend: str) -> str:
    # `-1` = every object, `4` = servers only; the backend and frontend lines are not needed.
    return f"show stat {checked_name(backend)} 4 -1"


def set_state_command(backend: str, server: str, mode: Mode) -> str:
    return f"set server {checked_name(backend)}/{checked_name(server)} state {Mode(mode).value}"


def shutdown_sessions_command(backend: str, server: str) -> str:
    return f"shutdown sessions server {checked_name(backend)}/{checked_name(server)}"


def checked_name(name: str) -> str:
    """`name` itself when HAProxy accepts it as a proxy or server name; ConfigError otherwise."""
    if not _NAME.match(name):
        raise ConfigError(
            f"{name!r} is not a HAProxy backend or server name "
            "(letters, digits, '-', '_', '.', ':' only)"
        )
    return name


@dataclass(frozen=True)
class ServerCommand:
    """One step of a load-balancer change: its runtime-API text and what must be true after it."""

    backend: str
    server: str
    action: Action
    mode: Mode | None = None  # the mode to set, for Action.SET_STATE

    @classmethod
    def set_state(cls, backend: str, server: str, mode: Mode) -> ServerCommand:
        return cls(backend, server, Action.SET_STATE, mode)

    @classmethod
    def shutdown_sessions(cls, backend: str, server: str) -> ServerCommand:
        return cls(backend, server, Action.SHUTDOWN_SESSIONS)

    @property
    def text(self) -> str:
        if self.action is Action.SHUTDOWN_SESSIONS:
            return shutdown_sessions_command(self.backend, self.server)
        if self.mode is None:
            raise ValueError(f"setting the state of {self.server} needs a mode")
        return set_state_command(self.backend, self.server, self.mode)

    def __str__(self) -> str:
        return self.text


def writer_switch_plan(
    config: WriterBackend, from_node: str, to_node: str
) -> tuple[ServerCommand, ...]:
    """Move writers from one node's server to another's, never letting two servers take writes.

    The old server goes to maint first (no new connections), then its open sessions are cut:
    maint alone leaves established connections writing to it (measured on HAProxy 2.6). Only then
    does the new server become ready. Between the steps no server takes writes, which is the
    safe side of the gap.
    """
    old = _server_for(config, from_node)
    new = _server_for(config, to_node)
    if old == new:
        raise ConfigError(
            f"[loadbalancer] servers maps both {from_node} and {to_node} to {old}: "
            "there is nothing to switch"
        )
    backend = config.backend
    return (
        ServerCommand.set_state(backend, old, Mode.MAINT),
        ServerCommand.shutdown_sessions(backend, old),
        ServerCommand.set_state(backend, new, Mode.READY),
    )


def writer_switch_commands(config: WriterBackend, from_node: str, to_node: str) -> list[str]:
    """The runtime-API texts of `writer_switch_plan`, in order, as a dry run prints them."""
    return [command.text for command in writer_switch_plan(config, from_node, to_node)]


_NEEDED_COLUMNS = (
    "be_name",
    "srv_name",
    "srv_addr",
    "srv_op_state",
    "srv_admin_state",
    "srv_uweight",
    "srv_fqdn",
    "srv_port",
)


def _server_state(row: Mapping[str, str], line: str) -> ServerState:
    try:
        op_state = OpState(int(row["srv_op_state"]))
        admin = AdminFlag(int(row["srv_admin_state"]))
        weight = int(row["srv_uweight"])
        port = int(row["srv_port"])
    except ValueError as exc:
        raise ValueError(f"`show servers state` row is not understood ({exc}): {line!r}") from None
    return ServerState(
        backend=row["be_name"],
        server=row["srv_name"],
        address=_dash_none(row["srv_addr"]),
        port=port or None,
        op_state=op_state,
        admin_flags=admin,
        weight=weight,
        fqdn=_dash_none(row["srv_fqdn"]),
    )


def _dash_none(value: str) -> str | None:
    return None if value == "-" else value


def _server_for(config: WriterBackend, node: str) -> str:
    try:
        return checked_name(config.servers[node])
    except KeyError:
        known = ", ".join(config.servers) or "none"
        raise ConfigError(
            f"[loadbalancer] servers has no entry for node {node!r} (mapped nodes: {known})"
        ) from None
