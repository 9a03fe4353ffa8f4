"""The HAProxy client and the sandbox config where no HAProxy runs: dead sockets, rendering."""

from __future__ import annotations

import os
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from drkit.config import LoadBalancerConfig
from drkit.errors import NodeError, SandboxError
from drkit.io.haproxy import HaproxyClient, view
from drkit.model.loadbalancer import Mode
from drkit.sandbox.haproxy import MAX_SOCKET_PATH, BackendServer, render_config, socket_path_for


def lb_config(sock: Path) -> LoadBalancerConfig:
    return LoadBalancerConfig("haproxy", sock, "mysql_primary", {"primary": "db1"}, timeout=1.0)


def test_missing_socket_gives_an_unreachable_view(tmp_path: Path) -> None:
    seen = view(lb_config(tmp_path / "none.sock"))
    assert not seen.reachable
    assert seen.reason == f"no HAProxy admin socket at {tmp_path / 'none.sock'}"
    assert seen.servers == ()


def test_stale_socket_file_gives_an_unreachable_view(tmp_path: Path) -> None:
    path = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))  # bound, never listening, then closed: what a dead HAProxy leaves
    seen = view(lb_config(path))
    assert not seen.reachable
    assert seen.reason is not None and "left from a stopped HAProxy" in seen.reason


@pytest.fixture
def closing_peer(tmp_path: Path) -> Iterator[Path]:
    """A UNIX socket that accepts and closes without a byte: a HAProxy dying mid-command."""
    path = tmp_path / "closing.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen()
    listener.settimeout(0.05)  # closing a listener does not wake a blocked accept() on Linux
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5)
            conn.recv(1024)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def test_a_silent_close_is_not_taken_for_a_state(closing_peer: Path) -> None:
    seen = view(lb_config(closing_peer))
    assert seen.reachable  # the socket answered, but with nothing
    assert seen.reason is not None and "closed the connection without answering" in seen.reason
    with pytest.raises(NodeError, match="without answering"):
        HaproxyClient(closing_peer, 1.0).set_server_state("mysql_primary", "db1", Mode.MAINT)


def test_client_refuses_to_send_two_commands(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="one runtime-API command"):
        HaproxyClient(tmp_path / "x.sock").command("show info; disable frontend writers")


SERVERS = [
    BackendServer("db1", "127.0.0.1", 13306),
    BackendServer("db2", "127.0.0.1", 13307),
    BackendServer("db3", "127.0.0.1", 13308),
]


def test_config_has_exactly_one_active_writer() -> None:
    text = render_config(
        frontend="writers",
        frontend_port=14000,
        backend="mysql_primary",
        servers=SERVERS,
        socket_path=Path("/srv/s/admin.sock"),
        state_file=Path("/srv/s/haproxy.state"),
    )
    lines = [line.strip() for line in text.splitlines()]
    assert "stats socket /srv/s/admin.sock mode 600 level admin" in lines
    assert "bind 127.0.0.1:14000" in lines
    assert "mode tcp" in lines
    assert "server-state-file /srv/s/haproxy.state" in lines
    assert "load-server-state-from-file global" in lines
    servers = [line for line in lines if line.startswith("server ")]
    assert servers == [
        "server db1 127.0.0.1:13306",
        "server db2 127.0.0.1:13307 disabled",
        "server db3 127.0.0.1:13308 disabled",
    ]
    directives = {line.split()[0] for line in lines if line and not line.startswith("#")}
    assert not directives & {"user", "group", "chroot", "daemon", "uid", "gid"}
    assert not any(" check" in line for line in servers)


@pytest.mark.parametrize(
    ("servers", "socket_path", "message"),
    [
        ([], Path("/srv/a.sock"), "at least one server"),
        ([BackendServer("db 1", "h", 1)], Path("/srv/a.sock"), "not a HAProxy"),
        (SERVERS, Path("/srv/with space/a.sock"), "no spaces"),
    ],
)
def test_config_refuses_what_haproxy_would_misread(
    servers: list[BackendServer], socket_path: Path, message: str
) -> None:
    with pytest.raises(SandboxError, match=message):
        render_config(
            frontend="writers",
            frontend_port=14000,
            backend="mysql_primary",
            servers=servers,
            socket_path=socket_path,
            state_file=Path("/srv/s.state"),
        )


def test_short_directory_keeps_the_socket_inside(tmp_path: Path) -> None:
    assert socket_path_for(tmp_path) == tmp_path / "admin.sock"


def test_deep_directory_gets_a_private_short_socket_directory(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    path = socket_path_for(deep)
    try:
        assert len(os.fsencode(path)) <= MAX_SOCKET_PATH
        assert not path.is_relative_to(deep)
        info = path.parent.lstat()
        assert stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == os.getuid()
        assert socket_path_for(deep) == path  # the same sandbox keeps the same socket
    finally:
        path.parent.rmdir()
