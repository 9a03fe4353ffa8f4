"""The engine lock: one plan at a time per topology, whichever front end asks for it.

An `flock` on `drkit.lock` beside the config. The kernel releases it when its holder exits,
however it exits (kill -9 included), so a lock is never stale; the file only says who holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from drkit.errors import RefusedError

LOCK_NAME = "drkit.lock"

# A process holds at most one engine lock per folder: a second thread of the same process (the
# console's workers) is refused like another process would be, never let in silently.
_held: dict[Path, EngineLock] = {}
_registry = threading.Lock()


@dataclass(frozen=True)
class LockHolder:
    """Who runs a plan now, as its lock file says."""

    pid: int
    command: str
    what: str
    started_at: float

    def describe(self) -> str:
        from drkit.timeparse import iso

        since = iso(self.started_at)
        return f"{self.what} by drkit pid {self.pid} ({self.command}) since {since}"

    def to_json(self) -> dict[str, object]:
        return {
            "pid": self.pid,
            "command": self.command,
            "what": self.what,
            "started_at": self.started_at,
        }


def lock_path(folder: Path) -> Path:
    return folder / LOCK_NAME


class EngineLock:
    """Held for the whole of one plan: planning under it, executing, verifying."""

    def __init__(self, folder: Path, *, what: str, command: str) -> None:
        self.path = lock_path(folder)
        self.what = what
        self.command = command
        self.started_at = 0.0
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> EngineLock:
        """Take the lock now or refuse (exit 3) naming who holds it; never waits."""
        key = self.path.resolve()
        with _registry:
            other = _held.get(key)
            if other is not None:
                raise _refusal(self.what, _holder_of(other))
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise _refusal(self.what, holder) from None
            except BaseException:
                os.close(fd)
                raise
            self.started_at = time.time()
            _write_holder(fd, self)
            self._fd = fd
            _held[key] = self
        return self

    def release(self) -> None:
        with _registry:
            if self._fd is None:
                return
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the last descriptor releases the flock
            self._fd = None
            _held.pop(self.path.resolve(), None)

    def __enter__(self) -> EngineLock:
        return self if self.held else self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


@contextlib.contextmanager
def engine_lock(folder: Path, *, what: str, command: str) -> Iterator[EngineLock]:
    """`with engine_lock(...)`: the lock for one changing operation."""
    lock = EngineLock(folder, what=what, command=command).acquire()
    try:
        yield lock
    finally:
        lock.release()


def current_holder(folder: Path) -> LockHolder | None:
    """Who holds the engine lock now (None: nobody); for status and the console."""
    path = lock_path(folder)
    with _registry:
        mine = _held.get(path.resolve())
        if mine is not None:
            return _holder_of(mine)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def refuse_if_busy(folder: Path, what: str) -> None:
    """Refuse (exit 3, naming the holder) when a plan runs now: before planning anything else,
    so the operator hears who holds the topology, not a symptom of its plan."""
    holder = current_holder(folder)
    if holder is not None:
        raise _refusal(what, holder)


def _holder_of(lock: EngineLock) -> LockHolder:
    return LockHolder(os.getpid(), lock.command, lock.what, lock.started_at)


def _refusal(what: str, holder: LockHolder | None) -> RefusedError:
    who = holder.describe() if holder else "another drkit process"
    return RefusedError(
        f"cannot start {what}: a plan is running on this topology ({who}); nothing was changed",
        hint="wait for it to finish (`drkit status` shows it), or stop that process first",
    )


def _write_holder(fd: int, lock: EngineLock) -> None:
    record = {
        "pid": os.getpid(),
        "command": lock.command,
        "what": lock.what,
        "started_at": lock.started_at,
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(record) + "\n").encode("utf-8"), 0)


def _read_holder(fd: int) -> LockHolder | None:
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode("utf-8") or "null")
        return LockHolder(
            int(data["pid"]), str(data["command"]), str(data["what"]), float(data["started_at"])
        )
    except (OSError, ValueError, TypeError, KeyError):
        return None
