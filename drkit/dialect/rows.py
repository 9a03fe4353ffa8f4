"""SQL for single rows: literals of decoded binlog values, the NULL-safe whole-row match, and
the reverse statements flashback runs (each acts only on a row in the state the disaster left).

Functions, not dialect methods: the text is the same on MariaDB and MySQL 8. Times are written
as UTC wall-clock values; the session running them sets `time_zone = '+00:00'` first.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from drkit.dialect.sql import Sql, quote_ident, quote_string, quote_table, read

Image = Mapping[str, object]


def literal(value: object) -> str:
    """A decoded row value (drkit.binlog.values) as an SQL literal."""
    render = _LITERALS.get(type(value))
    return render(value) if render is not None else _other_literal(value)


def _float(value: float) -> str:
    text = repr(value)
    # An `e` makes the server read a DOUBLE, not an exact DECIMAL.
    return text if "e" in text else text + "e0"


def _datetime(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return quote_string(value.isoformat(sep=" "))


def string_literal(value: str) -> str:
    """A text value as a literal (quoted and escaped only where it needs it)."""
    if "\\" in value or "'" in value or "\x00" in value:
        return quote_string(value)
    return f"'{value}'"


def decimal_literal(value: Decimal) -> str:
    """Plain digits: `str()` would write 1E-10, which the server reads as an inexact DOUBLE."""
    return format(value, "f")


@dataclass(frozen=True)
class Slot:
    """A placeholder for the literal at `index` of a row, in a statement made into a template."""

    index: int


_SLOT = re.compile("\x00([0-9]+)\x00")


def template(text: str) -> str:
    """A statement built over Slots as a `str.format` template: `.format(*literals)` gives the
    statement the same builder makes from the values (braces of identifiers doubled)."""
    escaped = text.replace("{", "{{").replace("}", "}}")
    return _SLOT.sub(lambda match: "{" + match.group(1) + "}", escaped)


_LITERALS: dict[type, Callable[[Any], str]] = {
    type(None): lambda value: "NULL",
    int: str,
    str: string_literal,
    Decimal: decimal_literal,
    float: _float,
    bytes: lambda value: f"X'{value.hex()}'",
    dt.datetime: _datetime,
    dt.date: lambda value: f"'{value.isoformat()}'",
    dt.timedelta: lambda value: f"'{time_text(value)}'",
    Slot: lambda slot: f"\x00{slot.index}\x00",
}


def _other_literal(value: object) -> str:
    """Subclasses and the rare types: bool, bytearray, memoryview, aware datetimes."""
    if isinstance(value, bool):
        return "1" if value else "0"
    for kind in (int, float, Decimal, str, dt.datetime, dt.date, dt.timedelta):
        if isinstance(value, kind):
            return _LITERALS[kind](value)
    if isinstance(value, bytearray | memoryview):
        return "X'" + bytes(value).hex() + "'"
    return quote_string(str(value))


def time_text(delta: dt.timedelta) -> str:
    """A TIME value as the server prints it: [-]HH:MM:SS[.ffffff], hours past 24 allowed."""
    micros = delta.days * 86_400_000_000 + delta.seconds * 1_000_000 + delta.microseconds
    sign = "-" if micros < 0 else ""
    seconds, fraction = divmod(abs(micros), 1_000_000)
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    return f"{sign}{hours:02d}:{minute:02d}:{second:02d}" + (f".{fraction:06d}" if fraction else "")


def row_match(image: Image, columns: Sequence[str]) -> str:
    """`a <=> 1 AND b <=> NULL ...`: the row holds exactly these values (NULL-safe)."""
    quoted = _quoted(tuple(columns))
    return " AND ".join(
        [f"{q} <=> {literal(image[c])}" for q, c in zip(quoted, columns, strict=True)]
    )


@functools.lru_cache(maxsize=256)
def _quoted(columns: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(quote_ident(c) for c in columns)


@functools.lru_cache(maxsize=256)
def _names(columns: tuple[str, ...]) -> str:
    return ", ".join(_quoted(columns))


def restore_deleted(table: str, image: Image, columns: Sequence[str], key: Sequence[str]) -> Sql:
    """Insert a deleted row back, only while no row holds its key (the state the DELETE left)."""
    names = _names(tuple(columns))
    values = ", ".join([literal(image[c]) for c in columns])
    target = quote_table(table)
    if not key:
        return Sql(f"INSERT INTO {target} ({names}) VALUES ({values})")
    return Sql(
        f"INSERT INTO {target} ({names}) SELECT {values} FROM DUAL WHERE NOT EXISTS "
        f"(SELECT 1 FROM {target} WHERE {row_match(image, key)})"
    )


def undo_update(
    table: str, before: Image, after: Image, write: Sequence[str], compare: Sequence[str]
) -> Sql:
    """Put an updated row back, only while it holds exactly what the UPDATE left."""
    changes = ", ".join(f"{quote_ident(c)} = {literal(before[c])}" for c in write)
    return Sql(
        f"UPDATE {quote_table(table)} SET {changes} WHERE {row_match(after, compare)} LIMIT 1"
    )


def remove_inserted(table: str, after: Image, compare: Sequence[str]) -> Sql:
    """Delete an inserted row, only while it holds exactly what the INSERT wrote."""
    return Sql(f"DELETE FROM {quote_table(table)} WHERE {row_match(after, compare)} LIMIT 1")


def count_matching(table: str, images: Iterable[Image], columns: Sequence[str]) -> Sql:
    """How many rows match any of the images (verification after a flashback)."""
    either = " OR ".join(f"({row_match(image, columns)})" for image in images)
    return read(f"SELECT COUNT(*) AS n FROM {quote_table(table)} WHERE {either or '0'}")


def utc_session() -> Sql:
    return Sql("SET SESSION time_zone = '+00:00'", changes=False)


def begin() -> Sql:
    return Sql("START TRANSACTION")


def commit() -> Sql:
    return Sql("COMMIT")


def rollback() -> Sql:
    return Sql("ROLLBACK")


def table_columns(table: str) -> Sql:
    """Each column: name, position, whether the server computes it (generated)."""
    schema, _, name = table.partition(".")
    return read(
        "SELECT COLUMN_NAME AS name, ORDINAL_POSITION AS position, "
        "(EXTRA LIKE '%GENERATED%' OR EXTRA IN ('VIRTUAL', 'PERSISTENT', 'STORED')) AS generated, "
        "COLUMN_KEY AS column_key, DATA_TYPE AS data_type "
        "FROM information_schema.COLUMNS "
        f"WHERE TABLE_SCHEMA = {quote_string(schema)} AND TABLE_NAME = {quote_string(name)} "
        "ORDER BY ORDINAL_POSITION"
    )


def cascading_children(table: str) -> Sql:
    """Foreign keys of other tables that the server changes along with this one's rows."""
    schema, _, name = table.partition(".")
    return read(
        "SELECT CONSTRAINT_SCHEMA AS child_schema, TABLE_NAME AS child_table, "
        "CONSTRAINT_NAME AS name, DELETE_RULE AS on_delete, UPDATE_RULE AS on_update "
        "FROM information_schema.REFERENTIAL_CONSTRAINTS "
        f"WHERE UNIQUE_CONSTRAINT_SCHEMA = {quote_string(schema)} "
        f"AND REFERENCED_TABLE_NAME = {quote_string(name)} "
        "AND (DELETE_RULE IN ('CASCADE', 'SET NULL', 'SET DEFAULT') "
        "OR UPDATE_RULE IN ('CASCADE', 'SET NULL', 'SET DEFAULT')) "
        "ORDER BY CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME"
    )


