"""`drkit sandbox up|down|status`: a real primary, replica and delayed replica on loopback."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from drkit.config import NodeConfig, PasswordSource, Role
from drkit.dialect import grants
from drkit.errors import DrkitError, SandboxError
from drkit.io.mysql import Session, connect
from drkit.model.version import Flavour
from drkit.retry import Retry
from drkit.sandbox import process
from drkit.sandbox.binaries import ServerBinaries, find_binaries
from drkit.sandbox.certs import SandboxCerts, make_certs
from drkit.sandbox.configfile import render_config
from drkit.sandbox.layout import NODE_ROLES, SERVER_IDS, NodeLayout, SandboxLayout
from drkit.sandbox.options import render_client_options, render_server_options
from drkit.sandbox.state import (
    Account,
    HaproxyState,
    NodeState,
    SandboxState,
    load_state,
    save_state,
    write_private,
)
from drkit.tls import TlsSettings, Verify

DEFAULT_DELAY = 3600
READY_TIMEOUT = 60.0

Report = Callable[[str], None]


@dataclass(frozen=True)
class UpResult:
    layout: SandboxLayout
    state: SandboxState
    already_running: bool
    started: tuple[str, ...]
    seconds: float


@dataclass(frozen=True)
class NodeRuntime:
    name: str
    port: int
    pid: int | None
    running: bool


def up(
    directory: Path,
    *,
    delay: int = DEFAULT_DELAY,
    haproxy: bool = False,
    server_options: dict[str, str] | None = None,
    tls: bool = False,
    report: Report = lambda _: None,
) -> UpResult:
    """Start the sandbox in `directory`; a running one is reported and left alone."""
    started_at = time.monotonic()
    layout = SandboxLayout(directory.resolve())
    state = load_state(layout.state_file)
    if state is not None:
        return _resume(layout, state, haproxy, started_at, report)
    if any(node.datadir.exists() for node in layout.nodes()):
        raise SandboxError(
            f"{layout.root} holds node data but no sandbox.json",
            hint=f"remove it with `drkit sandbox down --dir {directory} --purge` or pick another --dir",
        )
    if delay < 0:
        raise SandboxError("--delay must be zero or more seconds")
    binaries = find_binaries()
    state = _create(layout, binaries, delay, server_options or {}, report, tls=tls)
    if haproxy:
        state = _start_haproxy(layout, state, report)
        save_state(layout.state_file, state)
        write_private(layout.config_file, render_config(layout, state))
        _write_app_client(layout, state)
    return UpResult(layout, state, False, tuple(NODE_ROLES), time.monotonic() - started_at)


def _write_app_client(layout: SandboxLayout, state: SandboxState) -> None:
    """`app.cnf`: the application's connection, through HAProxy's writers frontend when there is
    one (as a real application's would go), to the primary otherwise."""
    port = state.haproxy.frontend_port if state.haproxy else state.nodes["primary"].port
    write_private(
        layout.app_client_file,
        render_client_options(
            host="127.0.0.1",
            port=port,
            user=state.application.user,
            password=state.application.password,
        ),
    )


def down(directory: Path, *, purge: bool = False, report: Report = lambda _: None) -> list[str]:
    """Stop every process the sandbox started (by pid); `purge` deletes its files too."""
    layout = SandboxLayout(directory.resolve())
    state = load_state(layout.state_file)
    stopped: list[str] = []
    if state is not None and state.docker:
        from drkit.sandbox import containers as docker_sandbox

        docker_sandbox.down(directory, purge=purge)
        if purge:
            _purge(layout)
        return list(state.nodes)
    if state is None:
        if purge and any(node.root.exists() for node in layout.nodes()):
            _purge(layout)
            report(f"removed sandbox files in {layout.root}")
        return stopped
    if state.haproxy is not None:
        from drkit.sandbox import haproxy as haproxy_runtime

        if haproxy_runtime.stop(layout.root):
            stopped.append("haproxy")
            report("stopped haproxy")
    for name, node in state.nodes.items():
        if node.pid and process.is_running(node.pid, layout.node(name)):
            if not process.stop(node.pid, layout.node(name)):
                raise SandboxError(f"{name} (pid {node.pid}) did not stop")
            stopped.append(name)
            report(f"stopped {name} (pid {node.pid})")
    cleared = replace(
        state, nodes={name: replace(node, pid=None) for name, node in state.nodes.items()}
    )
    if purge:
        _purge(layout)
        report(f"removed sandbox files in {layout.root}")
    else:
        save_state(layout.state_file, cleared)
    return stopped


def runtime(directory: Path) -> tuple[SandboxLayout, SandboxState, list[NodeRuntime]]:
    """The recorded sandbox and which of its processes are alive."""
    layout = SandboxLayout(directory.resolve())
    state = load_state(layout.state_file)
    if state is None:
        raise SandboxError(f"no sandbox in {layout.root}", hint="start one with `drkit sandbox up`")
    nodes = [
        NodeRuntime(name, node.port, node.pid, process.is_running(node.pid, layout.node(name)))
        for name, node in state.nodes.items()
    ]
    return layout, state, nodes


def kill_node(directory: Path, name: str) -> None:
    """SIGKILL one node, as a crash would (drills and tests)."""
    layout, state, _ = runtime(directory)
    node = state.nodes.get(name)
    if node is None or node.pid is None:
        raise SandboxError(f"sandbox node {name!r} is not running")
    if not process.kill(node.pid, layout.node(name)):
        raise SandboxError(f"{name} (pid {node.pid}) survived SIGKILL")
    save_state(layout.state_file, state.with_node(replace(node, pid=None)))


def start_node(directory: Path, name: str) -> None:
    """Start one stopped node again with its data (drills and tests)."""
    layout, state, nodes = runtime(directory)
    if any(n.name == name and n.running for n in nodes):
        return
    binaries = find_binaries()
    node = state.nodes[name]
    pid = process.start(binaries, layout.node(name))
    _wait_ready(layout, layout.node(name), pid)
    save_state(layout.state_file, state.with_node(replace(node, pid=pid)))


def admin_node(layout: SandboxLayout, state: SandboxState, name: str) -> NodeConfig:
    """A NodeConfig for the sandbox's admin account on one node."""
    return NodeConfig(
        name=name,
        role=NODE_ROLES[name],
        host="127.0.0.1",
        port=state.nodes[name].port,
        user=state.admin.user,
        password=PasswordSource(literal=state.admin.password),
        delay=state.delay if name == "delayed" else None,
        tls=client_tls(layout) if state.tls else None,
    )


def client_tls(layout: SandboxLayout) -> TlsSettings:
    """What drkit's account presents and checks on a `--tls` sandbox."""
    certs = sandbox_certs(layout)
    return TlsSettings(certs.ca, certs.client_cert, certs.client_key, Verify.IDENTITY)


def sandbox_certs(layout: SandboxLayout) -> SandboxCerts:
    return SandboxCerts(layout.root / "tls")


# -- creating ------------------------------------------------------------------------------


def _create(
    layout: SandboxLayout,
    binaries: ServerBinaries,
    delay: int,
    server_options: dict[str, str],
    report: Report,
    *,
    tls: bool = False,
) -> SandboxState:
    layout.root.mkdir(parents=True, exist_ok=True)
    layout.root.chmod(0o700)
    if tls:
        certs = make_certs(sandbox_certs(layout).folder)
        report(f"made a private CA and certificates in {certs.folder}")
        server_options = {
            "ssl-ca": str(certs.ca),
            "ssl-cert": str(certs.server_cert),
            "ssl-key": str(certs.server_key),
            "require-secure-transport": "ON",
            **server_options,
        }
    layout.socket_dir().mkdir(mode=0o700, parents=True, exist_ok=True)
    ports = free_ports(len(NODE_ROLES))
    report(f"initializing {len(NODE_ROLES)} data directories ({binaries.version})")
    installs = {node.name: process.initialize(binaries, node) for node in layout.nodes()}
    for node in layout.nodes():
        process.finish_initialize(installs[node.name], node)
    state = SandboxState(
        flavour=binaries.flavour.value,
        version=binaries.version.text,
        delay=delay,
        admin=Account("admin", _password()),
        drkit=Account("drkit", _password()),
        replication=Account("repl", _password()),
        application=Account("app", _password()),
        nodes={
            name: NodeState(name, port, SERVER_IDS[name])
            for name, port in zip(NODE_ROLES, ports, strict=True)
        },
        tls=tls,
    )
    for node in layout.nodes():
        _write_options(layout, binaries.flavour, node, state, server_options)
    pids = {node.name: process.start(binaries, node) for node in layout.nodes()}
    state = replace(
        state, nodes={name: replace(n, pid=pids[name]) for name, n in state.nodes.items()}
    )
    save_state(layout.state_file, state)
    report("starting primary, replica and delayed on ports " + ", ".join(map(str, ports)))
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda n: _wait_ready(layout, n, pids[n.name]), layout.nodes()))
    for node in layout.nodes():
        _bootstrap_accounts(layout, node, state)
    for name in ("replica", "delayed"):
        _start_replication(layout, state, name)
    write_private(layout.config_file, render_config(layout, state))
    _write_app_client(layout, state)
    for node in layout.nodes():
        write_private(
            node.client_file,
            render_client_options(
                host="127.0.0.1",
                port=state.nodes[node.name].port,
                user=state.admin.user,
                password=state.admin.password,
            )
            + ("\n".join(client_tls(layout).option_lines(mariadb=True)) + "\n" if tls else ""),
        )
    _wait_replicating(layout, state)
    report(f"wrote {layout.config_file}")
    return state


