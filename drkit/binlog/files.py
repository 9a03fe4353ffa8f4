"""Opening a binlog file for reading: the one place this package touches the file system."""

from __future__ import annotations

import contextlib
import mmap
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def map_file(path: Path) -> Iterator[bytes]:
    """The file's current bytes, memory-mapped read-only (a growing file is seen up to now)."""
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            yield b""
            return
        mapping = mmap.mmap(handle.fileno(), size, access=mmap.ACCESS_READ)
        try:
            yield mapping  # type: ignore[misc]
        finally:
            mapping.close()
