"""Checkpoint the index's write-ahead log on a thread of its own, off the writer's commits.

SQLite runs an automatic checkpoint inside the commit that takes the WAL past 1,000 pages:
copying the WAL into the database and two fsyncs, on the commit path. Following a busy primary
that made one commit in a few take tens to hundreds of milliseconds, and every transaction behind
it waited. While a `WalCheckpointer` runs, the writer's connection checkpoints nothing itself; a
second connection runs a PASSIVE checkpoint (it never waits for the writer, nor makes it wait)
every `interval`: the bulk of the copying and syncing happens there.

A writer that never pauses never finds the WAL wholly copied, so SQLite never starts it over on
its own: past `bound` bytes the checkpointer asks for a TRUNCATE checkpoint, which holds the
writer back while it copies the few frames the passive ones left and empties the file. It waits
at most TRUNCATE_WAIT for the writer and readers; when a reader holding an old snapshot keeps it
from finishing, it tries again only once the WAL has grown by another `bound` or RETRY has
passed, so a reader that never lets go costs commits a short pause now and then, not a stall.
Checkpoints are SQLite's own crash-safe copy: a kill -9 in the middle of one loses nothing and
leaves the WAL to finish it at the next open.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

from drkit.index.store import store_error

log = logging.getLogger(__name__)

INTERVAL = 0.25  # seconds between passive checkpoints
BOUND = 8 * 1024 * 1024  # bytes of WAL past which it is emptied (SQLite's own: about 4 MB)
TRUNCATE_WAIT_MS = 50  # how long a TRUNCATE checkpoint waits for the writer and readers
RETRY = 5.0  # seconds after a failed TRUNCATE before the next, unless the WAL grew
SQLITE_DEFAULT_AUTOCHECKPOINT = 1000  # pages: what the writer's connection goes back to


class WalCheckpointer:
    """Passive checkpoints of one index on a background thread, while the writer commits."""

    def __init__(
        self,
        path: Path,
        writer: sqlite3.Connection,
        *,
        interval: float = INTERVAL,
        bound: int = BOUND,
    ) -> None:
        self.path = path
        self.wal = path.with_name(path.name + "-wal")
        self.interval = interval
        self.bound = bound
        self.checkpoints = 0  # passive ones that ran (for tests and curiosity)
        self.truncations = 0
        self._retry_above = bound  # WAL bytes past which a TRUNCATE is (again) worth a try
        self._retry_at = 0.0
        self._writer = writer
        self._stop = threading.Event()
        try:
            self._conn = sqlite3.connect(
                str(path), isolation_level=None, check_same_thread=False, timeout=0
            )
            # The sync a checkpoint does follows this connection's setting: the same as the
            # writer's (NORMAL: the WAL is synced before it is copied, the database after).
            self._conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            raise store_error(path, exc, opening=True) from None
        self._thread = threading.Thread(
            target=self._run, name="drkit-index-checkpoint", daemon=True
        )

    def start(self) -> WalCheckpointer:
        try:
            self._writer.execute("PRAGMA wal_autocheckpoint = 0")
        except sqlite3.Error as exc:
            self._conn.close()
            raise store_error(self.path, exc) from None
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop the thread, checkpoint once more, and give checkpointing back to the writer."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        try:
            self._checkpoint()
        except sqlite3.Error as exc:
            log.warning("checkpointing the index %s failed: %s", self.path, exc)
        finally:
            self._conn.close()
            self._writer.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_DEFAULT_AUTOCHECKPOINT}")

    def __enter__(self) -> WalCheckpointer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._checkpoint()
            except sqlite3.Error as exc:
                # The writer meets the same trouble on its own path and says so; here it is
                # only a WAL that grows until the next attempt.
                log.warning("checkpointing the index %s failed: %s", self.path, exc)

    def _checkpoint(self) -> None:
        self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.checkpoints += 1
        size = self._wal_size()
        if size > self.bound and (size > self._retry_above or time.monotonic() >= self._retry_at):
            self._truncate(size)

    def _truncate(self, size: int) -> None:
        self._conn.execute(f"PRAGMA busy_timeout = {TRUNCATE_WAIT_MS}")
        try:
            busy, _, _ = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.OperationalError:  # the writer held on longer than the wait
            busy = 1
        finally:
            self._conn.execute("PRAGMA busy_timeout = 0")
        if busy:
            self._retry_above = size + self.bound
            self._retry_at = time.monotonic() + RETRY
        else:
            self.truncations += 1
            self._retry_above = self.bound

    def _wal_size(self) -> int:
        try:
            return self.wal.stat().st_size
        except FileNotFoundError:
            return 0
