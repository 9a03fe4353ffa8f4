"""Archived binlog files compressed with zstd in the seekable format, and reading them back.

Readers reach a transaction by its offset in the index (flashback, history, asof, the guard), so
a compressed file must allow random access: each 1 MiB of the binlog is its own zstd frame, and
a seek table closes the file (zstd's seekable format, contrib/seekable_format in the zstd
sources: a skippable frame holding each frame's compressed and decompressed size, then a footer
with the frame count and the magic number 0x8F92EAB1). Reading one transaction decompresses the
frame or two that hold it, not the file; `zstd -d` still decompresses the whole file (decoders
skip skippable frames). A frame of 1 MiB costs about 1 ms to decompress and compresses within a
few percent of the whole file at once.

A file is compressed only once closed (the primary rotated past it) and indexed: the copier and
the scanner never see a compressed file. The compressed copy is written beside the original
under a temporary name, synced and renamed to `NAME.zst`, and only then is `NAME` removed, so a
reader always finds one of the two whole.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import struct
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import zstandard

from drkit.errors import DrkitError

SUFFIX = ".zst"
FRAME_SIZE = 1 << 20
# The first frame is small: every read needs the format description event at its start.
FIRST_FRAME_SIZE = 1 << 14
# Span reads keep a file's decompressed frames for the next read of the same file (flashback
# and history read transaction after transaction of one file), up to this many bytes.
CACHE_BYTES = 256 << 20
CACHE_FILES = 2
DEFAULT_LEVEL = 3
_SKIPPABLE_MAGIC = 0x184D2A5E
_SEEKABLE_MAGIC = 0x8F92EAB1
_FOOTER = struct.Struct("<IBI")  # frame count, descriptor, seekable magic
_ENTRY = struct.Struct("<II")  # compressed size, decompressed size (no checksum)
_SKIPPABLE_HEADER = struct.Struct("<II")
_TEMP_PREFIX = ".compressing-"


class CompressedFileError(DrkitError):
    """A compressed archive file is damaged (its seek table or a frame cannot be read)."""


@dataclass(frozen=True)
class Frame:
    """One zstd frame: where it lies in the compressed file and which binlog bytes it holds."""

    offset: int
    size: int
    start: int  # in the decompressed binlog
    length: int

    @property
    def end(self) -> int:
        return self.start + self.length


@dataclass(frozen=True)
class SeekTable:
    frames: tuple[Frame, ...]

    @property
    def size(self) -> int:
        """The binlog file's size, decompressed."""
        return self.frames[-1].end if self.frames else 0

    def covering(self, start: int, end: int) -> list[Frame]:
        """The frames holding the binlog bytes [start, end)."""
        return [frame for frame in self.frames if frame.start < end and frame.end > start]


def compressed_name(name: str) -> str:
    return name + SUFFIX


def is_compressed(path: Path) -> bool:
    return path.name.endswith(SUFFIX)


def stored_path(path: Path) -> Path:
    """The file on disk for an archived binlog's name: NAME, else NAME.zst (NAME when neither)."""
    if path.exists():
        return path
    packed = path.with_name(compressed_name(path.name))
    return packed if packed.exists() else path


def stored_size(path: Path) -> int:
    """The bytes an archived binlog takes on disk (compressed or not); 0 once gone."""
    try:
        return stored_path(path).stat().st_size
    except FileNotFoundError:
        return 0


def binlog_size(path: Path) -> int:
    """An archived binlog's size as the server wrote it (decompressed)."""
    stored = stored_path(path)
    if is_compressed(stored):
        with stored.open("rb") as handle:
            return read_seek_table(handle).size
    return stored.stat().st_size


def compress_file(
    source: Path, level: int = DEFAULT_LEVEL, frame_size: int = FRAME_SIZE
) -> tuple[int, int]:
    """Replace `source` by `source.zst` in the seekable format; (bytes in, bytes out).

    The original goes only once the compressed copy is whole on disk and reads back the same.
    """
    target = source.with_name(compressed_name(source.name))
    temp = source.with_name(_TEMP_PREFIX + target.name)
    compressor = zstandard.ZstdCompressor(level=level, write_checksum=True)
    frames: list[tuple[int, int]] = []
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            size = min(FIRST_FRAME_SIZE, frame_size)
            while chunk := src.read(size):
                size = frame_size
                packed = compressor.compress(chunk)
                out.write(packed)
                frames.append((len(packed), len(chunk)))
            out.write(_seek_table_bytes(frames))
            out.flush()
            os.fsync(out.fileno())
        original = source.stat().st_size
        if sum(length for _, length in frames) != original:
            raise CompressedFileError(f"{source} changed while it was being compressed")
        temp.replace(target)
        _sync_folder(source.parent)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    source.unlink()
    return original, target.stat().st_size


def _seek_table_bytes(frames: Sequence[tuple[int, int]]) -> bytes:
    entries = b"".join(_ENTRY.pack(size, length) for size, length in frames)
    content = entries + _FOOTER.pack(len(frames), 0, _SEEKABLE_MAGIC)
    return _SKIPPABLE_HEADER.pack(_SKIPPABLE_MAGIC, len(content)) + content


