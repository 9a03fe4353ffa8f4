"""Find the server binaries a sandbox runs: MariaDB's, or MySQL's when those are what is installed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from drkit.errors import SandboxError
from drkit.io.command import run as command_run
from drkit.io.programs import EXTRA_DIRS, find_program
from drkit.model.version import Flavour, ServerVersion

__all__ = ["EXTRA_DIRS", "ServerBinaries", "find_binaries", "find_program", "server_version"]


@dataclass(frozen=True)
class ServerBinaries:
    flavour: Flavour
    server: Path
    installer: Path | None  # mariadb-install-db; MySQL initializes with the server itself
    client: Path | None
    binlog_tool: Path | None
    dump_tool: Path | None
    version: ServerVersion


def find_binaries() -> ServerBinaries:
    """The MariaDB binaries on PATH, else MySQL's; SandboxError saying how to install them."""
    server = find_program("mariadbd")
    if server is not None:
        return ServerBinaries(
            flavour=Flavour.MARIADB,
            server=server,
            installer=find_program("mariadb-install-db", "mysql_install_db"),
            client=find_program("mariadb", "mysql"),
            binlog_tool=find_program("mariadb-binlog", "mysqlbinlog"),
            dump_tool=find_program("mariadb-dump", "mysqldump"),
            version=server_version(server),
        )
    server = find_program("mysqld")
    if server is not None:
        version = server_version(server)
        return ServerBinaries(
            flavour=version.flavour,
            server=server,
            installer=find_program("mariadb-install-db", "mysql_install_db")
            if version.is_mariadb
            else None,
            client=find_program("mysql", "mariadb"),
            binlog_tool=find_program("mysqlbinlog", "mariadb-binlog"),
            dump_tool=find_program("mysqldump", "mariadb-dump"),
            version=version,
        )
    raise SandboxError(
        "no database server found: neither mariadbd nor mysqld is on PATH or in /usr/sbin",
        hint="install MariaDB (apt-get install mariadb-server) or run `make demo`, which does",
    )


_VERSION_OUT = re.compile(r"Ver\s+(\S+)(.*)$")


def server_version(server: Path) -> ServerVersion:
    """Ask the server binary for its version (`mariadbd --version`)."""
    try:
        finished = command_run([str(server), "--version"], timeout=20)
    except OSError as exc:
        raise SandboxError(f"cannot run {server} --version: {exc}") from None
    if not finished.ok:
        why = "timed out" if finished.timed_out else f"exit {finished.returncode}"
        raise SandboxError(f"cannot run {server} --version: {why}")
    out = finished.stdout.decode("utf-8", "replace")
    match = _VERSION_OUT.search(out.strip())
    if match is None:
        raise SandboxError(f"cannot read a version from `{server} --version`: {out.strip()!r}")
    return ServerVersion.parse(match.group(1), comment=match.group(2))
