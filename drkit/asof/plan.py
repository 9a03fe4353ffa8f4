"""`drkit asof`, decided (pure): which stretch of the index to undo for a table at T, every
refusal with what was seen and the way out, and the plan a dry run prints.

The state at T is every transaction committed at or before T, as `recover --until-time` and
`inspect --at` define it: so the changes to undo are those from the first transaction after T
up to the last one the delayed replica applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from drkit.classify.ignore import STAGING_SUFFIX
from drkit.errors import RefusedError, UsageError
from drkit.index.records import IndexedTransaction
from drkit.index.span import TableSpan, Unreadable
from drkit.timeparse import iso


@dataclass(frozen=True)
class AsofRange:
    """The transactions to undo: first_id <= id <= last_id (empty when first_id > last_id)."""

    at: float
    first_id: int
    last_id: int
    applied: IndexedTransaction  # the last transaction the replica's rows include
    first: IndexedTransaction | None  # the first transaction after T (None: nothing to undo)

    @property
    def empty(self) -> bool:
        return self.first_id > self.last_id

    def describe(self) -> str:
        if self.first is None or self.empty:
            return f"nothing to undo: the replica's rows are the table at T ({tag(self.applied)} is its last)"
        return (
            f"undo newest first what {tag(self.first)} .. {tag(self.applied)} changed "
            f"({iso(self.first.timestamp)} .. {iso(self.applied.timestamp)})"
        )


def tag(tx: IndexedTransaction) -> str:
    """`#42 (0-1-28)`: a transaction named briefly."""
    return f"#{tx.id}" + (f" ({tx.gtid})" if tx.gtid else "")


def parse_table(table: str) -> tuple[str, str]:
    schema, dot, name = table.strip().partition(".")
    if not dot or not schema or not name or "*" in table:
        raise UsageError(f"--table needs schema.table (no wildcards), not {table!r}")
    return schema, name


def decide_range(
    node: str,
    at: float,
    *,
    oldest: IndexedTransaction | None,
    latest: IndexedTransaction | None,
    after_t: IndexedTransaction | None,
    applied: IndexedTransaction | None,
    applied_in_order: bool,
    position: str,
    index_behind: str | None = None,
) -> AsofRange:
    """The stretch to undo, or RefusedError: T outside what rewinding reaches, or a replica
    position the index cannot place (`index_behind`: why, when it applied what the index lacks)."""
    if oldest is None or latest is None:
        raise RefusedError(
            "the index is empty: there are no archived row images to rewind with",
            hint="run `drkit index` (or `drkit guard`) so the archive follows the primary",
        )
    if at < oldest.timestamp:
        raise RefusedError(
            f"{iso(at)} is before the oldest archived transaction ({tag(oldest)}, "
            f"{iso(oldest.timestamp)}): changes made between then and T are not in the archive",
            hint="the past before the archive needs a backup plus the archive; "
            "`drkit status` shows the inspectable window",
        )
    if applied is None and index_behind is not None:
        raise RefusedError(
            index_behind, hint="`drkit index` catches the index up; nothing was changed"
        )
    if applied is None:
        raise RefusedError(
            f"{node}'s position ({position or 'none'}) is not in the index: drkit cannot tell "
            "which transactions its rows hold",
            hint="`drkit index` brings the index up to the primary; an index built from "
            "another primary cannot place this replica",
        )
    if not applied_in_order:
        raise RefusedError(
            f"{node} applied its GTID domains out of order ({position}): its rows are not a "
            "prefix of the binlog, so no single stretch can be undone",
            hint="`drkit inspect --at T` after the replica caught up, or `drkit history`",
        )
    last_at_t = (after_t.id - 1) if after_t is not None else latest.id
    if last_at_t > applied.id:
        raise RefusedError(
            f"{iso(at)} is after {node}'s position ({tag(applied)}, "
            f"{iso(applied.timestamp)}): rewinding cannot reach forward",
            hint=f"`drkit inspect --at {iso(at)}` rolls the delayed replica forward to T",
        )
    first_id = last_at_t + 1
    return AsofRange(at, first_id, applied.id, applied, after_t if first_id <= applied.id else None)


def refuse_unreadable(table: str, found: Sequence[Unreadable]) -> None:
    """A change without row images in the stretch: undoing the rest would be a wrong answer."""
    if not found:
        return
    first = found[0]
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    statement = first.statement if len(first.statement) <= 80 else first.statement[:77] + "..."
    raise RefusedError(
        f"{first.label} is {first.why}{more}: `{statement}`; the archive holds no row images "
        f"of what it did to {table}, so the table cannot be rewound across it",
        hint="choose a T after it; `drkit events --table "
        f"{table}` lists the table's changes; `drkit inspect --at T` reaches later times",
    )


def refuse_skipped(table: str, node: str, skipped: Sequence[IndexedTransaction]) -> None:
    """A transaction of the table that `drkit recover --skip` left unapplied on the replica, in
    the stretch: the replica's rows never held what it did, and the later changes' images were
    made over it, so no undo gives the table at T."""
    if not skipped:
        return
    first = skipped[0]
    more = f" (and {len(skipped) - 1} more)" if len(skipped) > 1 else ""
    raise RefusedError(
        f"{tag(first)}{more} changed {table} after T and was skipped on {node} "
        "(`drkit recover --skip`): the replica's rows never held what it did, so the table "
        "cannot be rewound across it",
        hint=f"choose a T after {tag(skipped[-1])} ({iso(skipped[-1].timestamp)}); "
        "`drkit history --table S.T --key ...` reads one row's versions from the archive alone",
    )


def refuse_archive_gaps(archive_sizes: dict[str, int], span: TableSpan, archive: str) -> None:
    """Every archive file holding an image to undo must be there, and long enough."""
    for file, end in span.files:
        size = archive_sizes.get(file)
        if size is None:
            raise RefusedError(
                f"{file} is not in the archive ({archive}), and it holds row changes to undo",
                hint="the archive was pruned or never copied that file; choose a later T "
                "(`drkit status` shows the window) or `drkit inspect --at T`",
            )
        if size < end:
            raise RefusedError(
                f"the archive's {file} ends at {size}, before {end}, where the row changes to "
                "undo end",
                hint="`drkit index` copies the rest of the file from the primary",
            )


@dataclass(frozen=True)
class AsofPlan:
    """What `drkit asof` will do, printed by --dry-run before anything is read or written."""

    table: str
    at: float
    node: str
    range: AsofRange
    span: TableSpan
    where: str | None = None
    into: str | None = None
    destination: str | None = None  # the primary, with --into

    def render(self) -> str:
        lines = [f"asof: {self.table} as of {iso(self.at)}, without rewinding any server"]
        lines.append(
            f"  1. read {self.table} on {self.node} on one read-only snapshot, with the "
            "position its rows are at (the replica keeps applying)"
        )
        if self.range.empty:
            lines.append(f"  2. {self.range.describe()}")
        else:
            lines.append(
                f"  2. {self.range.describe()}: {self.span.rows} row changes in "
                f"{self.span.transactions} transactions (undo {self.span.inserts} inserts, "
                f"{self.span.updates} updates, {self.span.deletes} deletes), in memory"
            )
        lines.append(
            "     each undo checks the row holds what the change left; a mismatch stops it"
        )
        if self.where:
            lines.append(f"  3. keep the rows that satisfy, as they were at T: {self.where}")
        if self.into:
            step = 4 if self.where else 3
            lines.append(
                f"  {step}. create {self.into}{STAGING_SUFFIX} on {self.destination} as "
                f"{self.table} is defined on {self.node}, then read back and compare; once "
                f"verified, RENAME it to {self.into} (never overwriting; dropped if not)"
            )
            if self.where:
                lines.append("     the rows inserted in one transaction")
            else:
                lines.append(
                    f"     with a primary key: the snapshot's rows copied by the servers' dump "
                    f"tool | client ({self.table} read-locked on {self.node} until the dump's "
                    "snapshot exists: its applier waits a moment), the rewound rows replaced "
                    "in one transaction; without one, every row inserted in one transaction"
                )
        lines.append(
            "  the range is read again at the position the snapshot pins; it may have moved on"
        )
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        return {
            "table": self.table,
            "at": iso(self.at),
            "node": self.node,
            "applied": tag(self.range.applied),
            "first_undone": tag(self.range.first) if self.range.first else None,
            "transactions": self.span.transactions,
            "undo": {
                "insert": self.span.inserts,
                "update": self.span.updates,
                "delete": self.span.deletes,
            },
            "where": self.where,
            "into": self.into,
            "destination": self.destination,
        }