def read_seek_table(handle: IO[bytes]) -> SeekTable:
    """The frames of a seekable zstd file, from the table at its end."""
    total = os.fstat(handle.fileno()).st_size
    name = getattr(handle, "name", "a compressed file")
    if total < _FOOTER.size + _SKIPPABLE_HEADER.size:
        raise CompressedFileError(f"{name} is too short to hold a seek table")
    handle.seek(total - _FOOTER.size)
    count, descriptor, magic = _FOOTER.unpack(handle.read(_FOOTER.size))
    entry_size = _ENTRY.size + (4 if descriptor & 0x80 else 0)
    table_size = _SKIPPABLE_HEADER.size + count * entry_size + _FOOTER.size
    if magic != _SEEKABLE_MAGIC or table_size > total:
        raise CompressedFileError(
            f"{name} has no zstd seek table at its end (damaged, or cut short)",
            hint="`zstd -t FILE` tells whether its frames are whole",
        )
    handle.seek(total - table_size)
    raw = handle.read(table_size - _FOOTER.size)
    skippable, _ = _SKIPPABLE_HEADER.unpack_from(raw, 0)
    if skippable != _SKIPPABLE_MAGIC:
        raise CompressedFileError(f"{name}: its seek table is not in a skippable frame")
    frames = []
    offset = start = 0
    for index in range(count):
        size, length = _ENTRY.unpack_from(raw, _SKIPPABLE_HEADER.size + index * entry_size)
        frames.append(Frame(offset, size, start, length))
        offset += size
        start += length
    if offset != total - table_size:
        raise CompressedFileError(f"{name}: its seek table does not match its frames")
    return SeekTable(tuple(frames))


@contextlib.contextmanager
def mapped_binlog(
    path: Path, spans: Sequence[tuple[int, int]] | None = None
) -> Iterator[mmap.mmap]:
    """A compressed binlog's bytes at their original offsets, in an anonymous mapping.

    With `spans`, only the frames holding them (and the first frame: the format description
    event) are decompressed; the rest of the mapping stays zero pages that take no memory, and
    the mapping is kept for the next span read of the same file. Without, the whole file is
    decompressed into a mapping of its own.
    """
    if spans is None:
        with path.open("rb") as handle:
            table = read_seek_table(handle)
            mapping = mmap.mmap(-1, max(table.size, 1))
            try:
                _fill(handle, path, table, mapping, table.frames)
                yield mapping
            finally:
                mapping.close()
        return
    yield _CACHE.mapping(path, spans)


def _fill(
    handle: IO[bytes], path: Path, table: SeekTable, mapping: mmap.mmap, frames: Sequence[Frame]
) -> None:
    decompressor = zstandard.ZstdDecompressor()
    for frame in frames:
        handle.seek(frame.offset)
        mapping[frame.start : frame.end] = _decompress(
            decompressor, handle.read(frame.size), frame, path
        )


class _Decompressed:
    """One compressed file's mapping and the frames already decompressed into it."""

    def __init__(self, path: Path, table: SeekTable) -> None:
        self.path = path
        self.table = table
        self.mapping = mmap.mmap(-1, max(table.size, 1))
        self.filled: set[Frame] = set()
        self.bytes = 0

    def fill(self, spans: Sequence[tuple[int, int]]) -> None:
        wanted = {self.table.frames[0]} if self.table.frames else set()
        for start, end in spans:
            wanted.update(self.table.covering(start, end))
        missing = sorted(wanted - self.filled, key=lambda frame: frame.start)
        if not missing:
            return
        with self.path.open("rb") as handle:
            _fill(handle, self.path, self.table, self.mapping, missing)
        self.filled.update(missing)
        self.bytes += sum(frame.length for frame in missing)


class _FrameCache:
    """The mappings of the last compressed files read by spans (a mapping is never closed
    here: one a reader still holds stays valid, and goes with its last reference)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: OrderedDict[tuple[str, int, int, int], _Decompressed] = OrderedDict()

    def mapping(self, path: Path, spans: Sequence[tuple[int, int]]) -> mmap.mmap:
        status = path.stat()
        key = (str(path), status.st_ino, status.st_size, status.st_mtime_ns)
        with self._lock:
            entry = self._files.get(key)
            if entry is None or entry.bytes > CACHE_BYTES:
                with path.open("rb") as handle:
                    entry = _Decompressed(path, read_seek_table(handle))
                self._files[key] = entry
            self._files.move_to_end(key)
            while len(self._files) > CACHE_FILES:
                self._files.popitem(last=False)
            entry.fill(spans)
            return entry.mapping

    def clear(self) -> None:
        with self._lock:
            self._files.clear()


_CACHE = _FrameCache()


def drop_cached_frames() -> None:
    """Forget the decompressed frames kept for span reads (benchmarks measure cold reads)."""
    _CACHE.clear()


def stream_binlog(source: Path | IO[bytes], out: IO[bytes], name: str | None = None) -> None:
    """Write a compressed binlog's bytes, decompressed, to `out` (a pipe), frame by frame;
    `source` is its path, or the file already open."""
    with contextlib.ExitStack() as stack:
        handle = source if not isinstance(source, Path) else stack.enter_context(source.open("rb"))
        label = Path(name or str(getattr(handle, "name", "a compressed file")))
        table = read_seek_table(handle)
        decompressor = zstandard.ZstdDecompressor()
        for frame in table.frames:
            handle.seek(frame.offset)
            out.write(_decompress(decompressor, handle.read(frame.size), frame, label))


def _decompress(
    decompressor: zstandard.ZstdDecompressor, packed: bytes, frame: Frame, path: Path
) -> bytes:
    try:
        data = decompressor.decompress(packed, max_output_size=frame.length)
    except zstandard.ZstdError as exc:
        raise CompressedFileError(
            f"{path}: the frame at offset {frame.offset} cannot be decompressed ({exc})"
        ) from None
    if len(data) != frame.length:
        raise CompressedFileError(
            f"{path}: the frame at offset {frame.offset} holds {len(data)} bytes, its table "
            f"says {frame.length}"
        )
    return data


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def leftover_temporaries(folder: Path) -> list[Path]:
    """Half-written compressed copies an interrupted compression left (safe to delete)."""
    return sorted(folder.glob(_TEMP_PREFIX + "*"))
