"""Opening a binlog file for reading: the one place this package touches the file system."""

from __future__ import annotations

import contextlib
import mmap
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from drkit.compression import is_compressed, mapped_binlog, stored_path


@contextlib.contextmanager
def map_file(path: Path, spans: Sequence[tuple[int, int]] | None = None) -> Iterator[bytes]:
    """The file's current bytes, memory-mapped read-only (a growing file is seen up to now).

    An archived file drkit compressed (`NAME.zst` beside no `NAME`) reads the same, at the same
    offsets; `spans` (byte ranges the caller will read) lets it decompress only those parts.
    """
    stored = stored_path(path)
    handle = None
    if not is_compressed(stored):
        try:
            handle = stored.open("rb")
        except FileNotFoundError:
            # Compressed since it was looked for: NAME.zst is in place before NAME goes.
            stored = stored_path(path)
    if handle is None:
        with mapped_binlog(stored, spans) as mapping:
            yield mapping  # type: ignore[misc]
        return
    with handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            yield b""
            return
        mapping = mmap.mmap(handle.fileno(), size, access=mmap.ACCESS_READ)
        try:
            yield mapping  # type: ignore[misc]
        finally:
            mapping.close()