def table_triggers(table: str) -> Sql:
    schema, _, name = table.partition(".")
    return read(
        "SELECT TRIGGER_NAME AS name, EVENT_MANIPULATION AS event "
        "FROM information_schema.TRIGGERS "
        f"WHERE EVENT_OBJECT_SCHEMA = {quote_string(schema)} "
        f"AND EVENT_OBJECT_TABLE = {quote_string(name)}"
    )


def _key_join(key: Sequence[str], left: str, right: str) -> str:
    return " AND ".join(f"{left}.{quote_ident(c)} <=> {right}.{quote_ident(c)}" for c in key)


def merge_missing(target: str, staging: str, columns: Sequence[str], key: Sequence[str]) -> Sql:
    """Insert the staging rows whose key the target lacks; existing rows are never touched."""
    names = ", ".join(quote_ident(c) for c in columns)
    picked = ", ".join(f"s.{quote_ident(c)}" for c in columns)
    return Sql(
        f"INSERT INTO {quote_table(target)} ({names}) SELECT {picked} FROM {quote_table(staging)} s "
        f"WHERE NOT EXISTS (SELECT 1 FROM {quote_table(target)} t WHERE {_key_join(key, 't', 's')})"
    )


def count_missing(target: str, staging: str, key: Sequence[str]) -> Sql:
    """How many staging rows have a key the target lacks."""
    return read(
        f"SELECT COUNT(*) AS n FROM {quote_table(staging)} s WHERE NOT EXISTS "
        f"(SELECT 1 FROM {quote_table(target)} t WHERE {_key_join(key, 't', 's')})"
    )


