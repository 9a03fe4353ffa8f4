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
from drkit.binlog.tablemap import (
    Column,
    TableMap,
    UnreadableColumns,
    parse_table_id,
    parse_table_map,
)
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
    file_path = Path(path)
    spans = list(offsets)
    with map_file(file_path, spans) as buf:
        return decode_rows_bytes(buf, spans, file_path.name)


def decode_rows_bytes(
    buf: bytes, offsets: Iterable[tuple[int, int]], file: str = "binlog"
) -> list[RowImage]:
    """`decode_rows` over a binlog file's bytes already in memory (`file` names it in errors)."""
    decoder = _Decoder(_format_of(buf))
    rows: list[RowImage] = []
    for start, end in offsets:
        if start < 4 or end > len(buf) or end - start < decoder.fmt.header_len:
            raise BinlogFormatError(f"no event of {end - start} bytes at offset {start}")
        _ts, event_type, _sid, size, _log_pos, _flags = HEADER.unpack_from(buf, start)
        if start + size != end:
            raise BinlogFormatError(f"no event of {end - start} bytes at offset {start}")
        try:
            rows.extend(decoder.event(buf, start, end, event_type, start))
        except UnreadableColumns as exc:
            raise UnreadableColumns(f"{file}: the event at offset {start}: {exc}") from exc
        except (BinlogFormatError, *ev.DECODING_ERRORS) as exc:
            raise ev.corrupt_event(file, start, exc) from exc
    return rows


def _format_of(buf: bytes) -> FormatDescription:
    if len(buf) < 4 + HEADER_LEN or bytes(buf[:4]) != ev.BINLOG_MAGIC:
        raise BinlogFormatError("not a binlog file (bad magic number or too short)")
    _ts, event_type, _sid, size, _end, _flags = HEADER.unpack_from(buf, 4)
    if event_type == ev.START_EVENT_V3:
        raise BinlogFormatError(ev.too_old_message("this file", buf))
    if event_type != ev.FORMAT_DESCRIPTION_EVENT:
        raise BinlogFormatError("no format description event at offset 4")
    if 4 + size > len(buf):
        raise BinlogFormatError("the format description event at offset 4 is cut short")
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
        body = start + self.fmt.header_len
        body_end = end - self.fmt.checksum_len
        if event_type == ev.TABLE_MAP_EVENT:
            post_header_len = self.fmt.post_header_len(event_type)
            table = parse_table_map(buf, body, body_end, post_header_len, self.fmt.mariadb)
            self.tables[table.table_id] = table
        elif event_type in ev.ROWS_EVENTS:
            yield from self._rows_event(buf, body, body_end, event_type, event_pos)
        elif event_type == ev.TRANSACTION_PAYLOAD_EVENT:
            yield from self._payload(buf, body, body_end, event_pos)
        elif event_type in ev.PRE_GA_ROWS_EVENTS:
            raise BinlogFormatError(
                f"the rows event at {event_pos} is a MySQL 5.1 pre-GA rows event: its table map "
                "has no column metadata, so its rows cannot be decoded"
            )

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
                if size < HEADER_LEN or pos + size > len(inner):
                    raise BinlogFormatError("a transaction payload holding a partial event")
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
        before, after, pos = image_columns(
            buf, body + post_header_len, body_end, v2, operation, table
        )
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


def image_columns(
    buf: bytes, pos: int, body_end: int, v2: bool, operation: str, table: TableMap
) -> tuple[list[Column], list[Column] | None, int]:
    """The columns present in a rows event's before and (updates) after images, from the rest
    of its post-header at `pos`; and where its rows start."""
    if v2:
        extra = _U16(buf, pos - 2)[0]
        if extra < 2:
            raise BinlogFormatError(f"a rows event with an extra-data length of {extra}")
        pos += extra - 2
    if pos >= body_end:
        raise BinlogFormatError("a rows event shorter than its post-header")
    ncols, pos = ev.read_packed_int(buf, pos)
    if ncols != len(table.columns):
        raise BinlogFormatError(
            f"a rows event of {ncols} columns, its table map has {len(table.columns)}"
        )
    width = (ncols + 7) // 8
    if pos + width * (2 if operation == ev.UPDATE else 1) > body_end:
        raise BinlogFormatError("a rows event shorter than its column bitmaps")
    before = present_columns(table.columns, bytes(buf[pos : pos + width]))
    pos += width
    after: list[Column] | None = None
    if operation == ev.UPDATE:
        after = present_columns(table.columns, bytes(buf[pos : pos + width]))
        pos += width
    if not before and not after:
        # A row image of no column takes no bytes: its rows could not even be told apart.
        raise BinlogFormatError("a rows event with no column in its row images")
    return before, after, pos


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