def _write_options(
    layout: SandboxLayout,
    flavour: Flavour,
    node: NodeLayout,
    state: SandboxState,
    extra: dict[str, str],
) -> None:
    text = render_server_options(
        flavour,
        datadir=node.datadir,
        port=state.nodes[node.name].port,
        socket=layout.socket(node.name),
        pid_file=node.pid_file,
        error_log=node.error_log,
        tmpdir=node.tmpdir,
        server_id=SERVER_IDS[node.name],
        read_only=NODE_ROLES[node.name] is not Role.PRIMARY,
        extra=extra,
    )
    node.options_file.write_text(text, encoding="utf-8")


def _root_session(layout: SandboxLayout, name: str) -> Session:
    # Right after initialization only root@localhost exists, reachable through the socket.
    root = NodeConfig(
        name=name,
        role=NODE_ROLES[name],
        host="localhost",
        port=0,
        user="root",
        password=PasswordSource(literal=""),
        socket=str(layout.socket(name)),
    )
    return connect(root, timeout=2)


def _wait_ready(layout: SandboxLayout, node: NodeLayout, pid: int) -> None:
    socket_path = layout.socket(node.name)
    for _ in Retry(0.05, timeout=READY_TIMEOUT):
        if not process.is_running(pid, node):
            raise SandboxError(
                f"{node.name} exited while starting: {process.log_tail(node.error_log)}",
                hint=f"see {node.error_log}",
            )
        if socket_path.exists():
            try:
                _root_session(layout, node.name).close()
                return
            except DrkitError:
                pass
            try:
                admin = _admin_session_if_bootstrapped(layout, node.name)
            except DrkitError:
                admin = None
            if admin is not None:
                admin.close()
                return
    raise SandboxError(
        f"{node.name} did not answer within {READY_TIMEOUT:.0f} s; see {node.error_log}"
    )


