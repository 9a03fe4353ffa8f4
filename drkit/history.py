"""`drkit history`: every version of one row, read from the index and the archive alone.

No server is asked anything: the index names the transactions that changed the table, the
archive holds their row images, and the key is matched by column name (binlog_row_metadata=FULL)
or by position (`@1`) where the table maps carry no names.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from drkit.binlog.events import FormatDescription
from drkit.binlog.files import map_file
from drkit.binlog.keys import KeyReader
from drkit.binlog.mysqljson import binary_json_text
from drkit.binlog.values import Value
from drkit.compression import stored_path
from drkit.config import Config
from drkit.errors import RefusedError, UsageError
from drkit.flashback.images import format_of, key_values, stream_images
from drkit.flashback.values import image_json, matches, parse_key, shown
from drkit.history_check import SchemaColumns, check_history_request
from drkit.index.changes import TableChange, change, gtid_of, table_changes
from drkit.index.gaps import refuse_window
from drkit.index.rowkeys import RowKeyCache, cache_path
from drkit.index.store import IndexStore
from drkit.timeparse import iso


@dataclass(frozen=True)
class RowVersion:
    """One change of the row: when, which transaction, the operation, both images."""

    id: int
    gtid: str | None
    timestamp: int
    operation: str
    before: Mapping[str, Value] | None
    after: Mapping[str, Value] | None

    @property
    def changed(self) -> tuple[str, ...]:
        """Columns whose value differs between the images (all of them for insert and delete)."""
        if self.before is None or self.after is None:
            return tuple((self.after or self.before or {}).keys())
        return tuple(
            name for name, value in self.after.items() if self.before.get(name, value) != value
        )

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "gtid": self.gtid,
            "timestamp": iso(self.timestamp),
            "operation": self.operation,
            "before": image_json(self.before),
            "after": image_json(self.after),
            "changed": list(self.changed),
        }


@dataclass(frozen=True)
class RowHistory:
    """Every version of one row of one table, oldest first."""

    table: str
    key: tuple[tuple[str, str], ...]
    versions: tuple[RowVersion, ...]
    transactions_read: int

    def to_json(self) -> dict[str, object]:
        return {
            "table": self.table,
            "key": dict(self.key),
            "versions": [v.to_json() for v in self.versions],
            "transactions_read": self.transactions_read,
        }

    def render(self) -> str:
        key = ", ".join(f"{k}={v}" for k, v in self.key)
        if not self.versions:
            return (
                f"{self.table} ({key}): no change in the index "
                f"({self.transactions_read} transaction{'' if self.transactions_read == 1 else 's'}"
                " of the table read)"
            )
        count = len(self.versions)
        lines = [f"{self.table} ({key}): {count} version{'' if count == 1 else 's'}, oldest first"]
        for version in self.versions:
            lines.append(
                f"#{version.id} {iso(version.timestamp)} {version.gtid or '-'} "
                f"{version.operation.upper()}"
            )
            changed = set(version.changed)
            names = list((version.after or version.before or {}).keys())
            width = max((len(n) for n in names), default=0)
            for name in names:
                mark = "*" if changed and name in changed and version.operation == "update" else " "
                before = shown(version.before[name]) if version.before is not None else ""
                after = shown(version.after[name]) if version.after is not None else ""
                if version.operation == "update":
                    text = f"{before} -> {after}" if name in changed else after
                else:
                    text = before or after
                lines.append(f"  {mark} {name:<{width}}  {text}")
        return "\n".join(lines)


def row_history(
    config: Config,
    store: IndexStore,
    table: str,
    key: str,
    *,
    since: float | None = None,
    until: float | None = None,
    schema_columns: SchemaColumns | None = None,
) -> RowHistory:
    """Every version of the row of `table` (schema.table) whose key is `key` (COL=VAL,...);
    UsageError for a table, key column or value that cannot name a row (`schema_columns` asks
    the primary about a table the index holds no change of)."""
    schema, dot, name = table.partition(".")
    if not dot or not schema or not name or "*" in table:
        raise UsageError(f"not a table: {table!r} (schema.table, no wildcards)")
    wanted = parse_key(key)
    check_history_request(store, config.index.archive_dir, table, wanted, schema_columns)
    # Every version of the row, or a refusal: a change lost in a gap would go unseen.
    refuse_window(store, since, until, f"the history of {table}")
    cached = _from_cache(config, store, schema, name, wanted, since, until)
    if cached is not None:
        return cached
    versions: list[RowVersion] = []
    read = 0
    for found in table_changes(store, schema, name, since=since, until=until):
        read += 1
        versions.extend(_versions(config.index.archive_dir, found, schema, name, wanted))
    return RowHistory(table, wanted, tuple(versions), read)


def _from_cache(
    config: Config,
    store: IndexStore,
    schema: str,
    table: str,
    wanted: tuple[tuple[str, str], ...],
    since: float | None,
    until: float | None,
) -> RowHistory | None:
    """The history through the row-key cache, or None when it cannot answer (no primary key,
    a key that is not the primary key, a cache that cannot be written)."""
    try:
        cache = RowKeyCache(cache_path(config.index.path))
    except (OSError, sqlite3.Error):
        return None
    try:
        key_columns = _refresh(cache, store, config.index.archive_dir, schema, table)
        typed = dict(wanted)
        if not key_columns or set(typed) != set(key_columns) or len(typed) != len(wanted):
            return None
        ids = cache.transactions(schema, table, _key_text([typed[c] for c in key_columns]))
    except sqlite3.Error:
        return None
    finally:
        cache.close()
    versions: list[RowVersion] = []
    for tx_id in ids:
        found = change(store, tx_id)
        if found is None:
            continue
        if (since is not None and found.timestamp < int(since)) or (
            until is not None and found.timestamp > int(until)
        ):
            continue
        versions.extend(_versions(config.index.archive_dir, found, schema, table, wanted))
    return RowHistory(f"{schema}.{table}", wanted, tuple(versions), len(ids))


def _refresh(
    cache: RowKeyCache, store: IndexStore, archive: Path, schema: str, table: str
) -> tuple[str, ...]:
    """Bring the cache up to the index for one table; its primary key columns (() if none)."""
    covered = cache.covered(schema, table)
    start = 0
    key_columns: tuple[str, ...] = ()
    if covered is not None:
        key_columns, start, gtid = covered
        if gtid_of(store, start) != gtid:
            cache.forget(schema, table)  # the index was rebuilt from something else
            start = 0
            key_columns = ()
    keys: list[tuple[str, int]] = []
    last = start
    readers: dict[tuple[object, ...], tuple[tuple[str, ...], KeyReader | None]] = {}
    with contextlib.ExitStack() as files:
        mapped: tuple[str, bytes, FormatDescription] | None = None
        for found in table_changes(store, schema, table, first_id=start + 1):
            if mapped is None or mapped[0] != found.file:
                files.close()
                buf = files.enter_context(map_file(_archived(archive, found)))
                mapped = (found.file, buf, format_of(buf))
            previous: tuple[Value, ...] | None = None
            for labels, values in key_values(
                mapped[1], mapped[2], found.row_events, schema, table, readers
            ):
                if not labels or (key_columns and labels != key_columns):
                    return ()  # no primary key (or it changed): history reads every change
                key_columns = labels
                if values == previous:
                    continue  # an update's after image keeps its key: one entry is enough
                previous = values
                shown_values = [str(v) if type(v) is int else shown(v) for v in values]
                keys.append((_key_text(shown_values), found.id))
            last = found.id
            if len(keys) >= 100_000:
                cache.add(schema, table, key_columns, keys, last, gtid_of(store, last) or "")
                keys.clear()
    if last != start:
        cache.add(schema, table, key_columns, keys, last, gtid_of(store, last) or "")
    return key_columns


def _key_text(values: list[str]) -> str:
    """The cache's key text: the values shown, as a JSON array."""
    if all(value.isascii() and value.isalnum() for value in values):
        return '["' + '", "'.join(values) + '"]'  # what json.dumps writes, for the common keys
    return json.dumps(values, ensure_ascii=False)


