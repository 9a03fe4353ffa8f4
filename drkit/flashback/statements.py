"""Reverse statements as text straight from the archive's bytes: what `--sql FILE` writes.

The same statements as `plan.reverse_statement` makes (a test holds them equal), built by filling
templates, which the dialect's own builders make once per table over Slots, with the literal
texts that generated code reads from each Rows event (drkit.binlog.literals): no Python value per
column and no dict per row. The few events this path does not read (MySQL transaction payloads,
partial JSON updates) go through `reverse_statement` one image at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from drkit.binlog import events as ev
from drkit.binlog.events import HEADER_LEN, BinlogFormatError, FormatDescription
from drkit.binlog.literals import RowsReader, build_rows_reader
from drkit.binlog.rows import image_columns
from drkit.binlog.tablemap import Column, TableMap, parse_table_id
from drkit.dialect import rows as sql
from drkit.dialect.rows import Slot, template
from drkit.flashback.images import images_in, table_map_at
from drkit.flashback.plan import TablePlan, partial_images, reverse_statement

# What the conflict probe hears of the reversed rows of one event, newest first: (table,
# operation, each row's key literals, each row's NULL-safe match of the image the disaster left,
# or None for deleted rows, which are looked up by their key).
Probe = Callable[[str, str, list[tuple[str, ...]], list[str] | None], None]

_FAST_EVENTS = {
    event_type
    for event_type, _shape in ev.ROWS_EVENTS.items()
    if event_type != ev.PARTIAL_UPDATE_ROWS_EVENT
}


def write_reverses(
    buf: bytes,
    fmt: FormatDescription,
    offsets: Sequence[tuple[int, int]],
    tables: Mapping[str, TablePlan],
    label: str,
    out: TextIO,
    probe: Probe | None = None,
) -> int:
    """Write the reverse statements of one transaction's events (`offsets`), newest first, each
    followed by `;` and a newline; returns how many."""
    shapes: dict[tuple[TableMap, int, int], _Shape] = {}
    count = 0
    for table_maps, start, end in reversed(_steps(buf, fmt, offsets)):
        event_type = buf[start + 4]
        if event_type not in _FAST_EVENTS:
            texts = _slow(buf, fmt, (*table_maps.values(), (start, end)), tables, label, probe)
        else:
            texts = _fast(
                buf, fmt, start, end, event_type, table_maps, tables, label, shapes, probe
            )
        if texts:
            out.write(";\n".join(texts))
            out.write(";\n")
            count += len(texts)
    return count


def _steps(
    buf: bytes, fmt: FormatDescription, offsets: Sequence[tuple[int, int]]
) -> list[tuple[dict[int, tuple[int, int]], int, int]]:
    """Each Rows event with the Table_map events in force before it."""
    in_force: dict[int, tuple[int, int]] = {}
    steps: list[tuple[dict[int, tuple[int, int]], int, int]] = []
    for start, end in offsets:
        if end > len(buf) or end - start < HEADER_LEN:
            raise BinlogFormatError(f"no event of {end - start} bytes at offset {start}")
        if buf[start + 4] == ev.TABLE_MAP_EVENT:
            in_force = {**in_force, table_map_at(buf, start, end, fmt).table_id: (start, end)}
        else:
            steps.append((in_force, start, end))
    return steps


def _fast(
    buf: bytes,
    fmt: FormatDescription,
    start: int,
    end: int,
    event_type: int,
    table_maps: Mapping[int, tuple[int, int]],
    tables: Mapping[str, TablePlan],
    label: str,
    shapes: dict[tuple[TableMap, int, int], _Shape],
    probe: Probe | None,
) -> list[str]:
    operation, v2, compressed = ev.ROWS_EVENTS[event_type]
    body, body_end = start + fmt.header_len, end - fmt.checksum_len
    post_header_len = fmt.post_header_len(event_type)
    table_id = parse_table_id(buf, body, post_header_len)
    where = table_maps.get(table_id)
    if where is None:
        raise BinlogFormatError(
            f"rows event at {start} refers to table id {table_id} with no table map before it"
        )
    table = table_map_at(buf, where[0], where[1], fmt)
    plan = tables.get(f"{table.schema}.{table.table}")
    if plan is None:
        return []
    first, second, pos = image_columns(buf, body + post_header_len, body_end, v2, operation, table)
    images = [first] if second is None else [first, second]
    if any(len(image) != len(table.columns) for image in images):
        raise partial_images(label, plan.table)
    key = (table, event_type, id(plan))
    shape = shapes.get(key)
    if shape is None:
        shape = shapes[key] = _Shape.build(table, operation, images, plan)
    data = ev.decompress_mariadb(bytes(buf[pos:body_end])) if compressed else buf[pos:body_end]
    try:
        rows, reached = shape.read(data, 0, len(data))
    except ev.DECODING_ERRORS as exc:
        raise ev.corrupt_event("binlog", start, exc) from exc
    if reached != len(data):
        raise BinlogFormatError(f"rows event at {start}: row images overran the event")
    rows.reverse()
    return shape.statements(rows, probe)


@dataclass
class _Shape:
    """One table's statements for one operation: templates over the row's literal positions."""

    read: RowsReader
    plan: TablePlan
    operation: str
    statement: str  # template of the delete and insert reversals
    key: tuple[int, ...]  # positions of the key (or compared) columns in the image left
    left: str  # template of the NULL-safe match of the image the disaster left
    columns: int  # columns of one image
    positions: dict[str, int]
    updates: dict[tuple[int, ...], str] = field(default_factory=dict)

    @classmethod
    def build(
        cls, table: TableMap, operation: str, images: Sequence[Sequence[Column]], plan: TablePlan
    ) -> _Shape:
        positions = {column.label: n for n, column in enumerate(images[0])}
        width = len(images[0])
        shift = width if operation == ev.UPDATE else 0  # the image left is the after image
        left_slots = {name: Slot(n + shift) for name, n in positions.items()}
        name = f"{table.schema}.{table.table}"
        if operation == ev.DELETE:
            statement = sql.restore_deleted(name, left_slots, plan.write, plan.key).text
        elif operation == ev.INSERT:
            statement = sql.remove_inserted(name, left_slots, plan.compare).text
        else:
            statement = ""
        return cls(
            build_rows_reader(images),
            plan,
            operation,
            template(statement),
            tuple(positions[c] + shift for c in plan.key or plan.compare),
            template(sql.row_match(left_slots, plan.compare)),
            width,
            positions,
        )

    def statements(self, rows: list[tuple[str, ...]], probe: Probe | None) -> list[str]:
        if self.operation == ev.UPDATE:
            return self._updates(rows, probe)
        if probe is not None:
            self._probe(rows, probe)
        text = self.statement.format
        return [text(*row) for row in rows]

    def _updates(self, rows: list[tuple[str, ...]], probe: Probe | None) -> list[str]:
        texts: list[str] = []
        undone: list[tuple[str, ...]] = []
        width = self.columns
        written = [self.positions[c] for c in self.plan.write]
        for row in rows:
            changed = tuple(n for n in written if row[n] != row[n + width])
            if not changed:
                continue  # an update that changed nothing has nothing to undo
            statement = self.updates.get(changed)
            if statement is None:
                statement = self.updates[changed] = self._update_template(changed)
            texts.append(statement.format(*row))
            undone.append(row)
        if probe is not None:
            self._probe(undone, probe)
        return texts

    def _update_template(self, changed: tuple[int, ...]) -> str:
        before = {name: Slot(n) for name, n in self.positions.items()}
        after = {name: Slot(n + self.columns) for name, n in self.positions.items()}
        names = {n: name for name, n in self.positions.items()}
        write = tuple(names[n] for n in changed)
        return template(
            sql.undo_update(self.plan.table, before, after, write, self.plan.compare).text
        )

    def _probe(self, rows: list[tuple[str, ...]], probe: Probe) -> None:
        if self.operation == ev.DELETE and not self.plan.key:
            return  # a deleted row of a table without a key goes back unconditionally
        positions = self.key
        keys: list[tuple[str, ...]]
        if len(positions) == 1:
            only = positions[0]
            keys = [(row[only],) for row in rows]
        else:
            keys = [tuple([row[n] for n in positions]) for row in rows]
        if self.operation == ev.DELETE:
            probe(self.plan.table, self.operation, keys, None)
        else:
            left = self.left.format
            probe(self.plan.table, self.operation, keys, [left(*row) for row in rows])


def _slow(
    buf: bytes,
    fmt: FormatDescription,
    offsets: Sequence[tuple[int, int]],
    tables: Mapping[str, TablePlan],
    label: str,
    probe: Probe | None,
) -> list[str]:
    texts: list[str] = []
    for image in images_in(buf, offsets, newest_first=True, fmt=fmt):
        plan = tables.get(f"{image.row.schema}.{image.row.table}")
        if plan is None:
            continue
        if not image.full:
            raise partial_images(label, plan.table)
        reverse = reverse_statement(image.row, plan)
        if reverse is None:
            continue
        texts.append(reverse.sql.text)
        if probe is not None and (reverse.operation != ev.DELETE or plan.key):
            key = tuple(sql.literal(v) for v in reverse.key.values())
            if reverse.operation == ev.DELETE:
                probe(plan.table, reverse.operation, [key], None)
            else:
                probe(
                    plan.table,
                    reverse.operation,
                    [key],
                    [sql.row_match(reverse.left, plan.compare)],
                )
    return texts
