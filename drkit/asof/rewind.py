"""The rewind itself (pure): a table's current rows, keyed by primary key (or by the whole row
when it has none), and each archived row change undone newest first.

Every undo checks that the row holds what the change left: the replica's rows and the archive's
images must tell one story. When they do not (a position read wrong, a change the archive does
not hold, a value read in another form), the rewind stops with the row and the transaction
instead of returning a table that is neither the present nor the past.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from drkit.errors import RefusedError

Row = tuple[object, ...]

_TEMPORAL = {"date": dt.date.fromisoformat, "datetime": dt.datetime.fromisoformat}
_TEMPORAL["timestamp"] = dt.datetime.fromisoformat


class RewindConflict(RefusedError):
    """The replica's rows and the archive's images disagree: no answer rather than a wrong one."""


def canonical(value: object) -> object:
    """A decoded binlog value in the form the server's rows are read in (`dialect.asof`)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)  # TIMESTAMP: UTC wall clock
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    return value


def from_server(value: object, data_type: str) -> object:
    """A value as `dialect.asof.select_rows` reads it, in the decoder's form: temporal text
    parsed (zero dates stay text, as the decoder leaves them), bytes as bytes."""
    if isinstance(value, bytearray):
        return bytes(value)
    parse = _TEMPORAL.get(data_type)
    if parse is not None and isinstance(value, str):
        try:
            return parse(value)
        except ValueError:
            return value  # "0000-00-00": the decoder's text too
    if isinstance(value, bytes) and data_type in ("set", "date", "datetime", "timestamp"):
        return from_server(value.decode("utf-8"), data_type)
    return value


def row_reader(data_types: Sequence[str]) -> Callable[[Sequence[object]], Row]:
    """Turns a row as read into its canonical form; only the columns that need it are touched
    (most need nothing: the driver's int, str, Decimal and bytes are the decoder's too)."""
    needing = [i for i, t in enumerate(data_types) if t in _NEEDS_PARSING]
    if not needing:
        return tuple

    def read(row: Sequence[object]) -> Row:
        values = list(row)
        for i in needing:
            values[i] = from_server(values[i], data_types[i])
        return tuple(values)

    return read


_NEEDS_PARSING = frozenset({"date", "datetime", "timestamp", "set"})


@dataclass(frozen=True)
class Undone:
    """How many row changes of each kind were undone."""

    inserts: int = 0
    updates: int = 0
    deletes: int = 0

    @property
    def total(self) -> int:
        return self.inserts + self.updates + self.deletes


