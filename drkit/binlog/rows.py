"""On-demand decoding of row images from a transaction's Table_map and Rows events.

The index keeps each transaction's `row_events` (file offsets); flashback and inspection call
`decode_rows(path, row_events)` later to see the rows with column names (binlog_row_metadata=FULL)
and Python values.
"""

from __future__ import annotations

import dataclasses
import os
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from drkit.binlog import events as ev
from drkit.binlog.events import HEADER, HEADER_LEN, BinlogFormatError, FormatDescription
from drkit.binlog.files import map_file
from drkit.binlog.payload import payload_events
from drkit.binlog.rowcount import present_columns
from drkit.binlog.tablemap import Column, TableMap, parse_table_id, parse_table_map
from drkit.binlog.values import Value, decode_value

_U16 = struct.Struct("<H").unpack_from


@dataclass(frozen=True, slots=True)
class RowImage:
    """One changed row: its table, the operation, and the before/after images by column label.

    `before` is set for updates and deletes, `after` for inserts and updates. Labels are column
    names when the table map carried them, else `@1`, `@2`, ... `event_pos` is the offset of the
    Rows event (or Transaction_payload event) the row came from.
    """

    schema: str
    table: str
    operation: str
    before: Mapping[str, Value] | None
    after: Mapping[str, Value] | None
    event_pos: int
    primary_key: tuple[str, ...] = ()


def decode_rows(path: str | os.PathLike[str], offsets: Iterable[tuple[int, int]]) -> list[RowImage]:
    """Decode the rows of the events at `offsets` ((start, end) pairs, Table_map events first)."""
    with map_file(Path(path)) as buf:
        return decode_rows_bytes(buf, offsets)


def decode_rows_bytes(buf: bytes, offsets: Iterable[tuple[int, int]]) -> list[RowImage]:
    """`decode_rows` over a binlog file's bytes already in memory."""
    decoder = _Decoder(_format_of(buf))
    rows: list[RowImage] = []
    for start, end in offsets:
        if end > len(buf) or end - start < HEADER_LEN:
            raise BinlogFormatError(f"no event of {end - start} bytes at offset {start}")
        _ts, event_type, _sid, size, _log_pos, _flags = HEADER.unpack_from(buf, start)
        if start + size != end:
            raise BinlogFormatError(f"no event of {end - start} bytes at offset {start}")
        rows.extend(decoder.event(buf, start, end, event_type, start))
    return rows


def _format_of(buf: bytes) -> FormatDescription:
    if len(buf) < 4 + HEADER_LEN or bytes(buf[:4]) != ev.BINLOG_MAGIC:
        raise BinlogFormatError("not a binlog file (bad magic number or too short)")
    _ts, event_type, _sid, size, _end, _flags = HEADER.unpack_from(buf, 4)
    if event_type != ev.FORMAT_DESCRIPTION_EVENT:
        raise BinlogFormatError("no format description event at offset 4")
    return ev.parse_format_description(buf, 4, size)


