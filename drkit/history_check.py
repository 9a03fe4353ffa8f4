"""Whether a `drkit history` request can name a row at all: the table, its key columns, and
values those columns can hold. Without this check a typo reads as "no change in the index".

The table's shape comes from the archive (the Table_map of the first indexed change: column
names with binlog_row_metadata=FULL, and types), or, when the index holds no change of it, from
the primary's schema (asked by the caller; None when the primary does not answer).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from drkit.binlog import events as ev
from drkit.binlog.events import HEADER, HEADER_LEN
from drkit.binlog.files import map_file
from drkit.binlog.tablemap import (
    T_INT24,
    T_LONG,
    T_LONGLONG,
    T_SHORT,
    T_TINY,
    T_YEAR,
    parse_table_map,
)
from drkit.compression import stored_path
from drkit.errors import UsageError
from drkit.index.changes import table_changes
from drkit.index.store import IndexStore

_BINLOG_INTEGERS = frozenset({T_TINY, T_SHORT, T_INT24, T_LONG, T_LONGLONG, T_YEAR})
_SCHEMA_INTEGERS = frozenset(
    {"tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year"}
)
_INTEGER = re.compile(r"[+-]?\d+")

# The primary's columns of a table as (name, data_type); () when it has no such table, None when
# it cannot be asked.
SchemaColumns = Callable[[str], tuple[tuple[str, str], ...] | None]


@dataclass(frozen=True)
class TableShape:
    """A table's column labels (`@N` when the binlog carries no names) and its integer columns."""

    columns: tuple[str, ...]
    integers: frozenset[str]
    source: str  # where the shape was read: "the archive" or "the primary's schema"


def check_history_request(
    store: IndexStore,
    archive: Path,
    table: str,
    key: tuple[tuple[str, str], ...],
    schema_columns: SchemaColumns | None,
) -> None:
    """UsageError when the table is unknown to the index and the primary's schema, when a key
    column is not one of its columns, or when a value cannot be held by an integer column."""
    schema, _, name = table.partition(".")
    shape = _shape_from_archive(store, archive, schema, name)
    if shape is None:
        asked = schema_columns(table) if schema_columns is not None else None
        if asked is None:
            return  # neither the index nor a primary that answers can tell: no change is all
        if not asked:
            raise UsageError(
                f"{table} is not a table: the index holds no change of it and the primary has "
                "no such table",
                hint="check the name; `drkit events --table S.T` shows what the index holds",
            )
        shape = TableShape(
            tuple(column for column, _ in asked),
            frozenset(column for column, kind in asked if kind.lower() in _SCHEMA_INTEGERS),
            "the primary's schema",
        )
    _check_key(table, shape, key)


def _check_key(table: str, shape: TableShape, key: tuple[tuple[str, str], ...]) -> None:
    named = all(not column.startswith("@") for column in shape.columns)
    for column, value in key:
        if column.startswith("@"):
            if not column[1:].isdigit() or not 1 <= int(column[1:]) <= len(shape.columns):
                raise UsageError(
                    f"{table} has no column {column} (it has {len(shape.columns)} columns)",
                    hint="--key @N=VALUE names the Nth column, counted from 1",
                )
            label = column if not named else shape.columns[int(column[1:]) - 1]
        elif named and column not in shape.columns:
            raise UsageError(
                f"{table} has no column {column} (its columns, from {shape.source}: "
                f"{', '.join(shape.columns)})",
                hint="name the row by its key columns: --key COL=VALUE[,COL=VALUE]",
            )
        else:
            label = column
        if label in shape.integers and value.upper() != "NULL" and not _INTEGER.fullmatch(value):
            raise UsageError(
                f"{value!r} cannot be a value of {table}.{column}, an integer column",
                hint="give the key's value as the column holds it, e.g. --key id=42",
            )


def _shape_from_archive(
    store: IndexStore, archive: Path, schema: str, name: str
) -> TableShape | None:
    """The table's shape from the Table_map of its first indexed change (None: no change)."""
    first = next(table_changes(store, schema, name), None)
    if first is None:
        return None
    path = archive / first.file
    if not stored_path(path).is_file():
        return None  # the history itself says the file is missing
    with map_file(path, first.row_events) as buf:
        fmt = ev.parse_format_description(buf, 4, HEADER.unpack_from(buf, 4)[3])
        for start, end in first.row_events:
            if buf[start + 4] != ev.TABLE_MAP_EVENT:
                continue
            found = parse_table_map(
                buf,
                start + HEADER_LEN,
                end - fmt.checksum_len,
                fmt.post_header_len(ev.TABLE_MAP_EVENT),
                fmt.mariadb,
            )
            if found.schema == schema and found.table == name:
                return TableShape(
                    tuple(c.label for c in found.columns),
                    frozenset(c.label for c in found.columns if c.type in _BINLOG_INTEGERS),
                    "the archive",
                )
    return None
