"""Start, watch and stop the server processes of a sandbox."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

from drkit.errors import SandboxError
from drkit.io.secrets import child_environment
from drkit.model.version import Flavour
from drkit.retry import Retry
from drkit.sandbox.binaries import ServerBinaries
from drkit.sandbox.layout import NodeLayout


def initialize(binaries: ServerBinaries, node: NodeLayout) -> subprocess.Popen[bytes]:
    """Start creating an empty data directory (returns at once; `finish_initialize` waits)."""
    node.datadir.parent.mkdir(parents=True, exist_ok=True)
    node.tmpdir.mkdir(parents=True, exist_ok=True)
    if binaries.flavour is Flavour.MARIADB:
        if binaries.installer is None:
            raise SandboxError("mariadb-install-db was not found next to mariadbd")
        argv = [
            str(binaries.installer),
            "--no-defaults",
            f"--datadir={node.datadir}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--innodb-log-file-size=32M",
            # Concurrent installs must not share /tmp: their temporary tables collide there.
            f"--tmpdir={node.tmpdir}",
            *_user_flag(),
        ]
    else:
        argv = [
            str(binaries.server),
            "--no-defaults",
            "--initialize-insecure",
            f"--datadir={node.datadir}",
            f"--tmpdir={node.tmpdir}",
            *_user_flag(),
        ]
    # The child has its own copy of the log's descriptor: ours closes once it runs.
    with (node.root / "initialize.log").open("wb") as log:
        try:
            return subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=child_environment(),
            )
        except OSError as exc:
            raise SandboxError(f"cannot run {argv[0]}: {exc.strerror}") from None


def finish_initialize(
    process: subprocess.Popen[bytes], node: NodeLayout, timeout: float = 120
) -> None:
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise SandboxError(f"initializing {node.name} took over {timeout:.0f} s") from None
    if code != 0:
        tail = _tail(node.root / "initialize.log")
        raise SandboxError(
            f"initializing the data directory of {node.name} failed (exit {code}): {tail}"
        )


def start(binaries: ServerBinaries, node: NodeLayout) -> int:
    """Launch the server detached from this process (it outlives the command); returns its pid."""
    argv = [str(binaries.server), f"--defaults-file={node.options_file}", *_user_flag()]
    with node.error_log.open("ab") as log:  # the server has its own copy of the descriptor
        try:
            process = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=child_environment(),
            )
        except OSError as exc:
            raise SandboxError(f"cannot start {node.name}: {exc.strerror}") from None
    return process.pid


def is_running(pid: int | None, node: NodeLayout) -> bool:
    """True when `pid` is alive and really is this node's server (pids get reused)."""
    if not pid:
        return False
    cmdline = _cmdline(pid)
    if cmdline is None:
        return False
    if str(node.options_file).encode() not in cmdline:
        return False
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # A zombie (state Z) has exited already; its parent simply has not reaped it yet.
    return status.rsplit(")", 1)[-1].split()[0] != "Z"


def _cmdline(pid: int) -> bytes | None:
    # Right after exec the kernel may briefly report an empty command line: ask again.
    for _ in Retry(0.01, attempts=50):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        if cmdline:
            return cmdline
    return b""


def stop(pid: int, node: NodeLayout, timeout: float = 30) -> bool:
    """Stop a node's server: SIGTERM (clean shutdown), SIGKILL after `timeout`; True if it stopped."""
    if not is_running(pid, node):
        return True
    _signal(pid, signal.SIGTERM)
    if _wait_gone(pid, node, timeout):
        return True
    _signal(pid, signal.SIGKILL)
    return _wait_gone(pid, node, 5)


def kill(pid: int, node: NodeLayout) -> bool:
    """Kill a node abruptly, as a crash would (drills and tests)."""
    if not is_running(pid, node):
        return True
    _signal(pid, signal.SIGKILL)
    return _wait_gone(pid, node, 10)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError as exc:
        raise SandboxError(f"not allowed to signal process {pid}: {exc.strerror}") from None


def _wait_gone(pid: int, node: NodeLayout, timeout: float) -> bool:
    def gone() -> bool:
        _reap(pid)
        return not is_running(pid, node)

    return Retry(0.05, timeout=timeout).until(gone)


def _reap(pid: int) -> None:
    # When this process started the server (tests, drills), it must reap it or it stays a zombie.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _user_flag() -> list[str]:
    # mariadbd and mysqld refuse to run as root unless told so explicitly.
    return ["--user=root"] if os.geteuid() == 0 else []


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:])


def log_tail(path: Path, lines: int = 5) -> str:
    return _tail(path, lines)
