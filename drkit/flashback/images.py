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
from drkit.binlog.rows import RowImage, decode_rows_bytes
from drkit.binlog.tablemap import T_JSON, TableMap, parse_table_map


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


def _table_map(buf: bytes, start: int, end: int, fmt: FormatDescription) -> TableMap:
    """A Table_map event, parsed once per distinct body (a table's map repeats in every
    transaction that changes it)."""
    body = bytes(buf[start + HEADER_LEN : end - fmt.checksum_len])
    found = _MAPS.get(body)
    if found is None:
        if len(_MAPS) > 4096:
            _MAPS.clear()
        found = _MAPS[body] = parse_table_map(
            body, 0, len(body), fmt.post_header_len(ev.TABLE_MAP_EVENT), fmt.mariadb
        )
    return found


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
            table = _table_map(buf, start, end, fmt)
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


def split_newest_first(
    path: Path, offsets: Sequence[tuple[int, int]], parts: int
) -> list[tuple[tuple[int, int], ...]]:
    """The offsets cut into about `parts` runs of Rows events, newest run first; each run
    carries the Table_map events in force before its events, so it decodes on its own."""
    with map_file(path, offsets) as buf:
        fmt = format_of(buf)
        in_force: dict[int, tuple[int, int]] = {}
        steps: list[tuple[tuple[tuple[int, int], ...], tuple[int, int]]] = []
        for start, end in offsets:
            if end > len(buf) or end - start < HEADER_LEN:
                raise BinlogFormatError(f"no event of {end - start} bytes at offset {start}")
            if buf[start + 4] == ev.TABLE_MAP_EVENT:
                in_force[_table_map(buf, start, end, fmt).table_id] = (start, end)
            else:
                steps.append((tuple(in_force.values()), (start, end)))
    size = max(1, -(-len(steps) // max(1, parts)))
    runs: list[tuple[tuple[int, int], ...]] = []
    for first in range(0, len(steps), size):
        run: list[tuple[int, int]] = []
        previous: tuple[tuple[int, int], ...] | None = None
        for table_maps, event in steps[first : first + size]:
            if table_maps != previous:
                run.extend(table_maps)
                previous = table_maps
            run.append(event)
        runs.append(tuple(run))
    runs.reverse()
    return runs


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
                table = _table_map(buf, start, end, fmt)
                json = tuple(c.label for c in table.columns if c.type == T_JSON)
                if json:
                    found[f"{table.schema}.{table.table}"] = json
    return found