def _admin_session_if_bootstrapped(layout: SandboxLayout, name: str) -> Session | None:
    # After bootstrap root has no network login; a restarted node answers to the admin account.
    state = load_state(layout.state_file)
    if state is None or name not in state.nodes:
        return None
    node = admin_node(layout, state, name)
    if not state.tls:  # a REQUIRE X509 account cannot log in through the socket
        node = replace(node, socket=str(layout.socket(name)))
    return connect(node, timeout=2)


def _bootstrap_accounts(layout: SandboxLayout, node: NodeLayout, state: SandboxState) -> None:
    with _root_session(layout, node.name) as session:
        d = session.dialect
        # Accounts are local to each node: keep them out of the binlog so replicas stay in step.
        session.run(d.set_session_binlog(False))
        for row in session.rows(d.accounts()):
            user, host = str(row["user"]), str(row["host"])
            if user == "root" and host != "localhost":
                session.run(d.drop_user(user, host))
        for host in ("%", "localhost"):
            session.run(d.create_user(state.admin.user, host, state.admin.password))
            session.run(d.grant_all(state.admin.user, host))
        session.run(d.create_user(state.replication.user, "%", state.replication.password))
        session.run(d.grant_replication(state.replication.user, "%"))
        session.run(d.create_user(state.application.user, "%", state.application.password))
        session.run(d.grant_application(state.application.user, "%"))
        if state.drkit is not None:
            # Exactly what drkit's features need (docs/grants.md), no more.
            needs = grants.required(session.version.is_mariadb)
            for host in ("%", "localhost"):
                session.run(d.create_user(state.drkit.user, host, state.drkit.password))
                session.run(grants.grant_statement(needs, f"{state.drkit.user}@{host}"))
        if state.tls:
            # drkit logs in with its certificate only; replication runs over TLS.
            for account in {state.admin.user, state.tool_account.user}:
                for host in ("%", "localhost"):
                    session.run(d.require_tls(account, host, certificate=True))
            session.run(d.require_tls(state.replication.user, "%", certificate=False))


def _start_replication(layout: SandboxLayout, state: SandboxState, name: str) -> None:
    with connect(admin_node(layout, state, name), timeout=5) as session:
        d = session.dialect
        session.run(
            d.change_source(
                "127.0.0.1",
                state.nodes["primary"].port,
                state.replication.user,
                state.replication.password,
                delay=state.delay if name == "delayed" else 0,
            )
        )
        if state.tls:
            certs = sandbox_certs(layout)
            session.run(d.source_tls(str(certs.ca), None, None, verify=True))
        session.run(d.start_replication())


