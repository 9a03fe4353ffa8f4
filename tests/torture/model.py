"""What each node should hold: the primary's transactions as row effects, and the delayed replica
as "everything before its frontier, minus what was skipped" (pure code, no server)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

Row = tuple[int, int, str]  # (id, v, note)
Tables = dict[str, dict[int, Row] | None]  # table -> rows by id, None once dropped

# Tables of each GTID domain: a transaction touches tables of its own domain only.
DOMAIN_TABLES = {0: ("tt.a", "tt.b", "tt.c"), 1: ("tt.x", "tt.y")}
ALL_TABLES = tuple(t for tables in DOMAIN_TABLES.values() for t in tables)


@dataclass(frozen=True)
class Effect:
    """One change as a row-based replica applies it: put (a full after-image), del, truncate, drop."""

    kind: str
    table: str
    row_id: int = 0
    row: Row | None = None


@dataclass
class Tx:
    """One transaction of the primary, in binlog order."""

    n: int
    domain: int
    sql: list[str]
    effects: list[Effect]
    disaster: str | None = None  # drop | truncate | delete_all | update_all
    gtid: str = ""
    index_id: int | None = None
    timestamp: str | None = None  # the index's ISO-8601 commit time
    destructive: bool = False  # as the index flags it
    # (class, table) of each statement that destroys rows: the index must store every one of
    # them, not just the worst, and the guard must judge every one.
    expected_findings: tuple[tuple[str, str], ...] = ()

    def label(self) -> str:
        return f"#{self.index_id or '?'} {self.gtid} {self.sql[0][:60]}"

    def missing_findings(self, found: Iterable[tuple[str, Sequence[str]]]) -> list[str]:
        """The expected findings that `found` ((class, tables) pairs) lacks, as "class on table"."""
        seen = {(category, table) for category, tables in found for table in tables}
        return [f"{c} on {t}" for c, t in self.expected_findings if (c, t) not in seen]


def apply(tables: Tables, tx: Tx) -> None:
    """Apply one transaction's effects to a state, in place, as the replica's applier would."""
    for effect in tx.effects:
        rows = tables.get(effect.table)
        if effect.kind == "drop":
            tables[effect.table] = None
        elif effect.kind == "create":
            tables[effect.table] = {}
        elif rows is None:
            raise AssertionError(f"model: {tx.label()} writes to dropped {effect.table}")
        elif effect.kind == "truncate":
            rows.clear()
        elif effect.kind == "put":
            assert effect.row is not None
            rows[effect.row_id] = effect.row
        elif effect.kind == "del":
            rows.pop(effect.row_id, None)


def state_of(log: Sequence[Tx], applied: Iterable[int]) -> Tables:
    tables: Tables = {}
    for n in sorted(applied):
        apply(tables, log[n])
    return tables


@dataclass
class Model:
    """The primary's log and what the delayed replica has applied and skipped."""

    log: list[Tx] = field(default_factory=list)
    primary: Tables = field(default_factory=dict)
    frontier: int = 0  # every transaction before it is applied or skipped on the delayed replica
    skipped: set[int] = field(default_factory=set)
    indexed: int = 0  # transactions the index holds (a prefix of the log)
    first_indexed: int = 0  # the oldest transaction the index still holds (prune removes older)
    next_id: int = 1

    def record(self, tx: Tx) -> Tx:
        apply(self.primary, tx)
        self.log.append(tx)
        return tx

    def applied(self) -> list[int]:
        return [n for n in range(self.frontier) if n not in self.skipped]

    def delayed(self) -> Tables:
        return state_of(self.log, self.applied())

    def unapplied(self) -> list[Tx]:
        return self.log[self.frontier :]

    def live(self, domain: int) -> list[str]:
        return [t for t in DOMAIN_TABLES[domain] if self.primary.get(t) is not None]

    def fresh_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def expected_slave_pos(self, upto: int | None = None) -> set[str]:
        """Per domain, the last transaction consumed (applied or skipped) before `upto`."""
        last: dict[int, str] = {}
        for tx in self.log[: self.frontier if upto is None else upto]:
            last[tx.domain] = tx.gtid
        return set(last.values())

    def last_per_domain(self, positions: Iterable[int]) -> dict[int, str]:
        last: dict[int, str] = {}
        for n in sorted(positions):
            last[self.log[n].domain] = self.log[n].gtid
        return last

    def unnamed_destructive(self, span: Iterable[int], named: set[int]) -> list[Tx]:
        return [self.log[n] for n in span if self.log[n].destructive and n not in named]

    def latest_destructive(self) -> Tx | None:
        flagged = [tx for tx in self.log[: self.indexed] if tx.destructive]
        return flagged[-1] if flagged else None


def diff(expected: Tables, actual: Tables) -> list[str]:
    """Differences between two states, one sentence each ([] when equal)."""
    problems = []
    for table in sorted(set(expected) | set(actual)):
        want, got = expected.get(table), actual.get(table)
        if want is None and got is None:
            continue
        if want is None or got is None:
            problems.append(
                f"{table}: expected {'absent' if want is None else f'{len(want)} rows'}, "
                f"found {'absent' if got is None else f'{len(got)} rows'}"
            )
            continue
        if want != got:
            missing = sorted(set(want) - set(got))
            extra = sorted(set(got) - set(want))
            changed = sorted(k for k in set(want) & set(got) if want[k] != got[k])
            problems.append(
                f"{table}: {len(want)} rows expected, {len(got)} found; missing ids "
                f"{missing[:8]}, extra ids {extra[:8]}, changed ids {changed[:8]}"
            )
    return problems
