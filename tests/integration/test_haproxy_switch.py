"""A real HAProxy 2.6 in front of two tiny TCP servers: switch writers through the runtime API."""

from __future__ import annotations

import os
import signal
import socket
import socketserver
import subprocess
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from drkit import config as drkit_config
from drkit.config import LoadBalancerConfig
from drkit.errors import NodeError, SandboxError
from drkit.io.haproxy import HaproxyClient, view
from drkit.model.loadbalancer import LoadBalancerView, Mode, writer_switch_plan
from drkit.sandbox import haproxy as sandbox_haproxy
from drkit.sandbox.haproxy import BackendServer, HaproxyInstance

pytestmark = pytest.mark.haproxy

NODES = {"primary": "db1", "delayed": "db3"}


class _IdHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server_id: bytes = self.server.server_id  # type: ignore[attr-defined]
        self.request.sendall(server_id + b"\n")
        # Keep the connection open until the client (or HAProxy) closes it.
        while self.request.recv(1024):
            pass


class IdServer(socketserver.ThreadingTCPServer):
    """Answers every connection with its own id, like `SELECT @@server_id` would."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, server_id: str) -> None:
        super().__init__(("127.0.0.1", 0), _IdHandler)
        self.server_id = server_id.encode()

    @property
    def port(self) -> int:
        port: int = self.server_address[1]
        return port


@pytest.fixture
def id_servers() -> Iterator[tuple[IdServer, IdServer]]:
    servers = (IdServer("A"), IdServer("B"))
    threads = [
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        for s in servers
    ]
    for thread in threads:
        thread.start()
    try:
        yield servers
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


@dataclass
class Running:
    instance: HaproxyInstance
    directory: Path
    config: LoadBalancerConfig
    client: HaproxyClient

    def connect(self) -> str:
        """Open a connection through the frontend and return the id of the server behind it."""
        with socket.create_connection(("127.0.0.1", self.instance.frontend_port), timeout=5) as c:
            return read_id(c)

    def modes(self) -> dict[str, Mode]:
        return {s.server: s.mode for s in self.client.show_servers_state(self.config.backend)}


def read_id(conn: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(64)
        if not chunk:
            break
        data += chunk
    return data.decode().strip()


def mode_of(seen: LoadBalancerView, node: str) -> Mode:
    state = seen.for_node(node)
    assert state is not None, f"no server for node {node} in {seen}"
    return state.mode


def sessions_of(seen: LoadBalancerView, server: str) -> int | None:
    state = seen.server(server)
    assert state is not None, f"no server {server} in {seen}"
    return state.sessions


def backend_for(servers: tuple[IdServer, IdServer]) -> list[BackendServer]:
    a, b = servers
    return [BackendServer("db1", "127.0.0.1", a.port), BackendServer("db3", "127.0.0.1", b.port)]


@pytest.fixture
def haproxy(tmp_path: Path, id_servers: tuple[IdServer, IdServer]) -> Iterator[Running]:
    directory = tmp_path / "sandbox"
    try:
        instance = sandbox_haproxy.start(directory, backend_for(id_servers))
        config = LoadBalancerConfig(
            "haproxy", instance.socket, instance.backend, dict(NODES), timeout=3.0
        )
        yield Running(instance, directory, config, HaproxyClient.from_config(config))
    finally:
        sandbox_haproxy.stop(directory)


def test_switch_moves_new_connections_and_the_view_follows(haproxy: Running) -> None:
    assert haproxy.connect() == "A"
    before = view(haproxy.config)
    assert [s.server for s in before.writers] == ["db1"]
    assert before.problems == ()

    for step in writer_switch_plan(haproxy.config, "primary", "delayed"):
        haproxy.client.apply(step)

    assert {haproxy.connect() for _ in range(5)} == {"B"}
    after = view(haproxy.config)
    assert after.reachable and after.reason is None
    assert mode_of(after, "primary") is Mode.MAINT
    assert mode_of(after, "delayed") is Mode.READY
    assert [s.server for s in after.writers] == ["db3"]
    assert after.problems == ()
    data = after.to_json()
    assert [(s["node"], s["takes_traffic"]) for s in data["servers"]] == [
        ("primary", False),
        ("delayed", True),
    ]


def test_switch_cuts_sessions_already_open_to_the_old_writer(haproxy: Running) -> None:
    port = haproxy.instance.frontend_port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as old:
        assert read_id(old) == "A"
        assert sessions_of(view(haproxy.config), "db1") == 1
        for step in writer_switch_plan(haproxy.config, "primary", "delayed"):
            haproxy.client.apply(step)
        assert old.recv(64) == b""  # closed by HAProxy: it can no longer write to A
    assert sessions_of(view(haproxy.config), "db1") == 0
    assert haproxy.connect() == "B"


def test_drain_then_ready_is_read_back(haproxy: Running) -> None:
    drained = haproxy.client.set_server_state("mysql_primary", "db1", Mode.DRAIN)
    assert drained.mode is Mode.DRAIN and not drained.takes_traffic
    ready = haproxy.client.set_server_state("mysql_primary", "db1", Mode.READY)
    assert ready.mode is Mode.READY and ready.takes_traffic
    assert haproxy.connect() == "A"


def test_unknown_server_is_an_error_and_changes_nothing(haproxy: Running) -> None:
    before = haproxy.modes()
    with pytest.raises(NodeError, match="no server nosuch in backend mysql_primary"):
        haproxy.client.set_server_state("mysql_primary", "nosuch", Mode.MAINT)
    with pytest.raises(NodeError, match="has no backend nosuch"):
        haproxy.client.set_server_state("nosuch", "db1", Mode.MAINT)
    assert haproxy.modes() == before == {"db1": Mode.READY, "db3": Mode.MAINT}
    assert haproxy.connect() == "A"


def test_runtime_api_errors_come_back_as_text(haproxy: Running) -> None:
    # What the pre-check in set_server_state protects from: HAProxy itself answers with a sentence.
    reply = haproxy.client.command("set server mysql_primary/nosuch state ready")
    assert reply.strip() == "No such server."


def test_view_of_an_unknown_backend_says_so(haproxy: Running) -> None:
    config = LoadBalancerConfig("haproxy", haproxy.instance.socket, "nosuch", dict(NODES))
    seen = view(config)
    assert seen.reachable
    assert seen.reason is not None and "has no backend nosuch" in seen.reason
    assert seen.servers == ()


def test_dead_socket_gives_an_unreachable_view(
    tmp_path: Path, id_servers: tuple[IdServer, IdServer]
) -> None:
    directory = tmp_path / "sandbox"
    try:
        instance = sandbox_haproxy.start(directory, backend_for(id_servers))
        config = LoadBalancerConfig("haproxy", instance.socket, instance.backend, dict(NODES))
        assert view(config).reachable
    finally:
        assert sandbox_haproxy.stop(directory)
    seen = view(config)
    assert not seen.reachable
    assert seen.reason == f"no HAProxy admin socket at {instance.socket}"
    assert sandbox_haproxy.running(directory) is None
    assert not instance.socket.exists()


def test_start_is_idempotent_and_a_restart_keeps_the_switch(haproxy: Running) -> None:
    again = sandbox_haproxy.start(haproxy.directory, list(haproxy.instance.servers))
    assert again.pid == haproxy.instance.pid
    for step in writer_switch_plan(haproxy.config, "primary", "delayed"):
        haproxy.client.apply(step)
    assert sandbox_haproxy.stop(haproxy.directory)
    restarted = sandbox_haproxy.start(haproxy.directory, list(haproxy.instance.servers))
    assert restarted.pid != haproxy.instance.pid
    haproxy.instance = restarted
    assert haproxy.modes() == {"db1": Mode.MAINT, "db3": Mode.READY}
    assert haproxy.connect() == "B"


def test_loadbalancer_toml_reads_back_through_the_config_loader(haproxy: Running) -> None:
    section = haproxy.instance.loadbalancer_toml(NODES)
    text = (
        "[nodes.primary]\nrole = 'primary'\nhost = '127.0.0.1'\nport = 13306\nuser = 'drkit'\n"
        "[nodes.delayed]\nrole = 'delayed'\nhost = '127.0.0.1'\nport = 13308\nuser = 'drkit'\n"
        "delay = 3600\n" + section
    )
    file = haproxy.directory / "drkit.toml"
    parsed = drkit_config.parse(tomllib.loads(text), file).loadbalancer
    assert parsed is not None
    assert parsed.socket == haproxy.instance.socket
    assert dict(parsed.servers) == NODES
    assert parsed.frontend == f"127.0.0.1:{haproxy.instance.frontend_port}"
    assert view(parsed).problems == ()


def test_deep_sandbox_directory_gets_a_short_socket(
    tmp_path: Path, id_servers: tuple[IdServer, IdServer]
) -> None:
    directory = tmp_path / ("deep" * 20) / ("er" * 20)
    try:
        instance = sandbox_haproxy.start(directory, backend_for(id_servers))
        assert not instance.socket.is_relative_to(directory)
        assert [
            s.server for s in HaproxyClient(instance.socket).show_servers_state("mysql_primary")
        ] == [
            "db1",
            "db3",
        ]
    finally:
        sandbox_haproxy.stop(directory)
    assert not instance.socket.parent.exists()


def test_haproxy_rejection_is_surfaced_with_its_own_words(tmp_path: Path) -> None:
    bad = tmp_path / "bad.cfg"
    bad.write_text("frontend f\n    bind 127.0.0.1:1\n    no_such_keyword 1\n", encoding="utf-8")
    with pytest.raises(SandboxError, match="no_such_keyword"):
        sandbox_haproxy.check_config(sandbox_haproxy.haproxy_binary(), bad)


def test_a_taken_frontend_port_is_reported(
    tmp_path: Path, id_servers: tuple[IdServer, IdServer]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        directory = tmp_path / "sandbox"
        try:
            with pytest.raises(SandboxError, match="cannot bind"):
                sandbox_haproxy.start(directory, backend_for(id_servers), frontend_port=port)
        finally:
            sandbox_haproxy.stop(directory)


TRACKING_CONFIG = """\
global
    stats socket {socket} mode 600 level admin
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
backend mysql_primary
    server db1 127.0.0.1:{port_a} check disabled
    server db3 127.0.0.1:{port_b} track mysql_primary/db1
"""


def test_an_accepted_command_that_changes_nothing_is_an_error(
    tmp_path: Path, id_servers: tuple[IdServer, IdServer]
) -> None:
    """db3 tracks db1, which is in maint: HAProxy answers `ready` with success, db3 stays down."""
    a, b = id_servers
    sock = tmp_path / "admin.sock"
    cfg = tmp_path / "tracking.cfg"
    pidfile = tmp_path / "haproxy.pid"
    cfg.write_text(
        TRACKING_CONFIG.format(socket=sock, port_a=a.port, port_b=b.port), encoding="utf-8"
    )
    binary = sandbox_haproxy.haproxy_binary()
    sandbox_haproxy.check_config(binary, cfg)
    subprocess.run(
        [binary, "-D", "-f", str(cfg), "-p", str(pidfile)], check=True, capture_output=True
    )
    try:
        client = HaproxyClient(sock)
        assert client.command("set server mysql_primary/db3 state ready").strip() == ""
        with pytest.raises(NodeError, match=r"reports db3 in maint \(it inherits maintenance"):
            client.set_server_state("mysql_primary", "db3", Mode.READY)
    finally:
        pid = int(pidfile.read_text().split()[0])
        os.kill(pid, signal.SIGTERM)