def _wait_replicating(layout: SandboxLayout, state: SandboxState, timeout: float = 30) -> None:
    pending = {"replica", "delayed"}
    for _ in Retry(0.05, timeout=timeout):
        for name in sorted(pending):
            with connect(admin_node(layout, state, name), timeout=5) as session:
                row = session.one(session.dialect.replica_status())
            io_state = str(
                (row or {}).get("Slave_IO_Running", (row or {}).get("Replica_IO_Running"))
            )
            sql_state = str(
                (row or {}).get("Slave_SQL_Running", (row or {}).get("Replica_SQL_Running"))
            )
            if io_state == "Yes" and sql_state == "Yes":
                pending.discard(name)
        if not pending:
            return
    raise SandboxError(
        f"replication did not start on {', '.join(sorted(pending))} within {timeout:.0f} s"
    )


# -- resuming and stopping -------------------------------------------------------------------


def _resume(
    layout: SandboxLayout, state: SandboxState, haproxy: bool, started_at: float, report: Report
) -> UpResult:
    stopped = [
        name
        for name, node in state.nodes.items()
        if not process.is_running(node.pid, layout.node(name))
    ]
    wants_proxy = haproxy or state.haproxy is not None
    proxy_down = wants_proxy and not _haproxy_running(layout, state)
    if not stopped and not proxy_down:
        report(f"sandbox in {layout.root} is already running; nothing changed")
        return UpResult(layout, state, True, (), time.monotonic() - started_at)
    binaries = find_binaries()
    for name in stopped:
        pid = process.start(binaries, layout.node(name))
        state = state.with_node(replace(state.nodes[name], pid=pid))
        save_state(layout.state_file, state)
        report(f"started {name} again (pid {pid})")
    for name in stopped:
        _wait_ready(layout, layout.node(name), state.nodes[name].pid or 0)
    if proxy_down:
        state = _start_haproxy(layout, state, report)
        save_state(layout.state_file, state)
        write_private(layout.config_file, render_config(layout, state))
        _write_app_client(layout, state)
    return UpResult(layout, state, False, tuple(stopped), time.monotonic() - started_at)


def _haproxy_running(layout: SandboxLayout, state: SandboxState) -> bool:
    if state.haproxy is None:
        return False
    from drkit.sandbox import haproxy as haproxy_runtime

    return haproxy_runtime.running(layout.root) is not None


# HAProxy's names for the sandbox nodes; the first listed takes writers when HAProxy starts.
HAPROXY_SERVERS = {"primary": "db1", "replica": "db2", "delayed": "db3"}


def _start_haproxy(layout: SandboxLayout, state: SandboxState, report: Report) -> SandboxState:
    from drkit.sandbox import haproxy as haproxy_runtime

    servers = [
        haproxy_runtime.BackendServer(server, "127.0.0.1", state.nodes[name].port)
        for name, server in HAPROXY_SERVERS.items()
    ]
    instance = haproxy_runtime.start(layout.root, servers)
    report(f"haproxy: writers on {instance.frontend_address}, admin socket {instance.socket}")
    return replace(
        state,
        haproxy=HaproxyState(
            frontend_port=instance.frontend_port,
            socket=str(instance.socket),
            backend=instance.backend,
            servers=dict(HAPROXY_SERVERS),
        ),
    )


def _purge(layout: SandboxLayout) -> None:
    shutil.rmtree(layout.root / "nodes", ignore_errors=True)
    shutil.rmtree(layout.haproxy_dir, ignore_errors=True)
    shutil.rmtree(sandbox_certs(layout).folder, ignore_errors=True)
    socket_dir = layout.socket_dir()
    if socket_dir != layout.root / "run":
        shutil.rmtree(socket_dir, ignore_errors=True)
    shutil.rmtree(layout.root / "run", ignore_errors=True)
    # What drkit itself wrote beside the sandbox's config: the index, the archive, the audit log.
    shutil.rmtree(layout.root / "binlogs", ignore_errors=True)
    for pattern in ("index.db*", "drkit-*.json*", "drkit-*.jsonl", "*.cnf", "drkit.lock"):
        for path in layout.root.glob(pattern):
            path.unlink(missing_ok=True)
    # Relay logs a recovery copied aside (primary lost): the sandbox's own, gone with it.
    for path in layout.root.glob("drkit-relay-backup-*"):
        shutil.rmtree(path, ignore_errors=True)
    for path in (layout.state_file, layout.config_file, layout.app_client_file):
        path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        layout.root.rmdir()  # only when nothing else is left in it


def free_ports(count: int) -> list[int]:
    """Ports nobody listens on right now; all held open together so they differ."""
    with contextlib.ExitStack() as held:
        sockets = []
        for _ in range(count):
            sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]


def _password() -> str:
    return secrets.token_urlsafe(18)
