"""Read and write the index. Records and their checkpoint commit together, so a crash at any
moment leaves either both or neither."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from drkit.errors import DrkitError
from drkit.index.layout import (
    FindingRow,
    Scanned,
    TableRow,
    TransactionRow,
    Verdict,
    lay_out,
    unpack_pairs,
)
from drkit.index.records import Destructive, IndexedTransaction, TableRows
from drkit.index.schema import (
    FINDINGS_SCHEMA,
    build_deferred_indexes,
    drop_deferred_indexes,
    migrate,
    missing_deferred_indexes,
)
from drkit.io.secrets import redact_statement
from drkit.model.coords import BinlogCoord

SEVERITY_NAMES = {1: "low", 2: "medium", 3: "high", 4: "critical"}
SEVERITY_RANKS = {name: rank for rank, name in SEVERITY_NAMES.items()}


class IndexStoreError(DrkitError):
    """The index cannot be opened or read, or does not fit the primary it is asked about."""


class IndexDamagedError(IndexStoreError):
    """SQLite found the index file corrupt: a malformed page, or not a database at all."""


REBUILD_HINT = (
    "stop any `drkit index --follow` or `drkit guard`, then run `drkit index --rebuild`: it "
    "moves the damaged file aside and rebuilds the index from the binlog archive"
)
# SQLite's primary result codes that mean the file itself is damaged.
_SQLITE_INTERRUPT = 9
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26

T = TypeVar("T")


def store_error(path: Path, exc: sqlite3.Error, *, opening: bool = False) -> IndexStoreError:
    """The drkit error for a SQLite error on the index at `path`: damaged, or failed."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return IndexDamagedError(f"the index {path} is damaged ({exc})", hint=REBUILD_HINT)
    if opening:
        return IndexStoreError(f"cannot open the index {path}: {exc}")
    return IndexStoreError(f"SQLite failed on the index {path}: {exc}")


def _sqlite_errors_as_drkit_errors(cls: type[T]) -> type[T]:
    """Wrap every public method so a SQLite error leaves the store as an IndexStoreError.

    The boundary is here and only here: callers (CLI, TUI, engine) see one sentence naming the
    file, and a damaged file says how to rebuild it. Programming errors (a closed store) are
    left alone.
    """
    for name, method in list(vars(cls).items()):
        if name.startswith("_") or not callable(method):
            continue
        setattr(cls, name, _translating(method))
    return cls


