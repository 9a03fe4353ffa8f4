"""Find the server binaries a sandbox runs: MariaDB's, or MySQL's when those are what is installed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from drkit.errors import SandboxError
from drkit.io.secrets import child_environment
from drkit.model.version import Flavour, ServerVersion

# Ordinary users' PATH often lacks sbin, where Debian puts mariadbd.
EXTRA_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/libexec", "/usr/local/mysql/bin")


@dataclass(frozen=True)
class ServerBinaries:
    flavour: Flavour
    server: Path
    installer: Path | None  # mariadb-install-db; MySQL initializes with the server itself
    client: Path | None
    binlog_tool: Path | None
    dump_tool: Path | None
    version: ServerVersion


def find_program(*names: str) -> Path | None:
    search = os.pathsep.join([os.environ.get("PATH", ""), *EXTRA_DIRS])
    for name in names:
        found = shutil.which(name, path=search)
        if found:
            return Path(found)
    return None


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
        out = subprocess.run(
            [str(server), "--version"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
            env=child_environment(),
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise SandboxError(f"cannot run {server} --version: {exc}") from None
    match = _VERSION_OUT.search(out.strip())
    if match is None:
        raise SandboxError(f"cannot read a version from `{server} --version`: {out.strip()!r}")
    return ServerVersion.parse(match.group(1), comment=match.group(2))