def _versions(
    archive: Path, change: TableChange, schema: str, table: str, key: tuple[tuple[str, str], ...]
) -> Iterator[RowVersion]:
    for image in stream_images(_archived(archive, change), change.row_events):
        row = image.row
        if row.schema != schema or row.table != table:
            continue
        if not (matches(row.before, key) or matches(row.after, key)):
            _refuse_unnamed(image.columns, key, change.id)
            continue
        before, after = row.before, row.after
        if image.binary_json:
            before = _json_text(before, image.binary_json)
            after = _json_text(after, image.binary_json)
        yield RowVersion(change.id, change.gtid, change.timestamp, row.operation, before, after)


def _json_text(
    image: Mapping[str, Value] | None, columns: tuple[str, ...]
) -> Mapping[str, Value] | None:
    """MySQL binary JSON values as their JSON text (the decoder leaves them as bytes)."""
    if image is None:
        return None
    shown = dict(image)
    for name in columns:
        value = shown.get(name)
        if isinstance(value, bytes):
            with contextlib.suppress(ValueError, IndexError):  # undecodable: shown as bytes
                shown[name] = binary_json_text(value)
    return shown


def _archived(archive: Path, change: TableChange) -> Path:
    path = archive / change.file
    if not stored_path(path).is_file():  # NAME, or NAME.zst once compressed
        raise RefusedError(
            f"transaction #{change.id} is in {change.file}, which is not in the archive {archive}",
            hint="the archive was pruned or never copied that file; history reads only the archive",
        )
    return path


def _refuse_unnamed(columns: tuple[str, ...], key: tuple[tuple[str, str], ...], tx_id: int) -> None:
    """A key by name cannot match a table map without names: say so instead of finding nothing."""
    if columns and all(c.startswith("@") for c in columns):
        unnamed = [k for k, _ in key if k not in columns]
        if unnamed:
            raise RefusedError(
                f"the table map of transaction #{tx_id} carries no column names "
                "(binlog_row_metadata was not FULL when it was written), so "
                f"{', '.join(unnamed)} cannot be found by name",
                hint="name the key by position instead (--key @1=VALUE), "
                "and set binlog_row_metadata=FULL on the primary",
            )
