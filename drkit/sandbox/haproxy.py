"""A real HAProxy in front of the sandbox: one TCP frontend for writers and an admin socket.

The backend lists every server, the first one ready and the others `disabled` (maint), so exactly
one receives writers until drkit switches them through the runtime API. The runtime state is saved
to a server-state file on stop and loaded on start, so a restarted sandbox keeps the last switch.

Why the servers have no `check`: a MySQL-protocol check (`option mysql-check`) needs a MySQL user,
and even a plain TCP check makes HAProxy change a server's operational state on its own. Measured
on 2.6: a checked server taken out of maint reads back RUNNING at once, then STOPPED a few checks
later if its port is closed. Without `check` a server is RUNNING whenever it is not in maint, so
the state drkit sets is the state it reads back; drkit checks the databases' health itself before
switching. Production setups may add `check`: drkit verifies the admin mode it commanded and
reports the operational state beside it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from drkit.errors import ConfigError, DrkitError, SandboxError
from drkit.io.command import run as command_run
from drkit.io.haproxy import HaproxyClient
from drkit.io.secrets import child_environment
from drkit.model.loadbalancer import checked_name, parse_servers_state
from drkit.retry import Retry

DEFAULT_BACKEND = "mysql_primary"
DEFAULT_FRONTEND = "writers"
SUBDIR = "haproxy"

# HAProxy 2.6 refuses a `stats socket` path over 97 bytes (measured): it binds `<path>.<pid>.tmp`
# first, inside the 108-byte sun_path, then renames it.
MAX_SOCKET_PATH = 97
_BIND_ATTEMPTS = 3
_STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class BackendServer:
    """A server of the writers' backend: HAProxy's name for it and where it listens."""

    name: str
    host: str
    port: int


@dataclass(frozen=True)
class HaproxyInstance:
    """A running sandbox HAProxy: what the sandbox writes into `[loadbalancer]`."""

    pid: int
    frontend_host: str
    frontend_port: int
    socket: Path
    config_path: Path
    pidfile: Path
    state_file: Path
    backend: str
    frontend: str
    servers: tuple[BackendServer, ...]

    @property
    def frontend_address(self) -> str:
        return f"{self.frontend_host}:{self.frontend_port}"

    def loadbalancer_toml(self, nodes: Mapping[str, str], timeout: float = 3.0) -> str:
        """The `[loadbalancer]` table for drkit.toml; `nodes` maps node names to server names."""
        known = {s.name for s in self.servers}
        unknown = [name for name in nodes.values() if name not in known]
        if unknown:
            raise SandboxError(f"no server named {', '.join(unknown)} in the sandbox's HAProxy")
        pairs = ", ".join(f"{json.dumps(node)} = {json.dumps(srv)}" for node, srv in nodes.items())
        return (
            "[loadbalancer]\n"
            'kind = "haproxy"\n'
            f"socket = {json.dumps(str(self.socket))}\n"
            f"backend = {json.dumps(self.backend)}\n"
            f"frontend = {json.dumps(self.frontend_address)}\n"
            f"servers = {{ {pairs} }}\n"
            f"timeout = {timeout!r}\n"
        )


def start(
    directory: Path,
    servers: Sequence[BackendServer],
    *,
    backend: str = DEFAULT_BACKEND,
    frontend: str = DEFAULT_FRONTEND,
    frontend_port: int | None = None,
) -> HaproxyInstance:
    """Start HAProxy for the sandbox in `directory`; one running with this layout is kept."""
    if not servers:
        raise SandboxError("HAProxy needs at least one server in the writers' backend")
    binary = haproxy_binary()
    work = (Path(directory) / SUBDIR).resolve()
    work.mkdir(parents=True, exist_ok=True)
    current = running(directory)
    if current is not None:
        wanted = (tuple(servers), backend, frontend)
        if (current.servers, current.backend, current.frontend) == wanted and (
            frontend_port in (None, current.frontend_port)
        ):
            return current
        stop(directory, current)
    sock = socket_path_for(work)
    paths = _Paths(work, sock)
    if not paths.state_file.exists():
        # A version line alone: HAProxy loads "no saved state" without a warning.
        paths.state_file.write_text("1\n", encoding="utf-8")
    for attempt in range(1, _BIND_ATTEMPTS + 1):
        port = frontend_port or _free_port()
        text = render_config(
            frontend=frontend,
            frontend_port=port,
            backend=backend,
            servers=servers,
            socket_path=sock,
            state_file=paths.state_file,
        )
        paths.config.write_text(text, encoding="utf-8")
        check_config(binary, paths.config)
        result = _launch(binary, paths)
        if result.returncode == 0:
            break
        alerts = _alerts(result.stdout + result.stderr)
        # A port picked free can be taken before HAProxy binds it: pick another.
        if frontend_port is None and "cannot bind" in alerts and attempt < _BIND_ATTEMPTS:
            continue
        raise SandboxError(f"HAProxy did not start ({paths.config}): {alerts}")
    instance = HaproxyInstance(
        pid=_read_pid(paths.pidfile),
        frontend_host="127.0.0.1",
        frontend_port=port,
        socket=sock,
        config_path=paths.config,
        pidfile=paths.pidfile,
        state_file=paths.state_file,
        backend=backend,
        frontend=frontend,
        servers=tuple(servers),
    )
    try:
        HaproxyClient(sock).show_servers_state(backend)
    except DrkitError as exc:
        stop(directory, instance)
        raise SandboxError(f"HAProxy started but its admin socket does not answer: {exc}") from None
    _write_instance(paths.instance, instance)
    return instance


def stop(directory: Path, instance: HaproxyInstance | None = None) -> bool:
    """Save the runtime server state and stop the sandbox's HAProxy; True if one was running."""
    work = (Path(directory) / SUBDIR).resolve()
    instance = instance or _read_instance(work / "instance.json")
    if instance is None:
        return False
    alive = _is_our_haproxy(instance.pid, instance.config_path)
    if alive:
        _save_state(instance)
        _terminate(instance.pid)
    instance.pidfile.unlink(missing_ok=True)
    instance.socket.unlink(missing_ok=True)
    (work / "instance.json").unlink(missing_ok=True)
    if instance.socket.parent != work:
        _remove_if_empty(instance.socket.parent)
    return alive