class _Decoder:
    """Decodes events in order, remembering the table maps they define."""

    def __init__(self, fmt: FormatDescription) -> None:
        self.fmt = fmt
        self.tables: dict[int, TableMap] = {}

    def event(
        self, buf: bytes, start: int, end: int, event_type: int, event_pos: int
    ) -> Iterator[RowImage]:
        """Rows of one event; `event_pos` is the file offset reported with them."""
        body = start + HEADER_LEN
        body_end = end - self.fmt.checksum_len
        if event_type == ev.TABLE_MAP_EVENT:
            post_header_len = self.fmt.post_header_len(event_type)
            table = parse_table_map(buf, body, body_end, post_header_len, self.fmt.mariadb)
            self.tables[table.table_id] = table
        elif event_type in ev.ROWS_EVENTS:
            yield from self._rows_event(buf, body, body_end, event_type, event_pos)
        elif event_type == ev.TRANSACTION_PAYLOAD_EVENT:
            yield from self._payload(buf, body, body_end, event_pos)

    def _payload(self, buf: bytes, body: int, body_end: int, event_pos: int) -> Iterator[RowImage]:
        inner = payload_events(buf, body, body_end)
        if inner is None:
            raise BinlogFormatError(
                "this transaction is zstd-compressed (binlog_transaction_compression=ON) and "
                "this Python has no zstd decompressor",
                hint="install the 'zstandard' package or use Python 3.14+",
            )
        outer_fmt = self.fmt
        # The events inside a payload carry no checksum of their own.
        self.fmt = dataclasses.replace(outer_fmt, checksum=ev.CHECKSUM_OFF)
        try:
            pos = 0
            while pos + HEADER_LEN <= len(inner):
                _ts, inner_type, _sid, size, _log_pos, _flags = HEADER.unpack_from(inner, pos)
                yield from self.event(inner, pos, pos + size, inner_type, event_pos)
                pos += size
        finally:
            self.fmt = outer_fmt

    def _rows_event(
        self, buf: bytes, body: int, body_end: int, event_type: int, event_pos: int
    ) -> Iterator[RowImage]:
        operation, v2, compressed = ev.ROWS_EVENTS[event_type]
        post_header_len = self.fmt.post_header_len(event_type)
        table_id = parse_table_id(buf, body, post_header_len)
        table = self.tables.get(table_id)
        if table is None:
            raise BinlogFormatError(
                f"rows event at {event_pos} refers to table id {table_id} "
                "with no table map before it",
                hint="pass the transaction's row_events, which list its Table_map events too",
            )
        pos = body + post_header_len
        if v2:
            pos += _U16(buf, body + post_header_len - 2)[0] - 2
        ncols, pos = ev.read_packed_int(buf, pos)
        if ncols != len(table.columns):
            raise BinlogFormatError(
                f"rows event at {event_pos} has {ncols} columns, its table map {len(table.columns)}"
            )
        width = (ncols + 7) // 8
        before = present_columns(table.columns, bytes(buf[pos : pos + width]))
        pos += width
        after: list[Column] | None = None
        if operation == ev.UPDATE:
            after = present_columns(table.columns, bytes(buf[pos : pos + width]))
            pos += width
        data: bytes = buf
        end = body_end
        if compressed:
            data = ev.decompress_mariadb(bytes(buf[pos:body_end]))
            pos, end = 0, len(data)
        partial = event_type == ev.PARTIAL_UPDATE_ROWS_EVENT
        key = tuple(table.columns[i].label for i in table.primary_key)
        while pos < end:
            first, pos = _image(data, pos, before)
            second: dict[str, Value] | None = None
            if after is not None:
                if partial:
                    pos = _skip_value_options(data, pos, table.json_column_count)
                second, pos = _image(data, pos, after)
            before_image = None if operation == ev.INSERT else first
            after_image = first if operation == ev.INSERT else second
            yield RowImage(
                table.schema, table.table, operation, before_image, after_image, event_pos, key
            )
        if pos != end:
            raise BinlogFormatError(f"rows event at {event_pos}: row images overran the event")


def _image(buf: bytes, pos: int, columns: Sequence[Column]) -> tuple[dict[str, Value], int]:
    """One row image: null bitmap, then the non-null values of the present columns."""
    width = (len(columns) + 7) // 8
    nulls = int.from_bytes(buf[pos : pos + width], "little")
    pos += width
    values: dict[str, Value] = {}
    for bit, column in enumerate(columns):
        if nulls >> bit & 1:
            values[column.label] = None
            continue
        values[column.label], pos = decode_value(column, buf, pos)
    return values, pos


def _skip_value_options(buf: bytes, pos: int, json_columns: int) -> int:
    """MySQL PARTIAL_UPDATE after images start with value options and a partial-JSON bitmap.

    Partially updated JSON values then hold a JSON diff, returned as raw bytes like all MySQL
    binary JSON.
    """
    options, pos = ev.read_packed_int(buf, pos)
    if options & 1:
        pos += (json_columns + 7) // 8
    return pos
