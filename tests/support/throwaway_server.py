"""A minimal throwaway MariaDB server for the binlog tests and benchmark (not the project sandbox).

It starts `mariadbd` on a free loopback port with row-based binary logging, answers SQL through the
`mariadb` client over its socket, and is always stopped by the context manager that started it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from drkit.retry import Retry

BINLOG_BASENAME = "bin"
DEFAULT_OPTIONS = (
    "--binlog-format=ROW",
    "--binlog-row-image=FULL",
    "--binlog-row-metadata=FULL",
    "--log-slave-updates",
    "--gtid-strict-mode=ON",
    "--innodb-buffer-pool-size=128M",
    "--innodb-log-file-size=96M",
    "--innodb-flush-log-at-trx-commit=0",
    "--sync-binlog=0",
    "--skip-name-resolve",
    "--character-set-server=utf8mb4",
)


def server_binaries_available() -> bool:
    """Whether the MariaDB server, installer, client and binlog tool are on PATH."""
    return all(
        shutil.which(tool)
        for tool in ("mariadbd", "mariadb-install-db", "mariadb", "mariadb-binlog")
    )


@dataclass
class ThrowawayServer:
    """A running server: where its files are and how to talk to it."""

    datadir: Path
    socket: Path
    port: int
    process: subprocess.Popen[bytes]

    def sql(self, text: str, database: str | None = None) -> str:
        """Run SQL through the client (batch mode, no column names) and return its output."""
        args = ["mariadb", "--no-defaults", f"--socket={self.socket}", "-uroot", "-N", "-B"]
        if database:
            args.append(database)
        result = subprocess.run(
            args, input=text.encode(), capture_output=True, check=False, timeout=600
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"SQL failed: {result.stderr.decode(errors='replace')}\n{text[:500]}"
            )
        return result.stdout.decode()

    def rows(self, text: str, database: str | None = None) -> list[list[str]]:
        """Rows of a query's batch output, split on tabs."""
        return [line.split("\t") for line in self.sql(text, database).splitlines()]

    def binlog_path(self, name: str) -> Path:
        return self.datadir / name

    def binlog_files(self) -> list[Path]:
        """The server's binlog files, in order."""
        names = self.sql("SHOW BINARY LOGS").splitlines()
        return [self.datadir / line.split("\t")[0] for line in names]


@contextlib.contextmanager
def throwaway_server(base: Path, options: Sequence[str] = ()) -> Iterator[ThrowawayServer]:
    """Install a fresh datadir under `base`, start the server, yield it, and always stop it."""
    datadir = base / "data"
    datadir.mkdir(parents=True, exist_ok=True)
    sock = base / "s.sock"
    install = [
        "mariadb-install-db",
        "--no-defaults",
        "--auth-root-authentication-method=normal",
        f"--datadir={datadir}",
        "--skip-test-db",
    ]
    if os.geteuid() == 0:
        install.append("--user=root")
    subprocess.run(install, capture_output=True, check=True, timeout=300)
    port = _free_port()
    args = [
        "mariadbd",
        "--no-defaults",
        f"--datadir={datadir}",
        f"--socket={sock}",
        f"--port={port}",
        "--bind-address=127.0.0.1",
        f"--log-bin={datadir / BINLOG_BASENAME}",
        "--server-id=1",
        f"--log-error={base / 'error.log'}",
        f"--pid-file={base / 'mariadbd.pid'}",
        *DEFAULT_OPTIONS,
        *options,
    ]
    if os.geteuid() == 0:
        args.append("--user=root")
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = ThrowawayServer(datadir, sock, port, process)
    try:
        _wait_until_ready(server, base / "error.log")
        yield server
    finally:
        _stop(process)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_ready(server: ThrowawayServer, error_log: Path, timeout: float = 60.0) -> None:
    for _ in Retry(0.2, timeout=timeout):
        if server.process.poll() is not None:
            log = error_log.read_text(errors="replace") if error_log.exists() else ""
            raise RuntimeError(f"mariadbd exited early:\n{log[-2000:]}")
        if server.socket.exists():
            with contextlib.suppress(RuntimeError):
                server.sql("SELECT 1")
                return
    raise RuntimeError("mariadbd did not become ready in time")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)
