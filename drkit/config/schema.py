"""The configuration as frozen dataclasses: what drkit.toml says, with every default stated once.

`drkit.config.loading` builds these from a file; the defaults below are the ones a file that leaves a key
out gets, and the only place they are written.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from drkit.config.redact import redact_url
from drkit.errors import ConfigError
from drkit.model.roles import Role
from drkit.tls import TlsSettings

# The classifier's severity labels and finding classes, spelt out here so that loading the config
# does not import the classifier (and sqlparse); a unit test keeps both lists equal to drkit.classify.
SEVERITY_LABELS = ("low", "medium", "high", "critical")
FINDING_CLASSES = (
    "drop_database",
    "drop_table",
    "truncate",
    "delete_without_where",
    "update_without_where",
    "alter_drop",
    "rename_table",
    "mass_delete",
    "mass_update",
    "binlog_incident",
)
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class PasswordSource:
    """Where a node's password comes from; the secret itself is read only when connecting."""

    env: str | None = None
    file: Path | None = None
    literal: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        """Where the password comes from, without the password (for error messages)."""
        if self.env is not None:
            return f"password_env {self.env}"
        if self.file is not None:
            return f"password_file {self.file}"
        if self.literal is not None:
            return "password in the config file"
        return "no password configured"

    def resolve(self) -> str:
        """The password; ConfigError when its source cannot be read."""
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise ConfigError(f"environment variable {self.env} (password_env) is not set")
            return value
        if self.file is not None:
            try:
                return self.file.read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise ConfigError(
                    f"cannot read password_file {self.file}: {exc.strerror}"
                ) from None
        return self.literal or ""


@dataclass(frozen=True)
class NodeConfig:
    name: str
    role: Role
    host: str
    port: int
    user: str
    password: PasswordSource
    delay: int | None = None
    relay_log_dir: Path | None = None
    socket: str | None = None
    tls: TlsSettings | None = None  # [tls] with [nodes.NAME.tls] over it (drkit/tls.py)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class IndexConfig:
    path: Path
    archive_dir: Path
    # A backlog of at least this many MB of binlog is written by a second process while this
    # one scans (drkit/index/writer.py); writer_process = false keeps all the work in one.
    writer_process: bool = True
    writer_process_mb: float = 32.0


@dataclass(frozen=True)
class DrbdConfig:
    resource: str
    command: tuple[str, ...]
    timeout: float = 5.0


@dataclass(frozen=True)
class LoadBalancerConfig:
    kind: str
    socket: Path
    backend: str
    servers: Mapping[str, str]
    frontend: str | None = None
    timeout: float = 3.0


@dataclass(frozen=True)
class ClassifyConfig:
    mass_rows: int = 1000
    ignore_tables: tuple[str, ...] = ()


@dataclass(frozen=True)
class MaintenanceWindow:
    """A weekly window in which the guard logs findings but freezes nothing.

    `days` are the days the window starts on (0 = Monday); an `end` at or before `start` ends on
    the next day, so a window may run across midnight.
    """

    days: frozenset[int]
    start: int  # minutes after local midnight
    end: int  # minutes after local midnight, 1440 for "24:00"
    timezone: str

    def describe(self) -> str:
        days = ",".join(DAY_NAMES[d] for d in sorted(self.days))
        return f"{days} {clock(self.start)}-{clock(self.end)} {self.timezone}"


@dataclass(frozen=True)
class GuardConfig:
    """`[guard]`: what makes `drkit guard` freeze the delayed replicas, and what excuses a finding."""

    min_severity: str = "high"
    ignore_tables: tuple[str, ...] = ()  # fnmatch patterns on "schema.table"
    ignore_classes: tuple[str, ...] = ()
    mass_rows: int | None = None  # None: the [classify] threshold
    maintenance: tuple[MaintenanceWindow, ...] = ()


@dataclass(frozen=True)
class Webhook:
    """A URL the guard POSTs its alerts to; it may hold a token, so only `shown` is ever printed."""

    url: str = field(repr=False)

    @property
    def shown(self) -> str:
        return redact_url(self.url)


@dataclass(frozen=True)
class AlertsConfig:
    """`[alerts]`: commands that get the alert as JSON on stdin, and webhooks that get it POSTed."""

    commands: tuple[tuple[str, ...], ...] = ()
    webhooks: tuple[Webhook, ...] = ()
    timeout: float = 10.0
    retries: int = 2


@dataclass(frozen=True)
class RetentionConfig:
    """`[retention]`: how long index rows and archived binlogs are kept, and the free space wanted.

    `keep` is in seconds; `min_free` is a fraction of the archive's filesystem (0.10 for "10%");
    `interval` is how often `index --follow` and `guard` prune on their own (seconds; 0: never).
    `compress` is "zstd" (archived binlogs are compressed once closed and indexed) or "none".
    """

    keep: float = 7 * 86400.0
    min_free: float = 0.10
    interval: float = 3600.0
    compress: str = "none"
    compress_level: int = 3


@dataclass(frozen=True)
class Config:
    path: Path
    nodes: Mapping[str, NodeConfig]
    index: IndexConfig
    drbd: tuple[DrbdConfig, ...] = ()
    loadbalancer: LoadBalancerConfig | None = None
    classify: ClassifyConfig = ClassifyConfig()
    sandbox_dir: Path | None = None
    name: str = ""  # what drills call this topology (--allow-destructive NAME)
    guard: GuardConfig = GuardConfig()
    alerts: AlertsConfig = AlertsConfig()
    retention: RetentionConfig = RetentionConfig()

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def topology_name(self) -> str:
        return self.name or self.folder.name

    @property
    def audit_path(self) -> Path:
        return self.folder / "drkit-audit.jsonl"

    @property
    def guard_state_path(self) -> Path:
        return self.folder / "drkit-guard.json"

    def node(self, name: str) -> NodeConfig:
        try:
            return self.nodes[name]
        except KeyError:
            known = ", ".join(self.nodes)
            raise ConfigError(f"{self.path}: no node named {name!r} (nodes: {known})") from None

    def by_role(self, role: Role) -> tuple[NodeConfig, ...]:
        return tuple(node for node in self.nodes.values() if node.role is role)

    @property
    def primary(self) -> NodeConfig | None:
        found = self.by_role(Role.PRIMARY)
        return found[0] if found else None

    def require_primary(self) -> NodeConfig:
        node = self.primary
        if node is None:
            raise ConfigError(f'{self.path}: no node has role = "primary"')
        return node

    @property
    def delayed(self) -> tuple[NodeConfig, ...]:
        return self.by_role(Role.DELAYED)

    def require_delayed(self, name: str | None = None) -> NodeConfig:
        """The delayed replica to act on: the named one, or the only one configured."""
        if name is not None:
            node = self.node(name)
            if node.role is not Role.DELAYED:
                raise ConfigError(
                    f"{self.path}: node {name!r} has role {node.role.value}, not delayed"
                )
            return node
        found = self.delayed
        if not found:
            raise ConfigError(
                f'{self.path}: no node has role = "delayed"; drkit needs a delayed replica'
            )
        if len(found) > 1:
            names = ", ".join(node.name for node in found)
            raise ConfigError(f"several delayed replicas ({names}): choose one with --node")
        return found[0]


def clock(minutes: int) -> str:
    """`HH:MM` for minutes after midnight."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