def _translating(method: Any) -> Any:
    @functools.wraps(method)
    def wrapper(self: IndexStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.ProgrammingError:
            raise
        except sqlite3.DatabaseError as exc:
            raise store_error(self.path, exc) from None

    return wrapper


class NewTransaction(NamedTuple):
    """What the indexer hands the store for one transaction (before it has an id).

    A named tuple rather than a dataclass: the indexer makes one per transaction, and this is
    three times cheaper to build.
    """

    gtid: str | None
    file: str
    start_pos: int
    end_pos: int
    timestamp: int
    server_id: int
    kind: str
    tables: tuple[TableRows, ...]
    statement: str
    destructive: Destructive | None
    row_events: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Filters:
    """What `drkit events` and the TUI timeline ask for."""

    since: float | None = None
    until: float | None = None
    table: str | None = None  # schema.table, `*` wildcards allowed
    destructive: bool = False
    limit: int | None = 100
    before_id: int | None = None  # paging, newest first
    newest_first: bool = True


@_sqlite_errors_as_drkit_errors
class IndexStore:
    """One open index database; SQLite errors leave it as IndexStoreError (see above)."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        if readonly and not path.exists():
            raise IndexStoreError(
                f"no index at {path}",
                hint="run `drkit index` to build it from the primary's binlog",
            )
        if not readonly:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Statement texts hold application data: the index is private to its owner (SQLite
            # gives its -wal and -shm files the same mode).
            with contextlib.suppress(FileExistsError):
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
        try:
            self.conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise store_error(path, exc, opening=True) from None
        try:
            self.conn.execute("PRAGMA busy_timeout = 30000")
            if not readonly:
                self.conn.execute("PRAGMA journal_mode = WAL")
                self.conn.execute("PRAGMA synchronous = NORMAL")
                self.conn.execute("PRAGMA cache_size = -65536")
                migrate(self.conn)
                self._build_missing_indexes()
            version = int(self.conn.execute("PRAGMA user_version").fetchone()[0])
            if version == 0:
                # The writer creates the file, then its tables: a reader can come in between.
                raise IndexStoreError(
                    f"the index {path} has no tables yet (an indexer may be creating it)",
                    hint="run `drkit index`, or wait a moment",
                )
            # A reader cannot migrate: an index of schema 1 (until a writer opens it) has no
            # findings table, and its transactions read back with their worst finding only.
            self._findings_stored = version >= FINDINGS_SCHEMA
        except BaseException as exc:
            self.conn.close()
            if isinstance(exc, sqlite3.Error):
                raise store_error(path, exc, opening=True) from None
            if isinstance(exc, RuntimeError):
                raise IndexStoreError(f"cannot open the index {path}: {exc}") from None
            raise

    def __enter__(self) -> IndexStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    def verify(self, budget: float) -> bool:
        """SQLite's quick_check for at most `budget` seconds: True when it found every page
        sound, False when time ran out first; IndexDamagedError when it found damage."""
        deadline = time.monotonic() + budget
        self.conn.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)
        try:
            found = [str(row[0]) for row in self.conn.execute("PRAGMA quick_check")]
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", 0) == _SQLITE_INTERRUPT:
                return False
            raise
        finally:
            self.conn.set_progress_handler(None, 0)
        if found == ["ok"]:
            return True
        first = " ".join(found[0].replace("*** in database main ***", "").split())
        more = f" and {len(found) - 1} more problems" if len(found) > 1 else ""
        raise IndexDamagedError(
            f"the index {self.path} is damaged ({first}{more})", hint=REBUILD_HINT
        )

    # -- bulk loading ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Append a long catch-up without the deferred indexes (by GTID, by table), then build
        them once.

        Readers meanwhile get the same answers, more slowly: searches by table or GTID scan
        instead of seeking (those by id, position, time or severity do not change). Records and
        checkpoints commit as always: crash safety does not depend on these indexes. Stopped by
        an error (or a kill -9), it leaves them unbuilt rather than make the stop wait for a
        build: the next writing open builds them (`finish_bulk_load`).
        """
        self.start_bulk_load()
        try:
            yield
        except BaseException:
            with contextlib.suppress(IndexStoreError):
                self.finish_bulk_load(build=False)
            raise
        self.finish_bulk_load()

    def start_bulk_load(self) -> None:
        """Drop the deferred indexes (see bulk_load)."""
        with self._transaction():
            drop_deferred_indexes(self.conn)

    def finish_bulk_load(self, *, build: bool = True) -> None:
        """Build the missing deferred indexes, unless told not to (a load stopped early)."""
        if build:
            self._build_missing_indexes()

    def _build_missing_indexes(self) -> None:
        """Build the deferred indexes an unfinished bulk load left out, if any."""
        if missing_deferred_indexes(self.conn):
            with self._transaction():
                build_deferred_indexes(self.conn)

    # -- identity and checkpoint ---------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def checkpoint(self) -> BinlogCoord | None:
        row = self.conn.execute("SELECT file, pos FROM checkpoint WHERE id = 1").fetchone()
        return None if row is None else BinlogCoord(row[0], row[1])

    def append(self, records: Sequence[NewTransaction], checkpoint: BinlogCoord) -> list[int]:
        """Store records and move the checkpoint in one SQLite transaction; their new ids."""
        with self._transaction():
            first = self._next_id()
            rows, table_rows, finding_rows = _rows_of(records, first)
            self._write(rows, table_rows, checkpoint, finding_rows)
        return list(range(first, first + len(records)))

    def next_id(self) -> int:
        """The id the next stored transaction gets (ids are dense: one writer at a time)."""
        return self._next_id()

    def append_rows(
        self,
        rows: Sequence[TransactionRow],
        table_rows: Sequence[TableRow],
        checkpoint: BinlogCoord,
        finding_rows: Sequence[FindingRow] = (),
    ) -> None:
        """Store rows laid out by `Recorder.rows` and move the checkpoint, in one transaction.

        The rows carry their ids; they must continue the stored ones, or another writer got in
        between and nothing is written.
        """
        with self._transaction():
            if rows and rows[0][0] != (expected := self._next_id()):
                raise IndexStoreError(
                    f"the index {self.path} changed under its writer: next id is {expected}, "
                    f"not {rows[0][0]}",
                    hint="only one `drkit index` or `drkit guard` may write an index at a time",
                )
            self._write(rows, table_rows, checkpoint, finding_rows)

    def _next_id(self) -> int:
        # An empty index numbers from its `first_id` (a rebuild after a prune keeps the ids).
        return int(
            self.conn.execute(
                "SELECT COALESCE(MAX(id), (SELECT CAST(value AS INTEGER) - 1 FROM meta "
                "WHERE key = 'first_id'), 0) + 1 FROM transactions"
            ).fetchone()[0]
        )

    def _write(
        self,
        rows: Sequence[TransactionRow],
        table_rows: Sequence[TableRow],
        checkpoint: BinlogCoord,
        finding_rows: Sequence[FindingRow] = (),
    ) -> None:
        """Two executemany calls (three with findings) and the checkpoint (inside the caller's
        transaction)."""
        if rows:
            self.conn.executemany(
                "INSERT INTO transactions (id, gtid, file, file_seq, start_pos, end_pos, ts, "
                "server_id, kind, statement, rows_insert, rows_update, rows_delete, "
                "destructive_class, severity, reason, row_events) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        if table_rows:
            self.conn.executemany(
                "INSERT INTO transaction_tables (tx_id, schema_name, table_name, inserts, updates, "
                "deletes) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
                "inserts = inserts + excluded.inserts, updates = updates + excluded.updates, "
                "deletes = deletes + excluded.deletes",
                table_rows,
            )
        if finding_rows:  # about one transaction in a hundred
            self.conn.executemany(
                "INSERT INTO findings (tx_id, seq, class, severity, reason, tables) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                finding_rows,
            )
        self.conn.execute(
            "INSERT INTO checkpoint (id, file, pos, updated_at) VALUES (1, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET file = excluded.file, pos = excluded.pos, "
            "updated_at = excluded.updated_at",
            (checkpoint.file, checkpoint.pos, time.time()),
        )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- queries --------------------------------------------------------------------------------

    def get(self, tx_id: int) -> IndexedTransaction | None:
        found = self._select("WHERE t.id = ?", (tx_id,))
        return found[0] if found else None

    def by_gtid(self, gtid: str) -> IndexedTransaction | None:
        found = self._select("WHERE t.gtid = ? ORDER BY t.id DESC LIMIT 1", (gtid,))
        return found[0] if found else None

    def at_start(self, coord: BinlogCoord) -> IndexedTransaction | None:
        found = self._select(
            "WHERE t.file_seq = ? AND t.start_pos = ?", (coord.sequence, coord.pos)
        )
        return found[0] if found else None

    def oldest(self) -> IndexedTransaction | None:
        found = self._select("ORDER BY t.id LIMIT 1", ())
        return found[0] if found else None

    def latest(self) -> IndexedTransaction | None:
        found = self._select("ORDER BY t.id DESC LIMIT 1", ())
        return found[0] if found else None

    def first_destructive_after(self, tx_id: int | None) -> IndexedTransaction | None:
        found = self._select(
            "WHERE t.destructive_class IS NOT NULL AND t.id > ? ORDER BY t.id LIMIT 1",
            (tx_id or 0,),
        )
        return found[0] if found else None

    def destructive_between(
        self, after_id: int | None, stop_id: int | None, limit: int = 1000
    ) -> list[IndexedTransaction]:
        """Destructive transactions with after_id < id < stop_id (None: open end), oldest first."""
        return self._select(
            "WHERE t.destructive_class IS NOT NULL AND t.id > ? AND t.id < ? ORDER BY t.id LIMIT ?",
            (after_id or 0, stop_id if stop_id is not None else 2**62, limit),
        )

    def domains_between(self, after_id: int | None, last_id: int) -> set[str]:
        """MariaDB GTID domains (or MySQL uuids) of transactions with after_id < id <= last_id."""
        return {
            str(row[0])
            for row in self.conn.execute(
                "SELECT DISTINCT substr(gtid, 1, instr(gtid, ?) - 1) FROM transactions "
                "WHERE id > ? AND id <= ? AND gtid IS NOT NULL",
                ("-" if self._mariadb_gtids() else ":", after_id or 0, last_id),
            )
            if row[0]
        }

    def last_in_domain(self, domain: str, up_to_id: int) -> IndexedTransaction | None:
        """The newest transaction of a GTID domain (MySQL: source uuid) with id <= up_to_id."""
        separator = "-" if self._mariadb_gtids() else ":"
        found = self._select(
            "WHERE t.id <= ? AND t.gtid LIKE ? ORDER BY t.id DESC LIMIT 1",
            (up_to_id, f"{domain}{separator}%"),
        )
        return found[0] if found else None

    def _mariadb_gtids(self) -> bool:
        latest = self.conn.execute(
            "SELECT gtid FROM transactions WHERE gtid IS NOT NULL ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return latest is None or ":" not in str(latest[0])

    def latest_destructive(self) -> IndexedTransaction | None:
        """The newest destructive transaction (a binlog incident is a gap, not a transaction)."""
        found = self._select(
            "WHERE t.destructive_class IS NOT NULL AND t.kind != 'incident' "
            "ORDER BY t.id DESC LIMIT 1",
            (),
        )
        return found[0] if found else None

    def first_after(self, coord: BinlogCoord) -> IndexedTransaction | None:
        """The first transaction starting at or after `coord` (what a replica applies next)."""
        found = self._select(
            "WHERE (t.file_seq, t.start_pos) >= (?, ?) ORDER BY t.file_seq, t.start_pos LIMIT 1",
            (coord.sequence, coord.pos),
        )
        return found[0] if found else None

    def first_after_time(self, timestamp: float) -> IndexedTransaction | None:
        found = self._select("WHERE t.ts > ? ORDER BY t.id LIMIT 1", (int(timestamp),))
        return found[0] if found else None

    def between(
        self, start: BinlogCoord, stop: BinlogCoord, limit: int | None = None
    ) -> list[IndexedTransaction]:
        """Transactions starting at or after `start` and before `stop`, oldest first."""
        sql = (
            "WHERE (t.file_seq, t.start_pos) >= (?, ?) AND (t.file_seq, t.start_pos) < (?, ?) "
            "ORDER BY t.file_seq, t.start_pos"
        )
        params: tuple[Any, ...] = (start.sequence, start.pos, stop.sequence, stop.pos)
        if limit is not None:
            sql += " LIMIT ?"
            params += (limit,)
        return self._select(sql, params)

    def count_between(self, start: BinlogCoord, stop: BinlogCoord | None) -> int:
        sql = "SELECT COUNT(*) FROM transactions WHERE (file_seq, start_pos) >= (?, ?)"
        params: tuple[Any, ...] = (start.sequence, start.pos)
        if stop is not None:
            sql += " AND (file_seq, start_pos) < (?, ?)"
            params += (stop.sequence, stop.pos)
        return int(self.conn.execute(sql, params).fetchone()[0])

    def span(
        self, after_id: int | None, stop_id: int | None
    ) -> tuple[int, IndexedTransaction | None, IndexedTransaction | None, tuple[str, ...]]:
        """Transactions with after_id < id < stop_id (None: open end): count, first, last, tables."""
        low = after_id if after_id is not None else 0
        high = stop_id if stop_id is not None else 2**62
        count, first_id, last_id = self.conn.execute(
            "SELECT COUNT(*), MIN(id), MAX(id) FROM transactions WHERE id > ? AND id < ?",
            (low, high),
        ).fetchone()
        if not count:
            return 0, None, None, ()
        tables = tuple(
            f"{schema}.{name}"
            for schema, name in self.conn.execute(
                "SELECT DISTINCT schema_name, table_name FROM transaction_tables "
                "WHERE tx_id > ? AND tx_id < ? LIMIT 50",
                (low, high),
            )
        )
        return int(count), self.get(first_id), self.get(last_id), tables

    def gtids(self, first_id: int, last_id: int) -> list[tuple[int, str | None]]:
        """(id, gtid) of every transaction with first_id <= id <= last_id, in order."""
        return [
            (int(tx_id), gtid)
            for tx_id, gtid in self.conn.execute(
                "SELECT id, gtid FROM transactions WHERE id BETWEEN ? AND ? ORDER BY id",
                (first_id, last_id),
            )
        ]

    def transactions(self, first_id: int, last_id: int) -> list[IndexedTransaction]:
        """Every transaction with first_id <= id <= last_id, oldest first."""
        return self._select("WHERE t.id BETWEEN ? AND ? ORDER BY t.id", (first_id, last_id))

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM transactions").fetchone()[0])

    def row_events(self, tx_id: int) -> list[tuple[int, int]]:
        row = self.conn.execute(
            "SELECT row_events FROM transactions WHERE id = ?", (tx_id,)
        ).fetchone()
        return [] if row is None else unpack_pairs(row[0])

    def search(self, filters: Filters) -> list[IndexedTransaction]:
        """Transactions matching the filters, newest first unless asked otherwise.

        A table filter without --destructive walks the table-name index of each matching table
        in id order and stops at the limit, so a table in every other transaction costs no more
        than a rare one; the few destructive transactions are read through their own index.
        """
        where, params = self._common_conditions(filters)
        order = "DESC" if filters.newest_first else "ASC"
        if filters.table and not filters.destructive:
            ids = self._ids_touching(filters, where, params)
            if not ids:
                return []
            marks = ",".join("?" * len(ids))
            return self._select(f"WHERE t.id IN ({marks}) ORDER BY t.id {order}", tuple(ids))
        if filters.table:
            clause, values = _table_clause(filters.table, "tt.")
            where.append(
                f"EXISTS (SELECT 1 FROM transaction_tables tt WHERE tt.tx_id = t.id AND {clause})"
            )
            params += values
        sql = ("WHERE " + " AND ".join(where)) if where else ""
        sql += f" ORDER BY t.id {order}"
        if filters.limit is not None:
            sql += " LIMIT ?"
            params.append(filters.limit)
        return self._select(sql, tuple(params))

    def _common_conditions(self, filters: Filters) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        params: list[Any] = []
        if filters.since is not None:
            where.append("t.ts >= ?")
            params.append(int(filters.since))
        if filters.until is not None:
            where.append("t.ts <= ?")
            params.append(int(filters.until))
        if filters.destructive:
            where.append("t.destructive_class IS NOT NULL")
        if filters.before_id is not None:
            where.append("t.id < ?" if filters.newest_first else "t.id > ?")
            params.append(filters.before_id)
        return where, params

    def _ids_touching(self, filters: Filters, where: list[str], params: list[Any]) -> list[int]:
        """Ids of the transactions touching the filter's tables that meet `where`, limited."""
        order = "DESC" if filters.newest_first else "ASC"
        # The time conditions need the transaction row; without them the index alone answers.
        joined = filters.since is not None or filters.until is not None
        source = (
            "transaction_tables tt CROSS JOIN transactions t ON t.id = tt.tx_id"
            if joined
            else "transaction_tables tt"
        )
        conditions = [c.replace("t.id", "tt.tx_id") for c in where]
        found: set[int] = set()
        for schema, name in self._table_names(filters.table or ""):
            sql = (
                f"SELECT tt.tx_id FROM {source} WHERE tt.schema_name = ? AND tt.table_name = ?"
                + "".join(f" AND {c}" for c in conditions)
                + f" ORDER BY tt.tx_id {order}"
            )
            values: list[Any] = [schema, name, *params]
            if filters.limit is not None:
                sql += " LIMIT ?"
                values.append(filters.limit)
            found.update(row[0] for row in self.conn.execute(sql, values))
        ordered = sorted(found, reverse=filters.newest_first)
        return ordered if filters.limit is None else ordered[: filters.limit]

    def _table_names(self, pattern: str) -> list[tuple[str, str]]:
        """The stored (schema, table) names a table filter matches, dropped databases included.

        Wildcards are expanded by hopping through the name index one distinct name at a time.
        """
        schema, name = _split(pattern)
        if "*" not in schema and "*" not in name:
            return [(schema, name), (schema, "*")]
        matched: list[tuple[str, str]] = []
        schema_like = fnmatch_case(schema)
        name_like = fnmatch_case(name)
        prefix = schema.partition("*")[0]  # every matching schema starts with it
        row = self.conn.execute(
            "SELECT schema_name, table_name FROM transaction_tables WHERE schema_name >= ? "
            "ORDER BY schema_name, table_name LIMIT 1",
            (prefix,),
        ).fetchone()
        while row is not None and row[0].startswith(prefix):
            after = (str(row[0]), str(row[1]))
            # Two seeks, each a plain index range: the next table of this schema, else the first
            # of the next schema. (A row-value comparison would step over every row between.)
            row = (
                self.conn.execute(
                    "SELECT schema_name, table_name FROM transaction_tables "
                    "WHERE schema_name = ? AND table_name > ? ORDER BY table_name LIMIT 1",
                    after,
                ).fetchone()
                or self.conn.execute(
                    "SELECT schema_name, table_name FROM transaction_tables WHERE schema_name > ? "
                    "ORDER BY schema_name, table_name LIMIT 1",
                    after[:1],
                ).fetchone()
            )
            dropped_database = after[1] == "*" and "*" not in schema
            if schema_like(after[0]) and (dropped_database or name_like(after[1])):
                matched.append(after)
        return matched

    def _select(self, tail: str, params: tuple[Any, ...]) -> list[IndexedTransaction]:
        rows = self.conn.execute(
            "SELECT t.id, t.gtid, t.file, t.start_pos, t.end_pos, t.ts, t.server_id, t.kind, "
            "t.statement, t.destructive_class, t.severity, t.reason FROM transactions t " + tail,
            params,
        ).fetchall()
        if not rows:
            return []
        tables = self._tables([row[0] for row in rows])
        findings = self._findings([row[0] for row in rows if row[9] is not None])
        return [_record(row, tables.get(row[0], ()), findings.get(row[0], ())) for row in rows]

    def _tables(self, ids: Iterable[int]) -> dict[int, tuple[TableRows, ...]]:
        wanted = list(ids)
        found: dict[int, list[TableRows]] = {}
        for chunk in range(0, len(wanted), 500):
            part = wanted[chunk : chunk + 500]
            marks = ",".join("?" * len(part))
            for tx_id, schema, name, ins, upd, dele in self.conn.execute(
                "SELECT tx_id, schema_name, table_name, inserts, updates, deletes "
                f"FROM transaction_tables WHERE tx_id IN ({marks})",
                part,
            ):
                found.setdefault(tx_id, []).append(TableRows(f"{schema}.{name}", ins, upd, dele))
        return {tx_id: tuple(rows) for tx_id, rows in found.items()}

    def _findings(self, ids: Sequence[int]) -> dict[int, tuple[Destructive, ...]]:
        """Every stored finding of the given (flagged) transactions, in the classifier's order."""
        found: dict[int, list[Destructive]] = {}
        if not self._findings_stored:
            return {}
        for chunk in range(0, len(ids), 500):
            part = ids[chunk : chunk + 500]
            marks = ",".join("?" * len(part))
            for tx_id, category, severity, reason, tables in self.conn.execute(
                "SELECT tx_id, class, severity, reason, tables FROM findings "
                f"WHERE tx_id IN ({marks}) ORDER BY tx_id, seq",
                part,
            ):
                found.setdefault(tx_id, []).append(
                    Destructive(
                        category,
                        SEVERITY_NAMES.get(severity or 0, "unknown"),
                        reason,
                        tuple(str(name) for name in json.loads(tables)),
                    )
                )
        return {tx_id: tuple(rows) for tx_id, rows in found.items()}


def _rows_of(
    records: Sequence[NewTransaction], first_id: int
) -> tuple[list[TransactionRow], list[TableRow], list[FindingRow]]:
    """The stored rows of records built in Python (tests, tools), ids from first_id."""
    scanned: list[Scanned] = []
    verdicts: list[Verdict] = []
    for record in records:
        scanned.append(
            (
                record.gtid,
                record.file,
                record.start_pos,
                record.end_pos,
                record.timestamp,
                record.server_id,
                record.kind,
                tuple((*_split(t.table), t.inserts, t.updates, t.deletes) for t in record.tables),
                (record.statement,),
                None,
                record.row_events,
            )
        )
        finding = record.destructive
        if finding is None:
            verdicts.append(())
            continue
        # A finding that names no tables stands for every table the record touched.
        named = finding.tables or tuple(t.table for t in record.tables)
        rank = SEVERITY_RANKS.get(finding.severity)
        verdicts.append(((finding.category, rank, finding.reason, named),))
    return lay_out(scanned, first_id, verdicts)


def _record(
    row: tuple[Any, ...], tables: tuple[TableRows, ...], findings: tuple[Destructive, ...]
) -> IndexedTransaction:
    (tx_id, gtid, file, start, end, ts, server_id, kind, statement, category, severity, reason) = (
        row
    )
    destructive = (
        Destructive(category, SEVERITY_NAMES.get(severity or 0, "unknown"), reason or "")
        if category
        else None
    )
    # Indexes written before redaction existed may still hold passwords: never show them.
    statement = redact_statement(statement)
    return IndexedTransaction(
        tx_id, gtid, file, start, end, ts, server_id, kind, tables, statement, destructive, findings
    )


def _table_clause(pattern: str, prefix: str = "") -> tuple[str, list[str]]:
    """SQL matching transaction_tables rows for `schema.table` (`*` wildcards, schema optional).

    A dropped database is stored as `schema.*`: it touched every table of that schema, so it
    matches a filter that names its schema (`shop.orders`, `shop.ord*`), not one that only
    names a table in any schema (`*.orders`).
    """
    schema, name = _split(pattern)
    op_schema = "GLOB" if "*" in schema else "="
    op_name = "GLOB" if "*" in name else "="
    table = f"{prefix}table_name {op_name} ?"
    if op_schema == "=":
        table = f"({table} OR {prefix}table_name = '*')"
    return f"{prefix}schema_name {op_schema} ? AND {table}", [schema, name]


def fnmatch_case(pattern: str) -> Callable[[str], bool]:
    """A matcher for a name against a `*` pattern, as SQLite's GLOB reads it (case-sensitive)."""
    if "*" not in pattern:
        return pattern.__eq__
    regex = re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)
    return lambda text: regex.fullmatch(text) is not None


def _split(table: str) -> tuple[str, str]:
    schema, dot, name = table.partition(".")
    return (schema, name) if dot else ("*", schema)
