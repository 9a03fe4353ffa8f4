"""A client for HAProxy's runtime API over its UNIX admin socket.

One command per connection, as HAProxy's non-interactive mode (and `socat`) does: send a line,
read until HAProxy closes. The API reports failures as text, never as a status code, so every
answer is inspected, and every change is read back before it counts as done.
"""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path

from drkit.config import LoadBalancerConfig
from drkit.errors import NodeError
from drkit.model.loadbalancer import (
    Action,
    AdminFlag,
    LoadBalancerView,
    Mode,
    ServerCommand,
    ServerState,
    parse_servers_state,
    parse_sessions,
    reply_error,
    set_state_command,
    show_servers_state_command,
    show_stat_command,
    shutdown_sessions_command,
)
from drkit.retry import Retry

_MAX_REPLY = 4 * 1024 * 1024
_POLL_INTERVAL = 0.05


def view(config: LoadBalancerConfig) -> LoadBalancerView:
    """The load balancer's view of the writers' backend; never raises, says why when it cannot."""
    client = HaproxyClient.from_config(config)
    try:
        reply = client.command(show_servers_state_command(config.backend))
    except NodeError as exc:
        return LoadBalancerView.unreachable(config, exc.message)
    try:
        states = _states_or_raise(client, config.backend, reply)
    except NodeError as exc:
        return LoadBalancerView.unreachable(config, exc.message, answered=True)
    try:
        sessions = client.sessions(config.backend)
    except NodeError:
        sessions = {}  # session counts are a detail of the view: their absence is not a failure
    merged = tuple(_with_sessions(state, sessions) for state in states)
    return LoadBalancerView(
        str(config.socket), config.backend, True, None, merged, dict(config.servers)
    )


class HaproxyClient:
    """Runtime-API commands against one admin socket; NodeError with a sentence on any failure."""

    def __init__(self, socket_path: str | Path, timeout: float = 3.0) -> None:
        self.socket_path = Path(socket_path)
        self.timeout = timeout

    @classmethod
    def from_config(cls, config: LoadBalancerConfig) -> HaproxyClient:
        return cls(config.socket, config.timeout)

    def command(self, text: str) -> str:
        """Send one command and return HAProxy's whole answer."""
        if "\n" in text or ";" in text:
            # `;` and newlines start another command: never send more than we mean to.
            raise ValueError(f"one runtime-API command at a time, not {text!r}")
        where = self.socket_path
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(self.timeout)
                conn.connect(str(where))
                conn.sendall(text.encode("ascii") + b"\n")
                return _read_all(conn).decode("utf-8", errors="replace")
        except FileNotFoundError:
            raise NodeError(
                f"no HAProxy admin socket at {where}",
                hint="is HAProxy running, with `stats socket` at that path?",
            ) from None
        except ConnectionRefusedError:
            raise NodeError(
                f"nothing answers on {where}: the socket file is left from a stopped HAProxy"
            ) from None
        except PermissionError:
            raise NodeError(
                f"not allowed to open {where}",
                hint="run drkit as a user that can open the admin socket (its `mode`/`user`)",
            ) from None
        except TimeoutError:
            raise NodeError(f"HAProxy at {where} did not answer within {self.timeout:g}s") from None
        except OSError as exc:
            raise NodeError(f"cannot talk to HAProxy at {where}: {exc.strerror or exc}") from None

    def show_servers_state(self, backend: str) -> tuple[ServerState, ...]:
        """Every server of `backend` as HAProxy sees it now."""
        reply = self.command(show_servers_state_command(backend))
        return _states_or_raise(self, backend, reply)

    def server_state(self, backend: str, server: str) -> ServerState:
        """One server's state; NodeError when the backend has no such server."""
        states = self.show_servers_state(backend)
        found = next((s for s in states if s.server == server), None)
        if found is None:
            known = ", ".join(s.server for s in states) or "none"
            raise NodeError(
                f"HAProxy at {self.socket_path} has no server {server} in backend {backend} "
                f"(its servers: {known})"
            )
        return found

    def sessions(self, backend: str) -> dict[str, int]:
        """Current sessions per server of `backend`."""
        reply = self.command(show_stat_command(backend))
        try:
            return parse_sessions(reply)
        except ValueError:
            raise NodeError(
                f"HAProxy at {self.socket_path} answered `{show_stat_command(backend)}` with: "
                f"{_one_line(reply)}"
            ) from None

    def set_server_state(self, backend: str, server: str, mode: Mode) -> ServerState:
        """Put a server in ready, drain or maint, and return its state read back afterwards."""
        mode = Mode(mode)
        self.server_state(backend, server)  # an unknown server fails here, before any change
        text = set_state_command(backend, server, mode)
        self._expect_silence(text, self.command(text))
        after = self.server_state(backend, server)
        if after.mode is not mode:
            raise NodeError(
                f"HAProxy accepted `{text}` but reports {server} in {after.mode.value}"
                f"{_why_held(after)}"
            )
        return after

    def shutdown_sessions(self, backend: str, server: str) -> ServerState:
        """Close every open session to a server and wait until HAProxy counts none.

        Meant for a server already in maint: a ready one keeps receiving new sessions.
        """
        self.server_state(backend, server)
        text = shutdown_sessions_command(backend, server)
        self._expect_silence(text, self.command(text))
        # Sessions are killed as their tasks next run, not inside the command: poll briefly.
        left = 0
        for _ in Retry(_POLL_INTERVAL, timeout=self.timeout):
            left = self.sessions(backend).get(server, 0)
            if left == 0:
                break
        else:
            raise NodeError(
                f"{left} session(s) to {backend}/{server} still open "
                f"{self.timeout:g}s after `{text}`"
            )
        after = self.server_state(backend, server)
        return _with_sessions(after, {server: 0})

    def apply(self, command: ServerCommand) -> ServerState:
        """Run one planned step, verified; the same value the dry run printed."""
        if command.action is Action.SHUTDOWN_SESSIONS:
            return self.shutdown_sessions(command.backend, command.server)
        if command.mode is None:
            raise ValueError(f"{command.action} on {command.server} needs a mode")
        return self.set_server_state(command.backend, command.server, command.mode)

    def _expect_silence(self, text: str, reply: str) -> None:
        error = reply_error(reply)
        if error is not None:
            raise NodeError(f"HAProxy at {self.socket_path} refused `{text}`: {error}")


def _states_or_raise(client: HaproxyClient, backend: str, reply: str) -> tuple[ServerState, ...]:
    try:
        states = parse_servers_state(reply)
    except ValueError:
        where, command = client.socket_path, show_servers_state_command(backend)
        if not reply:
            raise NodeError(
                f"HAProxy at {where} closed the connection without answering `{command}`"
            ) from None
        if not reply.strip():
            raise NodeError(f"HAProxy at {where} gave an empty answer to `{command}`") from None
        if "find backend" in reply:
            raise NodeError(f"HAProxy at {where} has no backend {backend}") from None
        raise NodeError(
            f"HAProxy at {where} answered `{command}` with: {_one_line(reply)}"
        ) from None
    return tuple(s for s in states if s.backend == backend)


def _read_all(conn: socket.socket) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < _MAX_REPLY:
        chunk = conn.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _with_sessions(state: ServerState, sessions: dict[str, int]) -> ServerState:
    return replace(state, sessions=sessions.get(state.server))


def _why_held(state: ServerState) -> str:
    if state.admin_flags & AdminFlag.IMAINT:
        return " (it inherits maintenance from a server it tracks)"
    if state.admin_flags & AdminFlag.RMAINT:
        return " (its address does not resolve)"
    return ""


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 200 else flat[:197] + "..."
