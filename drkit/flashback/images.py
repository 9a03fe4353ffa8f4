"""Row images of one archived transaction, streamed one Rows event at a time (either direction).

An adapter over drkit.binlog.rows: `decode_rows_bytes` is called per Rows event with the Table_map
events in force before it, so memory holds one event's rows however large the transaction is.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from drkit.binlog import events as ev
from drkit.binlog.events import HEADER, HEADER_LEN, BinlogFormatError, FormatDescription
from drkit.binlog.files import map_file
from drkit.binlog.keys import KeyReader, build_key_reader
from drkit.binlog.rows import RowImage, decode_rows_bytes, image_columns
from drkit.binlog.tablemap import T_JSON, Column, TableMap, parse_table_id, parse_table_map
from drkit.binlog.values import Value


@dataclass(frozen=True, slots=True)
class Image:
    """One changed row and the full column list of its table as the binlog described it."""

    row: RowImage
    columns: tuple[str, ...]  # every column label of the table map, in table order
    binary_json: tuple[str, ...] = ()  # MySQL JSON columns (raw bytes in the images)

    @property
    def full(self) -> bool:
        """True when each image present holds every column (binlog_row_image=FULL)."""
        wanted = len(self.columns)
        return all(
            image is None or len(image) == wanted for image in (self.row.before, self.row.after)
        )


def stream_images(
    path: Path, offsets: Sequence[tuple[int, int]], *, newest_first: bool = False
) -> Iterator[Image]:
    """The row images of the events at `offsets`, in binlog order or newest first."""
    with map_file(path, offsets) as buf:
        yield from _images(buf, offsets, newest_first)


def images_in(
    buf: bytes,
    offsets: Sequence[tuple[int, int]],
    *,
    newest_first: bool = False,
    fmt: FormatDescription | None = None,
) -> Iterator[Image]:
    """`stream_images` over a binlog file already mapped (`map_file`), for many transactions
    (pass the file's `format_of(buf)` once)."""
    return _images(buf, offsets, newest_first, fmt)


def format_of(buf: bytes) -> FormatDescription:
    """The file's format description event (offset 4)."""
    return ev.parse_format_description(buf, 4, HEADER.unpack_from(buf, 4)[3])


def table_map_at(buf: bytes, start: int, end: int, fmt: FormatDescription) -> TableMap:
    """A Table_map event, parsed once per distinct body (a table's map repeats in every
    transaction that changes it)."""
    return _table_map_and_body(buf, start, end, fmt)[0]


def _table_map_and_body(
    buf: bytes, start: int, end: int, fmt: FormatDescription
) -> tuple[TableMap, bytes]:
    body = bytes(buf[start + HEADER_LEN : end - fmt.checksum_len])
    found = _MAPS.get(body)
    if found is None:
        if len(_MAPS) > 4096:
            _MAPS.clear()
        found = _MAPS[body] = parse_table_map(
            body, 0, len(body), fmt.post_header_len(ev.TABLE_MAP_EVENT), fmt.mariadb
        )
    return found, body


_MAPS: dict[bytes, TableMap] = {}


def _images(
    buf: bytes,
    offsets: Sequence[tuple[int, int]],
    newest_first: bool,
    fmt: FormatDescription | None = None,
) -> Iterator[Image]:
    fmt = fmt or format_of(buf)
    in_force: dict[int, tuple[int, int]] = {}
    maps: dict[int, TableMap] = {}
    steps: list[tuple[tuple[tuple[int, int], ...], int, int]] = []
    for start, end in offsets:
        if end > len(buf) or end - start < HEADER_LEN:
            raise BinlogFormatError(f"no event of {end - start} bytes at offset {start}")
        event_type = buf[start + 4]
        if event_type == ev.TABLE_MAP_EVENT:
            table = table_map_at(buf, start, end, fmt)
            in_force[table.table_id] = (start, end)
            maps[start] = table
        else:
            steps.append((tuple(in_force.values()), start, end))
    if newest_first:
        steps.reverse()
    for table_maps, start, end in steps:
        columns = {(maps[s].schema, maps[s].table): _labels(maps[s]) for s, _ in table_maps}
        json = (
            {}
            if fmt.mariadb
            else {(maps[s].schema, maps[s].table): _json_labels(maps[s]) for s, _ in table_maps}
        )
        rows = decode_rows_bytes(buf, (*table_maps, (start, end)))
        if newest_first:
            rows.reverse()
        for row in rows:
            name = (row.schema, row.table)
            yield Image(row, columns.get(name, ()), json.get(name, ()))


def _labels(table: TableMap) -> tuple[str, ...]:
    return tuple(c.label for c in table.columns)


def _json_labels(table: TableMap) -> tuple[str, ...]:
    return tuple(c.label for c in table.columns if c.type == T_JSON)


def table_columns(path: Path, offsets: Sequence[tuple[int, int]]) -> dict[str, tuple[str, ...]]:
    """`schema.table` -> column labels, from the transaction's Table_map events only."""
    found: dict[str, tuple[str, ...]] = {}
    with map_file(path, offsets) as buf:
        fmt = ev.parse_format_description(buf, 4, HEADER.unpack_from(buf, 4)[3])
        for start, end in offsets:
            if end > len(buf) or end - start < HEADER_LEN:
                raise BinlogFormatError(f"no event of {end - start} bytes at offset {start}")
            if buf[start + 4] != ev.TABLE_MAP_EVENT:
                continue
            table = parse_table_map(
                buf,
                start + HEADER_LEN,
                end - fmt.checksum_len,
                fmt.post_header_len(ev.TABLE_MAP_EVENT),
                fmt.mariadb,
            )
            found.setdefault(f"{table.schema}.{table.table}", tuple(c.label for c in table.columns))
    return found


def binary_json_columns(
    path: Path, offsets: Sequence[tuple[int, int]]
) -> dict[str, tuple[str, ...]]:
    """`schema.table` -> its MySQL binary JSON columns (the decoder returns those as raw bytes,
    which cannot be written back as SQL); empty on MariaDB, where JSON is text."""
    found: dict[str, tuple[str, ...]] = {}
    with map_file(path, offsets) as buf:
        fmt = format_of(buf)
        if fmt.mariadb:
            return found
        for start, end in offsets:
            if buf[start + 4] == ev.TABLE_MAP_EVENT:
                table = table_map_at(buf, start, end, fmt)
                json = tuple(c.label for c in table.columns if c.type == T_JSON)
                if json:
                    found[f"{table.schema}.{table.table}"] = json
    return found


def key_values(
    buf: bytes,
    fmt: FormatDescription,
    offsets: Sequence[tuple[int, int]],
    schema: str,
    table: str,
    readers: dict[tuple[object, ...], tuple[tuple[str, ...], KeyReader | None]],
) -> Iterator[tuple[tuple[str, ...], tuple[Value, ...]]]:
    """(primary key labels, key values) of every row image of `schema.table` in the events at
    `offsets`, in binlog order; the labels are () for a table without a primary key. `readers`
    keeps what each event shape needs from one transaction to the next."""
    maps: dict[int, tuple[TableMap, bytes]] = {}
    where: dict[int, tuple[int, int]] = {}
    for start, end in offsets:
        if end > len(buf) or end - start < HEADER_LEN:
            raise BinlogFormatError(f"no event of {end - start} bytes at offset {start}")
        event_type = buf[start + 4]
        if event_type == ev.TABLE_MAP_EVENT:
            found, body = _table_map_and_body(buf, start, end, fmt)
            maps[found.table_id] = (found, body)
            where[found.table_id] = (start, end)
            continue
        shape = ev.ROWS_EVENTS.get(event_type)
        body_start, body_end = start + fmt.header_len, end - fmt.checksum_len
        mapped = None
        if shape is not None and event_type != ev.PARTIAL_UPDATE_ROWS_EVENT:
            mapped = maps.get(parse_table_id(buf, body_start, fmt.post_header_len(event_type)))
        if mapped is None:
            yield from _slow_keys(buf, (*where.values(), (start, end)), schema, table)
            continue
        table_map = mapped[0]
        if table_map.schema != schema or table_map.table != table:
            continue
        if not table_map.primary_key:
            yield (), ()
            return
        assert shape is not None
        labels, reader, pos = _key_shape_of(buf, fmt, start, end, mapped, readers)
        if reader is None:  # the key is not in every image (binlog_row_image=MINIMAL)
            yield from _slow_keys(buf, (*where.values(), (start, end)), schema, table)
            continue
        compressed = shape[2]
        data = ev.decompress_mariadb(bytes(buf[pos:body_end])) if compressed else buf[pos:body_end]
        try:
            keys, reached = reader(data, 0, len(data))
        except ev.DECODING_ERRORS as exc:
            raise ev.corrupt_event("binlog", start, exc) from exc
        if reached != len(data):
            raise BinlogFormatError(f"rows event at {start}: row images overran the event")
        for values in keys:
            yield labels, values


def _key_shape_of(
    buf: bytes,
    fmt: FormatDescription,
    start: int,
    end: int,
    mapped: tuple[TableMap, bytes],
    readers: dict[tuple[object, ...], tuple[tuple[str, ...], KeyReader | None]],
) -> tuple[tuple[str, ...], KeyReader | None, int]:
    """The key labels and reader for a Rows event's shape, and where its rows start. The shape
    is known by the table map's bytes and the event's column bitmaps, read without parsing."""
    table_map, map_body = mapped
    event_type = buf[start + 4]
    operation, v2, _compressed = ev.ROWS_EVENTS[event_type]
    body_start, body_end = start + fmt.header_len, end - fmt.checksum_len
    post_header_len = fmt.post_header_len(event_type)
    pos = body_start + post_header_len
    if v2:
        pos += buf[pos - 2] + (buf[pos - 1] << 8) - 2  # the extra data
    count = buf[pos]  # columns: a one-byte packed integer below 251
    width = ((count + 7) // 8) * (2 if operation == ev.UPDATE else 1)
    shape_key = (map_body, event_type, bytes(buf[pos : pos + 1 + width]))
    known = readers.get(shape_key) if count < 251 else None
    if known is not None:
        return known[0], known[1], pos + 1 + width
    first, second, pos = image_columns(
        buf, body_start + post_header_len, body_end, v2, operation, table_map
    )
    known = readers[shape_key] = _key_shape(
        table_map, [first] if second is None else [first, second]
    )
    return known[0], known[1], pos


def _key_shape(
    table: TableMap, images: Sequence[Sequence[Column]]
) -> tuple[tuple[str, ...], KeyReader | None]:
    labels = tuple(table.columns[i].label for i in table.primary_key)
    key = set(table.primary_key)
    if any(not key <= {c.index for c in image} for image in images):
        return labels, None
    return labels, build_key_reader(images, table.primary_key)


def _slow_keys(
    buf: bytes, offsets: Sequence[tuple[int, int]], schema: str, table: str
) -> Iterator[tuple[tuple[str, ...], tuple[Value, ...]]]:
    for row in decode_rows_bytes(buf, offsets):
        if row.schema != schema or row.table != table:
            continue
        if not row.primary_key:
            yield (), ()
            return
        for image in (row.before, row.after):
            if image is not None:
                yield row.primary_key, tuple(image[c] for c in row.primary_key)
