"""Run `drkit guard` in the background against a sandbox, and a loopback webhook receiver."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.support.sandbox import Sandbox, pids_alive, wait_for

GUARD_SECTIONS = ("[guard]", "[[guard.maintenance]]", "[alerts]")


def set_guard_config(box: Sandbox, text: str) -> None:
    """Replace the [guard]/[alerts] part of the sandbox's drkit.toml (appended after the rest)."""
    current = box.config_file.read_text(encoding="utf-8")
    cut = [current.index(s) for s in GUARD_SECTIONS if s in current]
    base = current[: min(cut)] if cut else current
    box.config_file.write_text(base.rstrip("\n") + "\n\n" + text.strip() + "\n", encoding="utf-8")


def guard_state(box: Sandbox, folder: Path | None = None) -> dict[str, Any]:
    """The guard's state file in the sandbox's folder (or another config's `folder`)."""
    try:
        where = folder or box.directory
        data = json.loads((where / "drkit-guard.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def audit_records(
    box: Sandbox, kind: str | None = None, folder: Path | None = None
) -> list[dict[str, Any]]:
    path = (folder or box.directory) / "drkit-audit.jsonl"
    if not path.exists():
        return []
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [r for r in records if kind is None or r.get("kind") == kind]


class GuardProcess:
    """`drkit guard` as a child in its own process group (the group holds its binlog tool too)."""

    def __init__(
        self, box: Sandbox, log: Path, args: tuple[str, ...] = (), config: Path | None = None
    ) -> None:
        self.box = box
        self.log = log
        self.config_file = config or box.config_file  # another config: a second guard
        handle = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "drkit", "--config", str(self.config_file), "guard", *args],
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=handle,
            env={k: v for k, v in os.environ.items() if k != "DRKIT_DEBUG"},
            start_new_session=True,
        )
        handle.close()

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self) -> None:
        """Until its state file says this process follows the primary."""

        def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"the guard exited {self.process.returncode}: {self.output()}")
            state = guard_state(self.box, self.config_file.parent)
            return state.get("pid") == self.pid and str(state.get("primary", "")).startswith(
                "following"
            )

        wait_for(ready, timeout=30, what="the guard to follow the primary")

    def wait_seen(self, gtid: str) -> None:
        """Until the guard has judged the transaction `gtid` (its state's last seen)."""
        wait_for(
            lambda: guard_state(self.box, self.config_file.parent).get("last_seen_gtid") == gtid,
            timeout=20,
            what=f"the guard to judge {gtid}",
        )

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> int:
        """SIGTERM, as systemd stops it; its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.crash()
        self._reap_group()
        return int(self.process.returncode)

    def crash(self) -> None:
        """kill -9 of the whole service, as systemd's control group would die."""
        if pids_alive([self.pid]):
            os.killpg(self.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._reap_group()

    def _reap_group(self) -> None:
        # Whatever the guard started (its binlog tool) goes with it.
        with suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)


@contextmanager
def running_guard(
    box: Sandbox, log: Path, args: tuple[str, ...] = (), config: Path | None = None
) -> Iterator[GuardProcess]:
    guard = GuardProcess(box, log, args, config)
    try:
        guard.wait_ready()
        yield guard
    finally:
        guard.stop()


class HookServer:
    """A webhook receiver on a free loopback port: keeps every POST's path, headers and JSON body."""

    def __init__(self, fail_first: int = 0) -> None:
        self.received: list[dict[str, Any]] = []
        self.fail_first = fail_first
        self.calls = 0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                hook.calls += 1
                if hook.calls <= hook.fail_first:
                    self.send_response(503)
                    self.end_headers()
                    return
                hook.received.append(
                    {"path": self.path, "headers": dict(self.headers), "json": json.loads(body)}
                )
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@contextmanager
def hook_server(fail_first: int = 0) -> Iterator[HookServer]:
    server = HookServer(fail_first)
    try:
        yield server
    finally:
        server.close()
