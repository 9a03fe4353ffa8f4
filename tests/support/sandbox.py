"""A real sandbox for integration tests: start it, talk SQL to its nodes, run the CLI on it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mysql.connector

from drkit import config as config_module
from drkit.config import Config, NodeConfig
from drkit.retry import Retry
from drkit.sandbox import topology
from drkit.sandbox.state import SandboxState, load_state


@dataclass
class Sandbox:
    """One running sandbox and handy ways to poke at it."""

    directory: Path

    @property
    def config_file(self) -> Path:
        return self.directory / "drkit.toml"

    @property
    def state(self) -> SandboxState:
        state = load_state(self.directory / "sandbox.json")
        assert state is not None, f"no sandbox in {self.directory}"
        return state

    def config(self) -> Config:
        return config_module.load(self.config_file)

    def admin_node(self, node: str) -> NodeConfig:
        """The node as the sandbox's admin account reaches it (every privilege; drkit's has fewer)."""
        from drkit.sandbox.layout import SandboxLayout

        return topology.admin_node(SandboxLayout(self.directory.resolve()), self.state, node)

    def port(self, node: str) -> int:
        return self.state.nodes[node].port

    def connect(self, node: str, *, app: bool = False, port: int | None = None) -> Any:
        state = self.state
        account = state.application if app else state.admin
        tls: dict[str, Any] = {}
        if state.tls:
            folder = self.directory / "tls"
            tls = {"ssl_ca": str(folder / "ca.pem"), "ssl_verify_cert": True}
            if not app:  # drkit's account is REQUIRE X509
                tls |= {
                    "ssl_cert": str(folder / "client-cert.pem"),
                    "ssl_key": str(folder / "client-key.pem"),
                }
        return mysql.connector.connect(
            **tls,
            host="127.0.0.1",
            port=port or state.nodes[node].port,
            user=account.user,
            password=account.password,
            autocommit=True,
            connection_timeout=5,
            use_pure=True,
        )

    def sql(self, node: str, *statements: str, app: bool = False) -> list[dict[str, Any]]:
        """Run statements on a node; rows of the last one."""
        with closing(self.connect(node, app=app)) as conn:
            cur = conn.cursor(dictionary=True)
            rows: list[dict[str, Any]] = []
            for statement in statements:
                cur.execute(statement)
                rows = list(cur.fetchall()) if cur.with_rows else []
            return rows

    def value(self, node: str, statement: str) -> Any:
        rows = self.sql(node, statement)
        return next(iter(rows[0].values())) if rows else None

    def replica_status(self, node: str) -> dict[str, Any]:
        rows = self.sql(node, "SHOW SLAVE STATUS")
        return rows[0] if rows else {}

    def drkit(
        self,
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """Run the real CLI against this sandbox's config."""
        full_env = {**os.environ, **(env or {})}
        full_env.pop("DRKIT_DEBUG", None)
        return subprocess.run(
            [sys.executable, "-m", "drkit", "--config", str(self.config_file), *args],
            capture_output=True,
            text=True,
            input=input,
            env=full_env,
            timeout=timeout,
            check=False,
        )

    def kill(self, node: str) -> None:
        topology.kill_node(self.directory, node)

    def start(self, node: str) -> None:
        topology.start_node(self.directory, node)

    def down(self, purge: bool = True) -> None:
        topology.down(self.directory, purge=purge)


def start_sandbox(
    directory: Path,
    *,
    delay: int = 3600,
    haproxy: bool = False,
    server_options: dict[str, str] | None = None,
    tls: bool = False,
) -> Sandbox:
    topology.up(directory, delay=delay, haproxy=haproxy, server_options=server_options, tls=tls)
    return Sandbox(directory)


def wait_for(
    predicate: Callable[[], Any],
    timeout: float = 20,
    interval: float = 0.05,
    what: str = "condition",
) -> Any:
    """Poll until predicate() is truthy; its value, or AssertionError naming what never happened."""
    last: Any = None
    for _ in Retry(interval, timeout=timeout):
        last = predicate()
        if last:
            return last
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last value {last!r})")


def pids_alive(pids: Sequence[int | None]) -> list[int]:
    return [
        pid
        for pid in pids
        if pid
        and Path(f"/proc/{pid}").exists()
        and Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z"
    ]
