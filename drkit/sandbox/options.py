"""Server option files for sandbox nodes (pure rendering)."""

from __future__ import annotations

from pathlib import Path

from drkit.model.version import Flavour

# Shared by every node: what drkit needs from the binlog, and small memory for a laptop.
_COMMON = {
    "bind-address": "127.0.0.1",
    "skip-name-resolve": "ON",
    "log-bin": "mysql-bin",
    "relay-log": "relay-bin",
    "binlog-format": "ROW",
    "binlog-row-image": "FULL",
    "binlog-row-metadata": "FULL",
    "max-connections": "200",
    "innodb-buffer-pool-size": "64M",
    "innodb-flush-log-at-trx-commit": "2",
    "sync-binlog": "0",
    "performance-schema": "OFF",
    # Relay-log recovery would delete the relay logs after a crash: they may be the only copy.
    "relay-log-recovery": "OFF",
}

_MARIADB = {
    "log-slave-updates": "ON",
    "gtid-strict-mode": "ON",
    "gtid-domain-id": "0",
    "innodb-log-file-size": "32M",
    "slave-parallel-threads": "0",
    "binlog-annotate-row-events": "ON",
}

_MYSQL = {
    "log-replica-updates": "ON",
    "gtid-mode": "ON",
    "enforce-gtid-consistency": "ON",
    "mysqlx": "OFF",
    "binlog-rows-query-log-events": "ON",
    "replica-parallel-workers": "0",
    "skip-replica-start": "OFF",
}


def render_server_options(
    flavour: Flavour,
    *,
    datadir: Path,
    port: int,
    socket: Path,
    pid_file: Path,
    error_log: Path,
    tmpdir: Path,
    server_id: int,
    read_only: bool,
    extra: dict[str, str] | None = None,
) -> str:
    """The option file for one node; `extra` overrides or adds settings."""
    section = "mariadbd" if flavour is Flavour.MARIADB else "mysqld"
    settings = {
        "datadir": str(datadir),
        "port": str(port),
        "socket": str(socket),
        "pid-file": str(pid_file),
        "log-error": str(error_log),
        "tmpdir": str(tmpdir),
        "server-id": str(server_id),
        **_COMMON,
        **(_MARIADB if flavour is Flavour.MARIADB else _MYSQL),
        "read-only": "ON" if read_only else "OFF",
        **(extra or {}),
    }
    lines = [f"[{section}]"]
    lines += [f"{key} = {value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def render_client_options(*, host: str, port: int, user: str, password: str) -> str:
    """A client option file, so people and tools get passwords without putting them in argv."""
    quoted = password.replace("\\", "\\\\").replace('"', '\\"')
    return f'[client]\nhost = {host}\nport = {port}\nuser = {user}\npassword = "{quoted}"\n'
