"""What in a stretch of the index changed a table without row images (`drkit asof` refuses it):
binlog incidents (a gap), schema changes naming the table, and statements the index could not
tie to a table that still mention it (a DROP DATABASE, DML logged as statement text).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Protocol


class IndexStore(Protocol):
    """What these queries need of `drkit.index.store.IndexStore` (a protocol keeps this module,
    and the pure planner importing its values, clear of the store's own imports)."""

    conn: sqlite3.Connection


@dataclass(frozen=True, slots=True)
class Unreadable:
    """One transaction whose effect on the table the archive's row images cannot undo."""

    id: int
    gtid: str | None
    kind: str
    statement: str
    why: str

    @property
    def label(self) -> str:
        return f"#{self.id}" + (f" ({self.gtid})" if self.gtid else "")


def unreadable_between(
    store: IndexStore, schema: str, table: str, first_id: int, last_id: int, limit: int = 20
) -> list[Unreadable]:
    """Transactions with first_id <= id <= last_id that change `schema.table` (or may) without
    row images, oldest first."""
    named = (
        "SELECT t.id, t.gtid, t.kind, t.statement FROM transaction_tables tt "
        "CROSS JOIN transactions t ON t.id = tt.tx_id "
        "WHERE tt.schema_name = ? AND tt.table_name = ? AND tt.tx_id BETWEEN ? AND ? "
        "AND (t.kind = 'ddl' OR tt.inserts + tt.updates + tt.deletes = 0)"
    )
    found: dict[int, Unreadable] = {}
    for tx_id, gtid, kind, statement in store.conn.execute(
        named + " ORDER BY t.id LIMIT ?", (schema, table, first_id, last_id, limit)
    ):
        found[int(tx_id)] = Unreadable(
            int(tx_id), gtid, str(kind), str(statement), f"a schema change of {schema}.{table}"
        )
    # Statements the index tied to no table at all (a DROP DATABASE, a statement-logged DML): a
    # refusal when one names the schema as a whole identifier. The table's bare name is not
    # enough (mariadb-dump's `/*!40000 ALTER TABLE t DISABLE KEYS */` for another schema's t);
    # a change the index missed that way still meets the rewind's row-by-row checks.
    loose = (
        "SELECT t.id, t.gtid, t.kind, t.statement FROM transactions t "
        "WHERE t.id BETWEEN ? AND ? AND (t.kind = 'incident' OR (t.kind IN ('ddl', 'dml') "
        "AND NOT EXISTS (SELECT 1 FROM transaction_tables tt WHERE tt.tx_id = t.id))) "
        "ORDER BY t.id"
    )
    names = {schema.lower()}
    for tx_id, gtid, kind, statement in store.conn.execute(loose, (first_id, last_id)):
        if kind == "incident":
            why = "a gap in the binlog (an incident event): changes made there are not in it"
        elif names & statement_identifiers(str(statement)):
            why = f"a statement without row images that names the schema {schema}"
        else:
            continue
        found.setdefault(int(tx_id), Unreadable(int(tx_id), gtid, str(kind), str(statement), why))
        if len(found) >= limit:
            break
    return sorted(found.values(), key=lambda u: u.id)[:limit]


_IDENTIFIER = re.compile(r"`((?:[^`]|``)+)`|([\w$]+)")


def statement_identifiers(statement: str) -> set[str]:
    """Every word or backquoted name of a statement, lower-cased."""
    return {
        (quoted.replace("``", "`") if quoted else bare).lower()
        for quoted, bare in _IDENTIFIER.findall(statement)
    }


@dataclass(frozen=True, slots=True)
class TableSpan:
    """The row changes of one table in a stretch of the index, and the archive files they are in."""

    transactions: int
    inserts: int
    updates: int
    deletes: int
    files: tuple[tuple[str, int], ...]  # (binlog file, the end of its last transaction needed)

    @property
    def rows(self) -> int:
        return self.inserts + self.updates + self.deletes


def table_span(
    store: IndexStore, schema: str, table: str, first_id: int, last_id: int
) -> TableSpan:
    """Counts of `schema.table`'s row changes with first_id <= id <= last_id, and their files."""
    count, inserts, updates, deletes = store.conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(inserts), 0), COALESCE(SUM(updates), 0), "
        "COALESCE(SUM(deletes), 0) FROM transaction_tables "
        "WHERE schema_name = ? AND table_name = ? AND tx_id BETWEEN ? AND ? "
        "AND inserts + updates + deletes > 0",
        (schema, table, first_id, last_id),
    ).fetchone()
    files = tuple(
        (str(file), int(end))
        for file, end in store.conn.execute(
            "SELECT t.file, MAX(t.end_pos) FROM transaction_tables tt "
            "CROSS JOIN transactions t ON t.id = tt.tx_id "
            "WHERE tt.schema_name = ? AND tt.table_name = ? AND tt.tx_id BETWEEN ? AND ? "
            "AND tt.inserts + tt.updates + tt.deletes > 0 GROUP BY t.file ORDER BY t.file",
            (schema, table, first_id, last_id),
        )
    )
    return TableSpan(int(count), int(inserts), int(updates), int(deletes), files)
