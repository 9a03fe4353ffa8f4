"""One indexed transaction as the rest of drkit sees it (pure value)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from drkit.model.coords import BinlogCoord


class TableRows(NamedTuple):
    """Rows one transaction changed in one table (a named tuple: the indexer makes millions)."""

    table: str  # schema.table
    inserts: int = 0
    updates: int = 0
    deletes: int = 0


@dataclass(frozen=True)
class Destructive:
    """A finding of the classifier on a transaction (the worst one names no tables)."""

    category: str
    severity: str
    reason: str
    tables: tuple[str, ...] = ()

    def to_json(self) -> dict[str, str]:
        return {"class": self.category, "severity": self.severity, "reason": self.reason}


@dataclass(frozen=True)
class IndexedTransaction:
    """A transaction of the primary: where it sits in the binlog, when, what it touched."""

    id: int
    gtid: str | None
    file: str
    start_pos: int
    end_pos: int
    timestamp: int
    server_id: int
    kind: str
    tables: tuple[TableRows, ...]
    statement: str
    destructive: Destructive | None = None  # the worst finding
    findings: tuple[Destructive, ...] = ()  # every finding, in the classifier's order

    @property
    def start(self) -> BinlogCoord:
        """Where `UNTIL` must stop to leave this transaction unapplied."""
        return BinlogCoord(self.file, self.start_pos)

    @property
    def end(self) -> BinlogCoord:
        return BinlogCoord(self.file, self.end_pos)

    @property
    def rows(self) -> tuple[int, int, int]:
        return (
            sum(t.inserts for t in self.tables),
            sum(t.updates for t in self.tables),
            sum(t.deletes for t in self.tables),
        )

    @property
    def rows_unknown(self) -> bool:
        """A DROP or TRUNCATE removes rows no row event counts: the binlog cannot say how many."""
        finding = self.destructive
        return (
            self.kind == "ddl"
            and finding is not None
            and finding.category in ("drop_table", "truncate", "drop_database")
        )

    @property
    def rows_text(self) -> str:
        """`+1 ~0 -3`, or `rows ?` for a DROP or TRUNCATE (the rows it took are not counted)."""
        if self.rows_unknown:
            return "rows ?"
        inserts, updates, deletes = self.rows
        return f"+{inserts} ~{updates} -{deletes}"

    @property
    def when(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.timestamp, tz=dt.UTC)

    @property
    def label(self) -> str:
        """A short human name: `#42 0-1-28 DROP TABLE shop.orders`."""
        text = (
            " ".join(self.statement.split())[:60]
            or f"{self.kind} on {', '.join(t.table for t in self.tables) or '-'}"
        )
        return f"#{self.id} {self.gtid or '-'} {text}"

    def to_json(self) -> dict[str, object]:
        inserts, updates, deletes = self.rows
        return {
            "id": self.id,
            "gtid": self.gtid,
            "file": self.file,
            "start_pos": self.start_pos,
            "end_pos": self.end_pos,
            "timestamp": self.when.isoformat().replace("+00:00", "Z"),
            "server_id": self.server_id,
            "kind": self.kind,
            "tables": [t.table for t in self.tables],
            "rows": {"insert": inserts, "update": updates, "delete": deletes},
            "table_rows": {
                t.table: {"insert": t.inserts, "update": t.updates, "delete": t.deletes}
                for t in self.tables
            },
            "statement": self.statement,
            "destructive": self.destructive.to_json() if self.destructive else None,
            "findings": [{**f.to_json(), "tables": list(f.tables)} for f in self.findings],
        }
