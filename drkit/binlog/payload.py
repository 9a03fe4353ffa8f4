"""MySQL 8 Transaction_payload events: a whole transaction's events, usually zstd-compressed
(binlog_transaction_compression=ON). Python 3.11's stdlib has no zstd, so decompression uses
`compression.zstd` (Python 3.14+) or the `zstandard` package when either is importable, and
otherwise reports the payload as unreadable instead of guessing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from drkit.binlog.events import BinlogFormatError, read_packed_int

COMPRESSION_ZSTD = 0
COMPRESSION_NONE = 255

_PAYLOAD_HEADER_END = 0
_PAYLOAD_SIZE = 1
_COMPRESSION_TYPE = 2
_UNCOMPRESSED_SIZE = 3


@dataclass(frozen=True)
class Payload:
    """The header fields of a Transaction_payload event and where its payload starts."""

    compression: int
    size: int
    uncompressed_size: int
    data_start: int


def parse_payload_header(buf: bytes, body: int, body_end: int) -> Payload:
    """Read the (type, length, value) header fields up to the end mark."""
    pos = body
    size = uncompressed = 0
    compression = COMPRESSION_NONE
    while pos < body_end:
        field, pos = read_packed_int(buf, pos)
        if field == _PAYLOAD_HEADER_END:
            return Payload(compression, size or body_end - pos, uncompressed, pos)
        length, pos = read_packed_int(buf, pos)
        if field in (_PAYLOAD_SIZE, _COMPRESSION_TYPE, _UNCOMPRESSED_SIZE):
            value, _ = read_packed_int(buf, pos)
            if field == _PAYLOAD_SIZE:
                size = value
            elif field == _COMPRESSION_TYPE:
                compression = value
            else:
                uncompressed = value
        pos += length
    raise BinlogFormatError("transaction payload event has no header end mark")


def payload_events(buf: bytes, body: int, body_end: int) -> bytes | None:
    """The inner events of a Transaction_payload event, or None when zstd is unavailable here."""
    header = parse_payload_header(buf, body, body_end)
    data = bytes(buf[header.data_start : header.data_start + header.size])
    if header.compression == COMPRESSION_NONE:
        return data
    if header.compression != COMPRESSION_ZSTD:
        raise BinlogFormatError(f"unknown transaction payload compression {header.compression}")
    decompress = zstd_decompressor()
    if decompress is None:
        return None
    try:
        return decompress(data, header.uncompressed_size)
    except Exception as exc:  # each zstd module has its own error class: a damaged payload
        raise BinlogFormatError(f"a transaction payload that does not decompress ({exc})") from exc


def zstd_decompressor() -> Callable[[bytes, int], bytes] | None:
    """A zstd decompression function from whatever this Python has, or None."""
    try:
        stdlib_zstd = importlib.import_module("compression.zstd")
    except ImportError:
        pass
    else:
        return lambda data, _size: bytes(stdlib_zstd.decompress(data))
    try:
        zstandard = importlib.import_module("zstandard")
    except ImportError:
        return None
    context = zstandard.ZstdDecompressor()
    return lambda data, size: bytes(context.decompress(data, max_output_size=size or 1 << 30))