def running(directory: Path) -> HaproxyInstance | None:
    """The sandbox's HAProxy if it is running, else None."""
    work = (Path(directory) / SUBDIR).resolve()
    instance = _read_instance(work / "instance.json")
    if instance is None or not _is_our_haproxy(instance.pid, instance.config_path):
        return None
    return instance


def render_config(
    *,
    frontend: str,
    frontend_port: int,
    backend: str,
    servers: Sequence[BackendServer],
    socket_path: Path,
    state_file: Path,
    frontend_host: str = "127.0.0.1",
) -> str:
    """haproxy.cfg for the sandbox: the first server takes writers, the others start in maint."""
    if not servers:
        raise SandboxError("HAProxy needs at least one server in the writers' backend")
    try:
        for name in (frontend, backend, *(server.name for server in servers)):
            checked_name(name)
    except ConfigError as exc:
        raise SandboxError(exc.message) from None
    for path in (socket_path, state_file):
        if any(c.isspace() or c in "#'\"\\" for c in str(path)):
            raise SandboxError(f"{path}: HAProxy paths here must have no spaces or quotes")
    lines = [
        "# Written by drkit for a sandbox; rewritten on each `drkit sandbox up`.",
        "# No user, group, chroot or daemon: HAProxy runs as whoever starts it (-D from drkit).",
        "global",
        f"    stats socket {socket_path} mode 600 level admin",
        "    stats timeout 30s",
        f"    server-state-file {state_file}",
        "",
        "defaults",
        "    mode tcp",
        "    timeout connect 2s",
        "    # MySQL connections idle for long: as long as the server's default wait_timeout.",
        "    timeout client 8h",
        "    timeout server 8h",
        "    load-server-state-from-file global",
        "",
        f"frontend {checked_name(frontend)}",
        f"    bind {frontend_host}:{int(frontend_port)}",
        f"    default_backend {checked_name(backend)}",
        "",
        f"backend {checked_name(backend)}",
        "    # No `check`: see drkit/sandbox/haproxy.py. `disabled` = maint until drkit switches.",
    ]
    for position, server in enumerate(servers):
        flag = "" if position == 0 else " disabled"
        lines.append(
            f"    server {checked_name(server.name)} {server.host}:{int(server.port)}{flag}"
        )
    return "\n".join(lines) + "\n"


def haproxy_binary() -> str:
    """The haproxy program: on PATH, else /usr/sbin/haproxy (ordinary users' PATH lacks sbin)."""
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise SandboxError(
            "haproxy is not installed (not on PATH, not in /usr/sbin)",
            hint="install HAProxy (Debian/Ubuntu: apt install haproxy) or drop --haproxy",
        )
    return found