@dataclass
class Rewinder:
    """The table's rows, rewound one row change at a time (newest first)."""

    columns: tuple[str, ...]
    key: tuple[str, ...]  # primary key columns; () keys by the whole row
    _by_key: dict[Row, Row] = field(default_factory=dict)
    _counts: dict[Row, int] = field(default_factory=dict)  # no primary key: a multiset
    touched: set[Row] = field(default_factory=set)  # keys some undone change concerned
    _undone: dict[str, int] = field(default_factory=lambda: {"insert": 0, "update": 0, "delete": 0})

    def __post_init__(self) -> None:
        missing = [c for c in self.key if c not in self.columns]
        if missing:
            raise ValueError(f"key columns {missing} are not columns of the table")
        self._key_at = tuple(self.columns.index(c) for c in self.key)

    # -- loading ----------------------------------------------------------------------------

    def load(self, rows: Iterable[Row]) -> None:
        """The replica's rows as read (already in canonical form, table column order)."""
        if self.key:
            at = self._key_at
            by_key = self._by_key
            for row in rows:
                by_key[tuple([row[i] for i in at])] = row
        else:
            counts = self._counts
            for row in rows:
                counts[row] = counts.get(row, 0) + 1

    # -- undoing ----------------------------------------------------------------------------

    def undo(
        self,
        operation: str,
        before: Mapping[str, object] | None,
        after: Mapping[str, object] | None,
        label: str,
    ) -> None:
        """Undo one row change of the transaction `label`; RewindConflict when the row is not
        what that change left."""
        if operation == "insert":
            assert after is not None
            self._take(self._row(after), label, "inserted")
        elif operation == "delete":
            assert before is not None
            self._put(self._row(before), label)
        else:
            assert before is not None and after is not None
            self._take(self._row(after), label, "updated")
            self._put(self._row(before), label)
        self._undone[operation] += 1

    def _row(self, image: Mapping[str, object]) -> Row:
        return tuple([canonical(image[c]) for c in self.columns])

    def _key(self, row: Row) -> Row:
        return tuple([row[i] for i in self._key_at]) if self.key else row

    def _take(self, row: Row, label: str, what: str) -> None:
        key = self._key(row)
        self.touched.add(key)
        if self.key:
            found = self._by_key.get(key)
            if found != row:
                raise self._conflict(label, key, what, row, found)
            del self._by_key[key]
            return
        count = self._counts.get(row, 0)
        if not count:
            raise self._conflict(label, key, what, row, None)
        if count == 1:
            del self._counts[row]
        else:
            self._counts[row] = count - 1

    def _put(self, row: Row, label: str) -> None:
        key = self._key(row)
        self.touched.add(key)
        if self.key:
            found = self._by_key.get(key)
            if found is not None:
                raise RewindConflict(
                    f"{label} removed the row with key {_shown_key(self.key, key)}, but the "
                    f"replica's copy still holds a row with that key ({_shown_row(self.columns, found)}): "
                    "the replica's rows and the archive disagree",
                    hint=_HINT,
                )
            self._by_key[key] = row
            return
        self._counts[row] = self._counts.get(row, 0) + 1

    def _conflict(
        self, label: str, key: Row, what: str, expected: Row, found: Row | None
    ) -> RewindConflict:
        shown = (
            "the replica's copy has no such row"
            if found is None
            else f"it holds {_shown_row(self.columns, found)}"
        )
        where = f"key {_shown_key(self.key, key)}" if self.key else "no primary key"
        return RewindConflict(
            f"{label} {what} the row ({where}) as {_shown_row(self.columns, expected)}, but "
            f"{shown}: the replica's rows and the archive disagree",
            hint=_HINT,
        )

    # -- the result ---------------------------------------------------------------------------

    @property
    def undone(self) -> Undone:
        return Undone(self._undone["insert"], self._undone["update"], self._undone["delete"])

    def __len__(self) -> int:
        return len(self._by_key) if self.key else sum(self._counts.values())

    def rows(self) -> Iterator[Row]:
        """The rewound rows, by primary key order (without one, in the order they were met)."""
        if self.key:
            for key in sorted(self._by_key, key=_sort_key):
                yield self._by_key[key]
            return
        for row, count in self._counts.items():
            for _ in range(count):
                yield row

    def rows_of(self, keys: Iterable[Row]) -> list[Row]:
        """The rewound rows with these keys (those that exist at T)."""
        if self.key:
            return [self._by_key[k] for k in keys if k in self._by_key]
        return [k for k in keys for _ in range(self._counts.get(k, 0))]

    def key_of(self, row: Row) -> Row:
        return self._key(row)

    def key_of_image(self, image: Mapping[str, object]) -> Row:
        """The key of a row image (canonical values), as `undo` will look it up."""
        return self._key(self._row(image))


_HINT = (
    "the delayed replica's data does not follow the primary's binlog for this table (a "
    "transaction skipped by `drkit recover --skip`, a write made on the replica itself, or a "
    "binlog the index read wrong); `drkit inspect --at T` or `drkit history` answer without it"
)


def _sort_key(key: Row) -> tuple[object, ...]:
    return tuple((value is None, value) for value in key)


def _shown_key(names: Sequence[str], key: Row) -> str:
    return ", ".join(f"{n}={_short(v)}" for n, v in zip(names, key, strict=False))


def _shown_row(columns: Sequence[str], row: Row) -> str:
    text = ", ".join(f"{c}={_short(v)}" for c, v in zip(columns, row, strict=False))
    return "(" + (text if len(text) < 300 else text[:297] + "...") + ")"


def _short(value: object) -> str:
    from drkit.flashback.values import shown

    text = shown(value)
    return text if len(text) <= 60 else text[:57] + "..."
