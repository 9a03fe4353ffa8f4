"""Which rows of a `--sql FILE` flashback changed since the disaster, asked of the primary while
the file is written.

The file's statements stay guarded: a row that changed since is one whose statement will find
nothing to act on. The probe names those rows now instead of leaving them to be skipped in
silence when the file runs. Only the newest reverse of each row is asked about: the older ones
act on the state the newer one restores.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from drkit.dialect import rows as sql
from drkit.flashback.plan import TablePlan
from drkit.io.mysql import Session

_T = TypeVar("_T")

KEY_BATCH = 5000  # deleted rows looked up by key per query
ROW_BATCH = 200  # changed rows matched whole per query
IN_FLIGHT = 4  # batches handed to the asking thread and not answered yet


@dataclass(frozen=True)
class Changed:
    """A row that no longer holds what the disaster left: its table, the operation, its key."""

    table: str
    operation: str
    key: Mapping[str, object]


@dataclass
class ConflictProbe:
    """Collects the reversed rows (as `statements.Probe`) and asks the primary in batches.

    The questions go to one thread of their own, which alone uses the session: the server looks
    the rows up while the file goes on being written.
    """

    session: Session
    tables: Mapping[str, TablePlan]
    listed: int
    # False when no row can be reversed twice (one transaction that only deleted, or only
    # inserted, rows of keyed tables): a million keys then need not be remembered.
    repeats: bool = True
    found: list[Changed] = field(default_factory=list)
    count: int = 0
    _seen: set[tuple[str, tuple[str, ...]]] = field(default_factory=set)
    _keys: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)
    _rows: dict[str, list[tuple[str, tuple[str, ...], str]]] = field(default_factory=dict)
    _asking: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="drkit-probe")
    )
    _in_flight: deque[Future[None]] = field(default_factory=deque)

    def __call__(
        self, table: str, operation: str, keys: list[tuple[str, ...]], lefts: list[str] | None
    ) -> None:
        if lefts is None:
            batch = self._keys.setdefault(table, [])
            if self.repeats:
                batch.extend(key for key in keys if self._first(table, key))
            else:
                batch.extend(keys)
            if len(batch) >= KEY_BATCH:
                self._submit(self._ask_keys, table, batch)
            return
        rows = self._rows.setdefault(table, [])
        for key, left in zip(keys, lefts, strict=True):
            if self._first(table, key):
                rows.append((operation, key, left))
                if len(rows) >= ROW_BATCH:
                    self._submit(self._ask_rows, table, rows)

    def _first(self, table: str, key: tuple[str, ...]) -> bool:
        """True for the newest reverse of a row (the first the probe hears of)."""
        if not self.repeats:
            return True
        if (table, key) in self._seen:
            return False
        self._seen.add((table, key))
        return True

    def finish(self) -> None:
        """Ask about the rows still waiting in partial batches and wait for every answer."""
        for table, keys in self._keys.items():
            if keys:
                self._submit(self._ask_keys, table, keys)
        for table, rows in self._rows.items():
            if rows:
                self._submit(self._ask_rows, table, rows)
        while self._in_flight:
            self._in_flight.popleft().result()

    def close(self) -> None:
        """Stop asking (answers not yet received are dropped) and close the session."""
        for pending in self._in_flight:
            pending.cancel()
        self._asking.shutdown(wait=True)
        self.session.close()

    def _submit(self, ask: Callable[[str, list[_T]], None], table: str, batch: list[_T]) -> None:
        """Hand a copy of the batch to the asking thread and empty it; a failed question
        surfaces here (or in `finish`)."""
        self._in_flight.append(self._asking.submit(ask, table, list(batch)))
        batch.clear()
        while len(self._in_flight) > IN_FLIGHT or (self._in_flight and self._in_flight[0].done()):
            self._in_flight.popleft().result()

    def _ask_keys(self, table: str, keys: list[tuple[str, ...]]) -> None:
        """Deleted rows: a row holding the key again is a conflict (the insert will not run)."""
        plan = self.tables[table]
        for row in self.session.rows(sql.existing_keys(table, plan.key, keys)):
            self._add(Changed(table, "delete", {c: row[c] for c in plan.key}))

    def _ask_rows(self, table: str, rows: list[tuple[str, tuple[str, ...], str]]) -> None:
        """Updated and inserted rows: one count for the batch, then one per row to name them."""
        plan = self.tables[table]
        found = self._count(table, [left for _, _, left in rows])
        if found < len(rows) or (plan.key and found != len(rows)):
            for operation, key, left in rows:
                if self._count(table, [left]) == 0:
                    columns = plan.key or plan.compare
                    values = self.session.one(sql.literal_values(columns, key)) or {}
                    self._add(Changed(table, operation, values))

    def _count(self, table: str, conditions: list[str]) -> int:
        row = self.session.one(sql.count_where(table, conditions)) or {}
        return int(row.get("n") or 0)

    def _add(self, changed: Changed) -> None:
        self.count += 1
        if len(self.found) < self.listed:
            self.found.append(changed)
