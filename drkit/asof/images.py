"""One table's row changes over a stretch of archived transactions, newest first.

Transactions of one file are decoded together, a few thousand at a time: the file's format
description is read once per batch, and a Table_map event identical to the one already in force
for its table id is not parsed again (each transaction repeats its table's map). A batch is
decoded in binlog order, then handed out in reverse.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from pathlib import Path

from drkit.binlog.events import HEADER_LEN, TABLE_MAP_EVENT
from drkit.binlog.files import map_file
from drkit.binlog.rows import RowImage, decode_rows_bytes
from drkit.errors import RefusedError
from drkit.flashback.images import binary_json_columns, format_of
from drkit.index.changes import TableChange, table_changes
from drkit.index.store import IndexStore

BATCH = 2000  # transactions decoded together


def changes_newest_first(
    archive: Path, store: IndexStore, schema: str, table: str, first_id: int, last_id: int
) -> Iterator[tuple[TableChange, RowImage]]:
    """Every row change of `schema.table` with first_id <= id <= last_id, newest first, with
    the transaction it belongs to."""
    pending: list[TableChange] = []  # newest first, all in one file
    for change in table_changes(
        store, schema, table, first_id=first_id, last_id=last_id, newest_first=True
    ):
        if pending and (pending[0].file != change.file or len(pending) >= BATCH):
            yield from _decoded(archive, pending, schema, table)
            pending = []
        pending.append(change)
    if pending:
        yield from _decoded(archive, pending, schema, table)


def _decoded(
    archive: Path, batch: Sequence[TableChange], schema: str, table: str
) -> Iterator[tuple[TableChange, RowImage]]:
    ordered = list(reversed(batch))  # binlog order
    path = archive / ordered[0].file
    starts: list[int] = []
    offsets: list[tuple[int, int]] = []
    spans = [pair for change in ordered for pair in change.row_events]
    with map_file(path, spans) as buf:  # a compressed file: only the frames holding them
        fmt = format_of(buf)
        in_force: dict[bytes, bytes] = {}  # table id -> the map body in force
        for change in ordered:
            starts.append(change.row_events[0][0] if change.row_events else 0)
            for start, end in change.row_events:
                if buf[start + 4] == TABLE_MAP_EVENT:
                    body = bytes(buf[start + HEADER_LEN : end - fmt.checksum_len])
                    table_id = body[:6]
                    if in_force.get(table_id) == body:
                        continue  # the same map again: the decoder has it already
                    in_force[table_id] = body
                offsets.append((start, end))
        rows = decode_rows_bytes(buf, offsets, path.name)
    if not fmt.mariadb:
        json = binary_json_columns(path, offsets).get(f"{schema}.{table}")
        if json:
            raise RefusedError(
                f"{schema}.{table} has MySQL binary JSON columns ({', '.join(json)}), which "
                "drkit cannot compare yet",
                hint="`drkit inspect --at T` answers on the delayed replica itself",
            )
    for row in reversed(rows):
        if row.schema == schema and row.table == table:
            yield ordered[bisect.bisect_right(starts, row.event_pos) - 1], row
