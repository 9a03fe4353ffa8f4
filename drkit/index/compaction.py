"""Compressing the archive's closed binlog files (`[retention] compress = "zstd"`).

Only a file the index has read past is compressed: the primary rotated away from it (or the
copier went on to the next one), so no one writes it again, and the scanner never reads it
again. Readers find it all the same (drkit.compression). The process that holds the archive's
lock (an indexer or a guard following the primary) is the only one that compresses, so two
processes never compress the same file.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from drkit.compression import compress_file, is_compressed, leftover_temporaries, stored_path
from drkit.errors import DrkitError
from drkit.index.store import IndexStore
from drkit.io.archive import archived_files
from drkit.model.coords import BinlogCoord, file_sequence

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Compressed:
    name: str
    original: int
    stored: int
    seconds: float


def compress_closed(
    archive_dir: Path,
    checkpoint: BinlogCoord | None,
    level: int,
    stop: threading.Event | None = None,
) -> list[Compressed]:
    """Compress, oldest first, every archived binlog before the index checkpoint's file."""
    if checkpoint is None:
        return []
    for temp in leftover_temporaries(archive_dir):
        temp.unlink(missing_ok=True)  # an interrupted compression's half copy; the original stays
    done: list[Compressed] = []
    for path in archived_files(archive_dir):
        if stop is not None and stop.is_set():
            break
        if file_sequence(path.name) >= checkpoint.sequence:
            break
        if is_compressed(stored_path(path)):
            continue
        started = time.monotonic()
        try:
            original, stored = compress_file(path, level)
        except FileNotFoundError:
            continue  # pruned meanwhile
        except (OSError, DrkitError) as exc:
            # A full disk or a damaged file: the plain copy stays, readers go on using it.
            log.warning("could not compress %s: %s", path.name, exc)
            break
        item = Compressed(path.name, original, stored, time.monotonic() - started)
        log.info(
            "compressed %s: %d -> %d bytes in %.1fs", item.name, original, stored, item.seconds
        )
        done.append(item)
    return done


class Compactor:
    """Compresses closed files in a thread beside the follower, so indexing (and the guard's
    freeze) never waits for it; `poke()` after each scan, `close()` before the lock goes."""

    def __init__(self, archive_dir: Path, level: int, checkpoint: CheckpointReader) -> None:
        self._archive_dir = archive_dir
        self._level = level
        self._checkpoint = checkpoint
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._last: int | None = None
        self._thread = threading.Thread(target=self._run, name="drkit-compactor", daemon=True)
        self._thread.start()

    def poke(self, checkpoint: BinlogCoord | None) -> None:
        """Wake the thread when the checkpoint reached a new file (a file was closed)."""
        if checkpoint is not None and checkpoint.sequence != self._last:
            self._last = checkpoint.sequence
            self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                compress_closed(self._archive_dir, self._checkpoint(), self._level, self._stop)
            except Exception:  # the thread must outlive one bad file; the follower goes on
                log.exception("compressing the archive failed")


class CheckpointReader:
    """The index checkpoint as another thread reads it (its own SQLite connection)."""

    def __init__(self, index_path: Path) -> None:
        self._path = index_path

    def __call__(self) -> BinlogCoord | None:
        with IndexStore(self._path, readonly=True) as store:
            return store.checkpoint()
