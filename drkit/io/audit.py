"""The audit log: every statement drkit runs against a server, as JSON lines beside the config."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from drkit.dialect.sql import Sql

log = logging.getLogger(__name__)


def _os_user() -> str:
    """The account drkit runs as, and who became it through sudo (`root (sudo from alice)`)."""
    import pwd

    try:
        user = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        user = str(os.geteuid())
    invoker = os.environ.get("SUDO_USER")
    return f"{user} (sudo from {invoker})" if invoker and invoker != user else user


# Who ran each statement, and where: the OS account and the host drkit ran on.
_OS_USER = _os_user()
_HOST = socket.gethostname()


class AuditLog:
    """Appends one JSON object per line; statements are written in their redacted form."""

    def __init__(self, path: Path, command: str = "") -> None:
        self.path = path
        self.command = command
        self._lock = threading.Lock()

    def statement(self, node: str, sql: Sql, ok: bool, duration: float, error: str | None) -> None:
        self.write(
            {
                "kind": "sql",
                "node": node,
                "statement": str(sql),
                "ok": ok,
                "duration_ms": round(duration * 1000, 2),
                "error": error,
            }
        )

    def action(
        self, node: str, action: str, ok: bool, duration: float, detail: str | None = None
    ) -> None:
        """Something other than SQL: a load-balancer command, an archive replay, a file copy."""
        self.write(
            {
                "kind": "action",
                "node": node,
                "statement": action,
                "ok": ok,
                "duration_ms": round(duration * 1000, 2),
                "error": None if ok else detail,
                "detail": detail if ok else None,
            }
        )

    def event(self, kind: str, **fields: Any) -> None:
        """A decision or outcome worth keeping (a freeze by the guard, a finished recovery)."""
        self.write({"kind": kind, **fields})

    def write(self, record: dict[str, Any]) -> None:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "epoch": round(time.time(), 3),
            "pid": os.getpid(),
            "os_user": _OS_USER,
            "host": _HOST,
            "command": self.command,
            **record,
        }
        line = json.dumps(entry, default=str) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)


def read_audit(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """Audit records newest first (the TUI's audit view, `drkit audit`)."""
    records = []
    for line in _lines(path):
        try:
            records.append(json.loads(line))
        except ValueError:
            log.warning("%s: skipping a line that is not JSON (a write cut short?)", path)
            continue
    records.reverse()
    return records[:limit] if limit is not None else records


def _lines(path: Path) -> Iterator[str]:
    try:
        with path.open(encoding="utf-8") as handle:
            yield from (line for line in handle if line.strip())
    except FileNotFoundError:
        return
