"""`drkit history`: every version of one row, read from the index and the archive alone.

No server is asked anything: the index names the transactions that changed the table, the
archive holds their row images, and the key is matched by column name (binlog_row_metadata=FULL)
or by position (`@1`) where the table maps carry no names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from drkit.binlog.values import Value
from drkit.config import Config
from drkit.errors import RefusedError, UsageError
from drkit.flashback.images import stream_images
from drkit.flashback.values import image_json, matches, parse_key, shown
from drkit.index.changes import TableChange, table_changes
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
                f"({self.transactions_read} transactions of the table read)"
            )
        lines = [f"{self.table} ({key}): {len(self.versions)} versions, oldest first"]
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
) -> RowHistory:
    """Every version of the row of `table` (schema.table) whose key is `key` (COL=VAL,...)."""
    schema, dot, name = table.partition(".")
    if not dot or not schema or not name or "*" in table:
        raise UsageError(f"not a table: {table!r} (schema.table, no wildcards)")
    wanted = parse_key(key)
    versions: list[RowVersion] = []
    read = 0
    for change in table_changes(store, schema, name, since=since, until=until):
        read += 1
        versions.extend(_versions(config.index.archive_dir, change, schema, name, wanted))
    return RowHistory(table, wanted, tuple(versions), read)


def _versions(
    archive: Path, change: TableChange, schema: str, table: str, key: tuple[tuple[str, str], ...]
) -> Iterator[RowVersion]:
    path = archive / change.file
    if not path.is_file():
        raise RefusedError(
            f"transaction #{change.id} is in {change.file}, which is not in the archive {archive}",
            hint="the archive was pruned or never copied that file; history reads only the archive",
        )
    for image in stream_images(path, change.row_events):
        row = image.row
        if row.schema != schema or row.table != table:
            continue
        if not (matches(row.before, key) or matches(row.after, key)):
            _refuse_unnamed(image.columns, key, change.id)
            continue
        yield RowVersion(
            change.id, change.gtid, change.timestamp, row.operation, row.before, row.after
        )


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