def check_config(binary: str, config_path: Path) -> None:
    """Run `haproxy -c`; SandboxError carrying HAProxy's own alerts when it rejects the file."""
    # Not `-q`: it silences the alerts too, leaving only an exit code (measured on 2.6).
    try:
        result = command_run([binary, "-c", "-f", str(config_path)], timeout=30)
    except OSError as exc:
        raise SandboxError(f"cannot run {binary} -c: {exc.strerror or exc}") from None
    if result.timed_out:
        raise SandboxError(f"{binary} -c -f {config_path} did not finish within 30 s")
    if not result.ok:
        alerts = _alerts((result.stdout + result.stderr).decode("utf-8", "replace"))
        raise SandboxError(f"HAProxy rejects {config_path}: {alerts}")


def socket_path_for(work: Path) -> Path:
    """`work/admin.sock`, or a short private directory under /tmp when that path is too long."""
    preferred = work / "admin.sock"
    if len(os.fsencode(preferred)) <= MAX_SOCKET_PATH:
        return preferred
    digest = hashlib.sha256(os.fsencode(work)).hexdigest()[:12]
    short = Path(tempfile.gettempdir()) / f"drkit-haproxy-{digest}"
    _private_dir(short)
    path = short / "admin.sock"
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        raise SandboxError(f"no socket path short enough for HAProxy: {path}")
    return path


class _Paths:
    def __init__(self, work: Path, sock: Path) -> None:
        self.config = work / "haproxy.cfg"
        self.pidfile = work / "haproxy.pid"
        self.state_file = work / "haproxy.state"
        self.instance = work / "instance.json"
        self.socket = sock


def _launch(binary: str, paths: _Paths) -> subprocess.CompletedProcess[str]:
    # -D: the parent binds every listener (frontend and admin socket), forks the daemon, writes
    # the pidfile and exits 0; a bind failure makes it exit non-zero before forking.
    paths.pidfile.unlink(missing_ok=True)
    return subprocess.run(
        [binary, "-D", "-f", str(paths.config), "-p", str(paths.pidfile)],
        env=child_environment(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def _alerts(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    chosen = [line for line in lines if "[ALERT]" in line] or lines
    return " | ".join(chosen) or "no message"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _read_pid(pidfile: Path) -> int:
    try:
        return int(pidfile.read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        raise SandboxError(f"HAProxy started but wrote no usable pid file at {pidfile}") from None


def _is_our_haproxy(pid: int, config_path: Path) -> bool:
    """Whether `pid` is a live HAProxy run on this config (not a recycled pid, not a zombie)."""
    proc = Path("/proc") / str(pid)
    try:
        status = (proc / "stat").read_text(encoding="ascii", errors="replace")
        cmdline = (proc / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    if status.rpartition(")")[2].split()[:1] == ["Z"]:
        return False
    return os.fsencode(config_path) in cmdline and any(b"haproxy" in arg for arg in cmdline[:1])


def _save_state(instance: HaproxyInstance) -> None:
    # Keep which server is in maint across a restart; a failed dump keeps the previous file.
    try:
        text = HaproxyClient(instance.socket).command("show servers state")
        parse_servers_state(text)
    except (DrkitError, ValueError):
        return
    instance.state_file.write_text(text, encoding="utf-8")


def _terminate(pid: int) -> None:
    # SIGTERM is HAProxy's hard stop; SIGUSR1 would wait for MySQL sessions that may never end.
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if Retry(0.05, timeout=_STOP_TIMEOUT).until(lambda: not _alive(pid)):
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def _alive(pid: int) -> bool:
    try:
        status = (Path("/proc") / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return status.rpartition(")")[2].split()[:1] != ["Z"]


def _write_instance(path: Path, instance: HaproxyInstance) -> None:
    data = asdict(instance)
    data = {key: str(value) if isinstance(value, Path) else value for key, value in data.items()}
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _read_instance(path: Path) -> HaproxyInstance | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return HaproxyInstance(
            pid=int(data["pid"]),
            frontend_host=str(data["frontend_host"]),
            frontend_port=int(data["frontend_port"]),
            socket=Path(data["socket"]),
            config_path=Path(data["config_path"]),
            pidfile=Path(data["pidfile"]),
            state_file=Path(data["state_file"]),
            backend=str(data["backend"]),
            frontend=str(data["frontend"]),
            servers=tuple(
                BackendServer(str(s["name"]), str(s["host"]), int(s["port"]))
                for s in data["servers"]
            ),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _private_dir(path: Path) -> None:
    # /tmp is shared: the directory must be ours, not a symlink, and closed to others.
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        info = path.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            raise SandboxError(f"{path} exists and is not a directory of this user") from None
        os.chmod(path, 0o700)


def _remove_if_empty(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.rmdir()