def drop_table(table: str) -> Sql:
    return Sql(f"DROP TABLE {quote_table(table)}")


def count_rows_of(table: str) -> Sql:
    return read(f"SELECT COUNT(*) AS n FROM {quote_table(table)}")


def restore_deleted_batch(
    table: str, images: Sequence[Image], columns: Sequence[str], key: Sequence[str]
) -> Sql:
    """`restore_deleted` for many rows in one statement: each only while its key is free.

    Its affected-row count says whether every row went in; a short count (or a key twice in the
    batch, an error) sends the caller back to one statement a row, after a savepoint.
    """
    quoted = _quoted(tuple(columns))
    first, *rest = images
    rows = [", ".join(f"{literal(first[c])} AS {q}" for q, c in zip(quoted, columns, strict=True))]
    rows += [", ".join([literal(image[c]) for c in columns]) for image in rest]
    values = " UNION ALL ".join(f"SELECT {row}" for row in rows)
    picked = ", ".join(f"r.{q}" for q in quoted)
    target = quote_table(table)
    return Sql(
        f"INSERT INTO {target} ({_names(tuple(columns))}) SELECT {picked} FROM ({values}) AS r "
        f"WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE {_key_join(key, 't', 'r')})"
    )


def savepoint() -> Sql:
    return Sql("SAVEPOINT drkit_batch")


def rollback_to_savepoint() -> Sql:
    return Sql("ROLLBACK TO SAVEPOINT drkit_batch")


def existing_keys(table: str, key: Sequence[str], rows: Sequence[Sequence[str]]) -> Sql:
    """The keys among `rows` (each the key's literals, in `key` order) that the table holds."""
    names = _names(tuple(key))
    if len(key) == 1:
        listed = ", ".join(row[0] for row in rows)
        return read(f"SELECT {names} FROM {quote_table(table)} WHERE {names} IN ({listed})")
    listed = ", ".join("(" + ", ".join(row) + ")" for row in rows)
    return read(f"SELECT {names} FROM {quote_table(table)} WHERE ({names}) IN ({listed})")


def count_where(table: str, conditions: Sequence[str]) -> Sql:
    """How many rows meet any of `conditions` (each a `row_match` text)."""
    either = " OR ".join(f"({condition})" for condition in conditions)
    return read(f"SELECT COUNT(*) AS n FROM {quote_table(table)} WHERE {either or '0'}")


def literal_values(columns: Sequence[str], literals: Sequence[str]) -> Sql:
    """The literals back as typed values from the server, named by `columns`."""
    picked = ", ".join(
        f"{value} AS {name}" for value, name in zip(literals, _quoted(tuple(columns)), strict=True)
    )
    return read(f"SELECT {picked}")
