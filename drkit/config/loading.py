"""Reading drkit.toml: find the file, decode it, validate every table into the schema's values.

Every problem is reported as `FILE: KEY: PROBLEM` through ConfigError (exit code 2). Unknown keys
are errors too: a misspelt `password_evn` must not silently leave a node without a password.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from drkit.config.redact import url_problem
from drkit.config.schema import (
    DAY_NAMES,
    FINDING_CLASSES,
    SEVERITY_LABELS,
    AlertsConfig,
    ClassifyConfig,
    Config,
    DrbdConfig,
    GuardConfig,
    IndexConfig,
    LoadBalancerConfig,
    MaintenanceWindow,
    NodeConfig,
    PasswordSource,
    RetentionConfig,
    Webhook,
)
from drkit.config.table import Table, describe, resolve
from drkit.errors import ConfigError
from drkit.model.roles import Role
from drkit.tls import TlsSettings, parse_tls

DEFAULT_FILE_NAME = "drkit.toml"
INDEX_FILE_NAME = "index.db"
ARCHIVE_DIR_NAME = "binlogs"
CONFIG_ENV = "DRKIT_CONFIG"
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")


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
    root = Table(data, file, "")
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
    retention = _parse_retention(root.optional_table("retention"))
    sandbox_table = root.optional_table("sandbox")
    sandbox_dir = None
    if sandbox_table is not None:
        sandbox_dir = resolve(folder, sandbox_table.string("dir"))
        sandbox_table.finish()
    name = root.optional_string("name") or ""
    root.finish()
    return Config(
        file,
        nodes,
        index,
        drbd,
        loadbalancer,
        classify,
        sandbox_dir,
        name,
        guard,
        alerts,
        retention,
    )


def _parse_nodes(
    table: Table, folder: Path, tls: TlsSettings | None = None
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
            node.missing(
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
            relay_log_dir=resolve(folder, relay_dir) if relay_dir else None,
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


def _parse_password(node: Table, folder: Path) -> PasswordSource:
    for key in ("password_env", "password_file", "password"):
        if not isinstance(node.raw(key), str | None):
            # Never echo what a password key holds, whatever its type.
            node.fail(key, "expected a string (its value is not shown)")
    env = node.optional_string("password_env")
    file = node.optional_string("password_file")
    literal = node.optional_string("password")
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
    return PasswordSource(env=env, file=resolve(folder, file) if file else None, literal=literal)


def _parse_index(table: Table | None, folder: Path) -> IndexConfig:
    if table is None:
        return IndexConfig(folder / INDEX_FILE_NAME, folder / ARCHIVE_DIR_NAME)
    path = resolve(folder, table.optional_string("path") or INDEX_FILE_NAME)
    archive = resolve(folder, table.optional_string("archive_dir") or ARCHIVE_DIR_NAME)
    given = _given(
        writer_process=table.optional_bool("writer_process"),
        writer_process_mb=table.optional_number("writer_process_mb"),
    )
    table.finish()
    return IndexConfig(path, archive, **given)


def _parse_drbd(table: Table) -> DrbdConfig:
    resource = table.string("resource")
    command = table.optional_string_list("command") or ["drbdsetup", "status", "--json", resource]
    if not command:
        table.fail("command", "must name a program to run")
    timeout = table.optional_number("timeout")
    table.finish()
    return DrbdConfig(resource, tuple(command), **_given(timeout=timeout))


def _parse_loadbalancer(
    table: Table, nodes: Mapping[str, NodeConfig], folder: Path
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
        socket=resolve(folder, table.string("socket")),
        backend=table.string("backend"),
        servers=servers,
        frontend=table.optional_string("frontend"),
        **_given(timeout=timeout),
    )
    table.finish()
    return config


def _parse_classify(table: Table | None) -> ClassifyConfig:
    if table is None:
        return ClassifyConfig()
    mass_rows = table.optional_integer("mass_rows")
    if mass_rows is not None and mass_rows < 1:
        table.fail("mass_rows", "must be at least 1")
    ignore = table.optional_string_list("ignore_tables") or []
    table.finish()
    return ClassifyConfig(ignore_tables=tuple(ignore), **_given(mass_rows=mass_rows))


def _parse_guard(table: Table | None) -> GuardConfig:
    if table is None:
        return GuardConfig()
    severity = (table.optional_string("min_severity") or GuardConfig.min_severity).strip().lower()
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


def _parse_window(table: Table) -> MaintenanceWindow:
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


def _minutes(table: Table, key: str, *, allow_end_of_day: bool) -> int:
    text = table.string(key).strip()
    match = _CLOCK.fullmatch(text)
    hours, minutes = (int(match.group(1)), int(match.group(2))) if match else (-1, -1)
    total = hours * 60 + minutes
    if not match or minutes > 59 or total > 24 * 60 or (total == 24 * 60 and not allow_end_of_day):
        last = "24:00" if allow_end_of_day else "23:59"
        table.fail(key, f"{text!r} is not a time of day (HH:MM, 00:00 to {last})")
    return total


def _parse_alerts(table: Table | None) -> AlertsConfig:
    if table is None:
        return AlertsConfig()
    commands = []
    raw_commands = table.raw("commands")
    if raw_commands is not None:
        if not isinstance(raw_commands, list):
            table.fail("commands", f"expected a list of argv lists, got {describe(raw_commands)}")
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
        problem = url_problem(url)
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
        **_given(timeout=timeout, retries=retries),
    )


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")


def _parse_retention(table: Table | None) -> RetentionConfig:
    if table is None:
        return RetentionConfig()
    keep_text = table.optional_string("keep")
    min_free_text = table.optional_string("min_free")
    interval_text = table.optional_string("interval")
    keep = min_free = interval = None
    if keep_text is not None:
        match = _DURATION.fullmatch(keep_text.strip())
        if not match or float(match[1]) <= 0:
            table.fail("keep", f'{keep_text!r} is not a duration such as "7d", "36h", "90m"')
        keep = float(match[1]) * _DURATION_UNITS[match[2]]
    if min_free_text is not None:
        match = _PERCENT.fullmatch(min_free_text.strip())
        if not match or not 0 <= float(match[1]) < 100:
            table.fail("min_free", f'{min_free_text!r} is not a percentage such as "10%"')
        min_free = float(match[1]) / 100
    if interval_text is not None:
        if interval_text.strip() in ("0", "off"):
            interval = 0.0  # no scheduled pruning: `drkit prune` (or its timer) does it
        else:
            match = _DURATION.fullmatch(interval_text.strip())
            if not match or float(match[1]) <= 0:
                table.fail(
                    "interval", f'{interval_text!r} is not a duration such as "1h", "30m", or "off"'
                )
            interval = float(match[1]) * _DURATION_UNITS[match[2]]
    compress = table.optional_string("compress")
    if compress is not None and compress not in COMPRESSIONS:
        table.fail("compress", f"{compress!r} is not one of {', '.join(map(repr, COMPRESSIONS))}")
    level = table.optional_integer("compress_level")
    if level is not None and not 1 <= level <= 19:
        table.fail("compress_level", "must be between 1 and 19 (zstd's levels)")
    table.finish()
    return RetentionConfig(
        **_given(
            keep=keep,
            min_free=min_free,
            interval=interval,
            compress=compress,
            compress_level=level,
        )
    )


COMPRESSIONS = ("none", "zstd")


def _given(**values: Any) -> dict[str, Any]:
    """The keys the file set: the rest keep the schema's defaults, which are stated only there."""
    return {key: value for key, value in values.items() if value is not None}
