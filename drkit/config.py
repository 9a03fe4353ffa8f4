"""drkit.toml -> frozen dataclasses, with one clear sentence for anything wrong in the file.

Every problem is reported as `FILE: KEY: PROBLEM` through ConfigError (exit code 2). Unknown keys
are errors too: a misspelt `password_evn` must not silently leave a node without a password.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit

from drkit.errors import ConfigError
from drkit.tls import TlsSettings, parse_tls

DEFAULT_FILE_NAME = "drkit.toml"
CONFIG_ENV = "DRKIT_CONFIG"

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
)
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")


class Role(StrEnum):
    PRIMARY = "primary"
    REPLICA = "replica"
    DELAYED = "delayed"


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
        return f"{days} {_clock(self.start)}-{_clock(self.end)} {self.timezone}"


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


def locate(explicit: str | os.PathLike[str] | None) -> Path:
    """The config file to use: --config, then $DRKIT_CONFIG, then ./drkit.toml."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    return Path.cwd() / DEFAULT_FILE_NAME


def load(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate a config file; ConfigError (exit 2) with one sentence on any problem."""
    file = locate(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: no such config file",
            hint="pass --config FILE, set DRKIT_CONFIG, or run `drkit sandbox up` to make one",
        ) from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: not UTF-8 text") from None
    return parse(data, file.resolve())


def parse(data: Mapping[str, Any], file: Path) -> Config:
    """Validate already-decoded TOML data as if it came from `file`."""
    root = _Table(data, file, "")
    folder = file.parent
    tls = parse_tls(root.raw("tls"), None, folder, file, "tls")
    nodes = _parse_nodes(root.table("nodes"), folder, tls)
    index = _parse_index(root.optional_table("index"), folder)
    drbd = tuple(_parse_drbd(item) for item in root.table_array("drbd"))
    lb_table = root.optional_table("loadbalancer")
    loadbalancer = _parse_loadbalancer(lb_table, nodes, folder) if lb_table else None
    classify = _parse_classify(root.optional_table("classify"))
    guard = _parse_guard(root.optional_table("guard"))
    alerts = _parse_alerts(root.optional_table("alerts"))
    sandbox_table = root.optional_table("sandbox")
    sandbox_dir = None
    if sandbox_table is not None:
        sandbox_dir = _resolve(folder, sandbox_table.string("dir"))
        sandbox_table.finish()
    name = root.optional_string("name") or ""
    root.finish()
    return Config(
        file, nodes, index, drbd, loadbalancer, classify, sandbox_dir, name, guard, alerts
    )


def _parse_nodes(
    table: _Table, folder: Path, tls: TlsSettings | None = None
) -> dict[str, NodeConfig]:
    nodes: dict[str, NodeConfig] = {}
    for name in table.names():
        node = table.table(name)
        role_text = node.string("role")
        try:
            role = Role(role_text)
        except ValueError:
            roles = ", ".join(r.value for r in Role)
            node.fail("role", f"unknown role {role_text!r} (expected one of: {roles})")
        port = node.integer("port")
        if not 0 < port < 65536:
            node.fail("port", f"{port} is not a TCP port")
        delay = node.optional_integer("delay")
        if delay is not None and delay < 0:
            node.fail("delay", "must be zero or more seconds")
        if role is Role.DELAYED and delay is None:
            node.fail(
                "delay", "a delayed node needs `delay` (seconds), the delay `drkit resume` restores"
            )
        relay_dir = node.optional_string("relay_log_dir")
        nodes[name] = NodeConfig(
            name=name,
            role=role,
            host=node.string("host"),
            port=port,
            user=node.string("user"),
            password=_parse_password(node, folder),
            delay=delay,
            relay_log_dir=_resolve(folder, relay_dir) if relay_dir else None,
            socket=node.optional_string("socket"),
            tls=parse_tls(node.raw("tls"), tls, folder, table.file, f"nodes.{name}.tls"),
        )
        node.finish()
    if not nodes:
        table.fail(None, "no nodes are defined")
    primaries = [n.name for n in nodes.values() if n.role is Role.PRIMARY]
    if len(primaries) > 1:
        table.fail(
            None, f'two nodes have role = "primary" ({", ".join(primaries)}); exactly one may'
        )
    return nodes


def _parse_password(node: _Table, folder: Path) -> PasswordSource:
    for key in ("password_env", "password_file", "password"):
        if not isinstance(node.raw(key), str | None):
            # Never echo what a password key holds, whatever its type.
            node.fail(key, "expected a string (its value is not shown)")
    env = node.optional_string("password_env")
    file = node.optional_string("password_file")
    literal = node.optional_string("password")
    if env is not None:
        from drkit.io.secrets import note_password_variable

        note_password_variable(env)
    given = [
        key
        for key, value in (("password_env", env), ("password_file", file), ("password", literal))
        if value is not None
    ]
    if len(given) > 1:
        node.fail(
            given[1],
            f"give only one of password_env, password_file, password (found {', '.join(given)})",
        )
    return PasswordSource(env=env, file=_resolve(folder, file) if file else None, literal=literal)


def _parse_index(table: _Table | None, folder: Path) -> IndexConfig:
    if table is None:
        return IndexConfig(folder / "index.db", folder / "binlogs")
    path = _resolve(folder, table.optional_string("path") or "index.db")
    archive = _resolve(folder, table.optional_string("archive_dir") or "binlogs")
    writer_process = table.optional_bool("writer_process")
    writer_process_mb = table.optional_number("writer_process_mb")
    table.finish()
    return IndexConfig(
        path,
        archive,
        True if writer_process is None else writer_process,
        32.0 if writer_process_mb is None else writer_process_mb,
    )


def _parse_drbd(table: _Table) -> DrbdConfig:
    resource = table.string("resource")
    command = table.optional_string_list("command") or ["drbdsetup", "status", "--json", resource]
    if not command:
        table.fail("command", "must name a program to run")
    timeout = table.optional_number("timeout")
    table.finish()
    return DrbdConfig(resource, tuple(command), timeout if timeout is not None else 5.0)


def _parse_loadbalancer(
    table: _Table, nodes: Mapping[str, NodeConfig], folder: Path
) -> LoadBalancerConfig:
    kind = table.string("kind")
    if kind != "haproxy":
        table.fail("kind", f"unknown load balancer {kind!r} (supported: haproxy)")
    servers_table = table.table("servers")
    servers: dict[str, str] = {}
    for node_name in servers_table.names():
        if node_name not in nodes:
            known = ", ".join(nodes)
            servers_table.fail(node_name, f"no node named {node_name!r} (nodes: {known})")
        servers[node_name] = servers_table.string(node_name)
    timeout = table.optional_number("timeout")
    config = LoadBalancerConfig(
        kind=kind,
        socket=_resolve(folder, table.string("socket")),
        backend=table.string("backend"),
        servers=servers,
        frontend=table.optional_string("frontend"),
        timeout=timeout if timeout is not None else 3.0,
    )
    table.finish()
    return config


def _parse_classify(table: _Table | None) -> ClassifyConfig:
    if table is None:
        return ClassifyConfig()
    mass_rows = table.optional_integer("mass_rows")
    if mass_rows is not None and mass_rows < 1:
        table.fail("mass_rows", "must be at least 1")
    ignore = table.optional_string_list("ignore_tables") or []
    table.finish()
    return ClassifyConfig(mass_rows if mass_rows is not None else 1000, tuple(ignore))


def _parse_guard(table: _Table | None) -> GuardConfig:
    if table is None:
        return GuardConfig()
    severity = (table.optional_string("min_severity") or "high").strip().lower()
    if severity not in SEVERITY_LABELS:
        table.fail(
            "min_severity",
            f"unknown severity {severity!r} (expected one of: {', '.join(SEVERITY_LABELS)})",
        )
    ignore_tables = table.optional_string_list("ignore_tables") or []
    for pattern in ignore_tables:
        if "." not in pattern and pattern != "*":
            table.fail(
                "ignore_tables",
                f"{pattern!r} is not a schema.table pattern (write 'tmp.*' or '*.scratch')",
            )
    ignore_classes = table.optional_string_list("ignore_classes") or []
    for name in ignore_classes:
        if name not in FINDING_CLASSES:
            table.fail(
                "ignore_classes",
                f"unknown class {name!r} (expected some of: {', '.join(FINDING_CLASSES)})",
            )
    mass_rows = table.optional_integer("mass_rows")
    if mass_rows is not None and mass_rows < 1:
        table.fail("mass_rows", "must be at least 1")
    windows = tuple(_parse_window(item) for item in table.table_array("maintenance"))
    table.finish()
    return GuardConfig(severity, tuple(ignore_tables), tuple(ignore_classes), mass_rows, windows)


def _parse_window(table: _Table) -> MaintenanceWindow:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    day_names = table.optional_string_list("days")
    if day_names is None:
        days = frozenset(range(7))
    else:
        if not day_names:
            table.fail("days", "must name at least one day (or leave `days` out for every day)")
        found = set()
        for name in day_names:
            key = name.strip().lower()
            if key in DAY_NAMES:
                found.add(DAY_NAMES.index(key))
            elif key in _FULL_DAY_NAMES:
                found.add(_FULL_DAY_NAMES.index(key))
            else:
                table.fail("days", f"unknown day {name!r} (expected: {', '.join(DAY_NAMES)})")
        days = frozenset(found)
    start = _minutes(table, "start", allow_end_of_day=False)
    end = _minutes(table, "end", allow_end_of_day=True)
    if start == end:
        table.fail("end", 'equals start; for a whole day write start = "00:00", end = "24:00"')
    zone = table.string("timezone")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        table.fail("timezone", f"unknown time zone {zone!r} (an IANA name such as 'Europe/Paris')")
    table.finish()
    return MaintenanceWindow(days, start, end, zone)


def _minutes(table: _Table, key: str, *, allow_end_of_day: bool) -> int:
    text = table.string(key).strip()
    match = _CLOCK.fullmatch(text)
    hours, minutes = (int(match.group(1)), int(match.group(2))) if match else (-1, -1)
    total = hours * 60 + minutes
    if not match or minutes > 59 or total > 24 * 60 or (total == 24 * 60 and not allow_end_of_day):
        last = "24:00" if allow_end_of_day else "23:59"
        table.fail(key, f"{text!r} is not a time of day (HH:MM, 00:00 to {last})")
    return total


def _parse_alerts(table: _Table | None) -> AlertsConfig:
    if table is None:
        return AlertsConfig()
    commands = []
    raw_commands = table.raw("commands")
    if raw_commands is not None:
        if not isinstance(raw_commands, list):
            table.fail("commands", f"expected a list of argv lists, got {_describe(raw_commands)}")
        for position, argv in enumerate(raw_commands):
            if (
                not isinstance(argv, list)
                or not argv
                or not all(isinstance(arg, str) for arg in argv)
                or not argv[0].strip()
            ):
                table.fail(
                    "commands",
                    f"item {position + 1} must be a non-empty list of strings, "
                    'such as ["/usr/local/bin/page", "--team", "db"] (no shell is used)',
                )
            commands.append(tuple(argv))
    webhooks = []
    for position, url in enumerate(table.optional_string_list("webhooks") or []):
        problem = _url_problem(url)
        if problem:
            # The URL may carry a token: name its position, never its text.
            table.fail("webhooks", f"item {position + 1} {problem}")
        webhooks.append(Webhook(url))
    timeout = table.optional_number("timeout")
    retries = table.optional_integer("retries")
    if retries is not None and not 0 <= retries <= 10:
        table.fail("retries", "must be between 0 and 10")
    table.finish()
    return AlertsConfig(
        tuple(commands),
        tuple(webhooks),
        timeout if timeout is not None else 10.0,
        retries if retries is not None else 2,
    )


def _url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return f"is not an http or https URL (scheme {parts.scheme or 'missing'!r})"
    if not parts.hostname:
        return "has no host"
    return None


def redact_url(url: str) -> str:
    """`https://hooks.example.com/…`: scheme, host and port only, since paths and queries hold tokens."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid URL>"
    tail = "/…" if parts.path.strip("/") or parts.query or parts.fragment else ""
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    return f"{parts.scheme}://{host}{port}{tail}"


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _resolve(folder: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else folder / path


T = TypeVar("T")


class _Table:
    """A TOML table being validated: typed getters that fail with file, key and problem."""

    def __init__(self, data: Mapping[str, Any], file: Path, prefix: str) -> None:
        self._data = data
        self._file = file
        self._prefix = prefix
        self._seen: set[str] = set()

    def names(self) -> Iterator[str]:
        yield from self._data.keys()

    @property
    def file(self) -> Path:
        return self._file

    def fail(self, key: str | None, problem: str) -> NoReturn:
        where = self._qualified(key) if key else (self._prefix.rstrip(".") or "top level")
        raise ConfigError(f"{self._file}: {where}: {problem}")

    def _qualified(self, key: str) -> str:
        return f"{self._prefix}{key}"

    def _get(self, key: str, kind: type[T], kind_name: str, required: bool) -> T | None:
        self._seen.add(key)
        if key not in self._data:
            if required:
                self.fail(key, "missing (required)")
            return None
        value = self._data[key]
        # bool is an int in Python; a port of `true` is still a mistake.
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            self.fail(key, f"expected {kind_name}, got {_describe(value)}")
        return value

    def string(self, key: str) -> str:
        value = self._get(key, str, "a string", required=True)
        if value is None or not value.strip():
            self.fail(key, "must not be empty")
        return value

    def optional_string(self, key: str) -> str | None:
        return self._get(key, str, "a string", required=False)

    def integer(self, key: str) -> int:
        value = self._get(key, int, "an integer", required=True)
        if value is None:
            self.fail(key, "missing (required)")
        return value

    def optional_integer(self, key: str) -> int | None:
        return self._get(key, int, "an integer", required=False)

    def optional_number(self, key: str) -> float | None:
        self._seen.add(key)
        value = self._data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(key, f"expected a number, got {_describe(value)}")
        if value <= 0:
            self.fail(key, "must be more than zero")
        return float(value)

    def optional_bool(self, key: str) -> bool | None:
        return self._get(key, bool, "true or false", required=False)

    def optional_string_list(self, key: str) -> list[str] | None:
        value = self._get(key, list, "a list of strings", required=False)
        if value is not None and not all(isinstance(item, str) for item in value):
            self.fail(key, "expected a list of strings")
        return value

    def table(self, key: str) -> _Table:
        value = self._get(key, dict, "a table", required=True)
        if value is None:
            self.fail(key, "missing (required)")
        return _Table(value, self._file, f"{self._qualified(key)}.")

    def optional_table(self, key: str) -> _Table | None:
        value = self._get(key, dict, "a table", required=False)
        return None if value is None else _Table(value, self._file, f"{self._qualified(key)}.")

    def table_array(self, key: str) -> list[_Table]:
        value = self._get(key, list, "an array of tables ([[...]])", required=False)
        if value is None:
            return []
        tables = []
        for position, item in enumerate(value):
            if not isinstance(item, dict):
                self.fail(key, f"item {position + 1} is {_describe(item)}, expected a table")
            tables.append(_Table(item, self._file, f"{self._qualified(key)}[{position}]."))
        return tables

    def raw(self, key: str) -> Any:
        self._seen.add(key)
        return self._data.get(key)

    def finish(self) -> None:
        """Reject keys nobody asked for: they are typos or options from another version."""
        unknown = [key for key in self._data if key not in self._seen]
        if unknown:
            self.fail(unknown[0], "unknown key")


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__
