"""The guard's state file beside the config: what it last saw and did, and a heartbeat.

`drkit status` and the TUI read it to tell whether a guard is running; the guard reads it on start
to catch up from the last transaction it judged and to retry the freezes that failed. Written
atomically (a synced temporary file renamed over it), so a reader never sees half a file, with
mode 0600: it names the topology's hosts and its incidents.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

STALE_AFTER = 5.0  # seconds without a heartbeat before a guard counts as not running
MISSED_KEPT = 20
MODE = 0o600


@dataclass(frozen=True)
class PendingFreeze:
    """A freeze that has not been confirmed on one delayed node: retried until the node answers.

    `id` None means no particular transaction: when the node answers, every indexed destructive
    transaction it has not applied yet is judged (a node that did not answer at the first start,
    and state files written before pending freezes named their transaction).
    """

    node: str
    id: int | None = None
    gtid: str | None = None
    since: float | None = None  # the first failure
    attempts: int = 0
    last_try: float | None = None
    reason: str = ""  # why the last attempt failed

    def moved(self, **changes: Any) -> PendingFreeze:
        return replace(self, **changes)

    @property
    def label(self) -> str:
        if self.id is None:
            return f"{self.node} (every unapplied destructive transaction)"
        return f"{self.node} for #{self.id} {self.gtid or ''}".rstrip()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, value: object) -> PendingFreeze:
        """An entry of the state file's `pending`; a bare node name is the older form."""
        if isinstance(value, str):
            return cls(value)
        if not isinstance(value, dict) or not isinstance(value.get("node"), str):
            raise TypeError(f"not a pending freeze: {value!r}")
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in value.items() if k in known})


@dataclass(frozen=True)
class GuardState:
    pid: int
    started_at: float
    heartbeat: float
    watching_since: float  # the first start ever: findings before it are history, not alarms
    host: str = ""  # where it runs: its pid means something only there
    config: str = ""
    primary: str = "starting"  # the primary's binlog stream: following, reconnecting, ...
    primary_since: float | None = None
    last_seen_id: int | None = None  # the last indexed transaction the guard has judged
    last_seen_gtid: str | None = None
    last_seen_at: float | None = None  # its commit time on the primary
    last_finding: dict[str, Any] | None = None
    last_action: dict[str, Any] | None = None
    missed: tuple[dict[str, Any], ...] = ()  # windows missed, newest last
    pending: tuple[PendingFreeze, ...] = ()  # freezes still being retried, oldest first
    stopped_at: float | None = None
    once: bool = False
    errors: tuple[str, ...] = field(default=())

    def moved(self, **changes: Any) -> GuardState:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["missed"] = list(self.missed)
        data["pending"] = [p.to_json() for p in self.pending]
        data["errors"] = list(self.errors)
        return data


@dataclass(frozen=True)
class GuardStatus:
    """Whether a guard is running, judged from its state file: a live pid and a fresh heartbeat."""

    running: bool
    reason: str
    state: GuardState | None

    def to_json(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "reason": self.reason,
            **({"state": self.state.to_json()} if self.state else {"state": None}),
        }


def guard_status(path: Path, now: float | None = None) -> GuardStatus:
    """Read the state file and judge it; never raises."""
    now = time.time() if now is None else now
    state = load(path)
    if state is None:
        return GuardStatus(False, "no guard has run here (no state file)", None)
    return GuardStatus(*_liveness(state, now), state)


def _liveness(state: GuardState, now: float) -> tuple[bool, str]:
    age = now - state.heartbeat
    if state.stopped_at is not None:
        how = "ran once" if state.once else "stopped"
        return False, f"not running: {how} at {_iso(state.stopped_at)}"
    here = not state.host or state.host == socket.gethostname()
    if here and not pid_alive(state.pid):
        return False, f"not running: pid {state.pid} is gone (last heartbeat {age:.0f}s ago)"
    if age > STALE_AFTER:
        return False, f"not running: pid {state.pid} has not written a heartbeat for {age:.0f}s"
    where = "" if here else f" on {state.host}"
    return True, f"running (pid {state.pid}{where}, heartbeat {max(age, 0):.1f}s ago)"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    try:
        # A zombie (killed, not yet reaped by its parent) is not a running guard.
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        return stat.rsplit(")", 1)[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def load(path: Path) -> GuardState | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    try:
        data["missed"] = tuple(data.get("missed") or ())
        data["pending"] = tuple(PendingFreeze.from_json(p) for p in data.get("pending") or ())
        data["errors"] = tuple(data.get("errors") or ())
        known = set(GuardState.__dataclass_fields__)
        return GuardState(**{k: v for k, v in data.items() if k in known})
    except TypeError:
        return None


def save(path: Path, state: GuardState) -> None:
    """Replace the file atomically: a reader (or a crash) sees the old state or the new, whole."""
    text = json.dumps(state.to_json(), indent=2, default=str) + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()  # left by a crash of an earlier process with this pid
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    # The rename itself survives a power cut only once the folder is synced.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _iso(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))
