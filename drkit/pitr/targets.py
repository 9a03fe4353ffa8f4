"""Recovery targets: what the operator typed, resolved once against the index, and recorded.

Two rules of the engine live here. Invariant 2: a target is resolved when a recovery starts and
recorded; the same command re-run continues to it. Invariant 1: no plan applies an unapplied
destructive transaction unless the operator named it (`--through`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from drkit.errors import DestructiveInRange, RefusedError, UsageError
from drkit.index.records import IndexedTransaction
from drkit.index.store import IndexStore
from drkit.pitr.planning.values import RecoveryMode
from drkit.pitr.state import RecordedTargets, RecoveryState

LISTED = 10  # destructive transactions named in a refusal before "and N more"


@dataclass(frozen=True)
class RecoverySpec:
    """The targets as typed: `--before`, `--skip`, `--until`, `--until-time`, `--through`."""

    before: str | None = None
    skips: tuple[str, ...] = ()
    until: str | None = None
    until_time: str | None = None
    through: tuple[str, ...] = ()

    def validate(self) -> RecoverySpec:
        forms = sum(bool(x) for x in (self.before, self.skips, self.until_time))
        if forms != 1:
            raise UsageError("give exactly one of --before TARGET, --skip TARGET, --until-time T")
        if self.until and not self.skips:
            raise UsageError("--until goes with --skip")
        return self

    @property
    def mode(self) -> RecoveryMode:
        if self.before:
            return RecoveryMode.BEFORE
        return RecoveryMode.SKIP if self.skips else RecoveryMode.UNTIL_TIME

    def to_json(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "skips": list(self.skips),
            "until": self.until,
            "until_time": self.until_time,
            "through": list(self.through),
        }

    def words(self) -> str:
        parts = [f"--before {self.before}"] if self.before else []
        parts += [f"--skip {s}" for s in self.skips]
        parts += [f"--until {self.until}"] if self.until else []
        parts += [f"--until-time {self.until_time}"] if self.until_time else []
        parts += [f"--through {t}" for t in self.through]
        return " ".join(parts)

    def same_targets(self, recorded: dict[str, Any]) -> bool:
        """Whether a recorded spec names the same targets (`--through` may be added on a re-run)."""
        mine = self.to_json()
        return all(mine[key] == recorded.get(key) for key in ("before", "skips", "until")) and (
            mine["until_time"] == recorded.get("until_time")
        )


@dataclass(frozen=True)
class ResolvedTargets:
    """A spec resolved against the index: the transactions a recovery stops at, skips, crosses."""

    mode: RecoveryMode
    stop: IndexedTransaction | None  # the first to leave unapplied; None: up to `end`
    skips: tuple[IndexedTransaction, ...]
    end: IndexedTransaction | None  # with no stop: the last transaction to apply
    through: tuple[IndexedTransaction, ...]
    until_time: float | None
    description: str
    continued: RecoveryState | None = None  # the unfinished recovery this one continues

    def record(self) -> RecordedTargets:
        return RecordedTargets(
            stop_id=self.stop.id if self.stop else None,
            stop_gtid=self.stop.gtid if self.stop else None,
            skip_ids=tuple(s.id for s in self.skips),
            skip_gtids=tuple(s.gtid for s in self.skips),
            through_ids=tuple(t.id for t in self.through),
            end_id=self.end.id if self.end and not self.stop else None,
            until_time=self.until_time,
        )

    @property
    def last_id(self) -> int | None:
        """The highest index id this recovery may apply."""
        if self.stop is not None:
            return self.stop.id - 1
        return self.end.id if self.end else None


def resolve(
    store: IndexStore,
    spec: RecoverySpec,
    *,
    node: str,
    previous: RecoveryState | None,
    now: float,
) -> ResolvedTargets:
    """Resolve `spec`, or take the targets an earlier run of the same spec recorded."""
    spec.validate()
    through = tuple(resolve_target(store, text) for text in spec.through)
    if (
        previous is not None
        and previous.node == node
        and previous.continuable
        and previous.targets is not None
        and spec.same_targets(previous.spec)
    ):
        return _recorded(store, spec, previous, through)
    skips = tuple(sorted((resolve_target(store, s) for s in spec.skips), key=lambda t: t.id))
    if spec.before:
        target = resolve_target(store, spec.before)
        return ResolvedTargets(
            RecoveryMode.BEFORE,
            target,
            (),
            None,
            through,
            None,
            f"stop just before {target.label}",
        )
    if skips:
        until = resolve_target(store, spec.until) if spec.until else None
        if until is not None and any(s.id >= until.id for s in skips):
            raise UsageError(f"--until #{until.id} must come after every skipped transaction")
        names = ", ".join(s.label for s in skips)
        end = None if until else store.latest()
        tail = f" up to {until.label}" if until else _to_end(end)
        return ResolvedTargets(
            RecoveryMode.SKIP,
            until,
            skips,
            end,
            through,
            None,
            f"skip {names}, apply the rest{tail}",
        )
    from drkit.timeparse import iso, parse_time

    assert spec.until_time is not None
    when = parse_time(spec.until_time, now)
    stop = store.first_after_time(when)
    end = None if stop else store.latest()
    tail = f"stop before {stop.label}" if stop else f"apply everything indexed{_to_end(end)}"
    return ResolvedTargets(
        RecoveryMode.UNTIL_TIME,
        stop,
        (),
        end,
        through,
        when,
        f"apply every transaction committed at or before {iso(when)}: {tail}",
    )


def _recorded(
    store: IndexStore,
    spec: RecoverySpec,
    previous: RecoveryState,
    through: tuple[IndexedTransaction, ...],
) -> ResolvedTargets:
    recorded = previous.targets
    assert recorded is not None
    stop = _recorded_record(store, recorded.stop_id, recorded.stop_gtid)
    skips = tuple(
        _required(_recorded_record(store, tx_id, gtid))
        for tx_id, gtid in zip(recorded.skip_ids, recorded.skip_gtids, strict=False)
    )
    end = store.get(recorded.end_id) if recorded.end_id is not None else None
    earlier = tuple(_required(store.get(tx_id)) for tx_id in recorded.through_ids)
    merged = tuple({t.id: t for t in (*earlier, *through)}.values())
    return ResolvedTargets(
        spec.mode,
        stop,
        skips,
        end,
        merged,
        recorded.until_time,
        previous.description,
        continued=previous,
    )


def _recorded_record(
    store: IndexStore, tx_id: int | None, gtid: str | None
) -> IndexedTransaction | None:
    if tx_id is None:
        return None
    found = store.get(tx_id)
    if found is None or (gtid and found.gtid != gtid):
        raise RefusedError(
            f"the recovery recorded in drkit-recovery.json targets #{tx_id} ({gtid}), which the "
            "index no longer holds as such (rebuilt, or built from another primary); nothing was changed",
            hint="check `drkit events`, then start a new recovery with explicit ids "
            "(a different command replaces the record)",
        )
    return found


def _required(record: IndexedTransaction | None) -> IndexedTransaction:
    if record is None:
        raise RefusedError(
            "a transaction recorded by the unfinished recovery is missing from the index; nothing was changed",
            hint="check `drkit events`, then start a new recovery with explicit ids",
        )
    return record


def _to_end(end: IndexedTransaction | None) -> str:
    return f" (to {end.label}, the last indexed now)" if end else " (the index is empty)"


def resolve_target(store: IndexStore, text: str) -> IndexedTransaction:
    """TARGET as the operator types it: an index id, a GTID, or `latest-destructive`."""
    from drkit.model.gtid import looks_like_gtid

    value = text.strip()
    if value == "latest-destructive":
        found = store.latest_destructive()
        if found is None:
            raise UsageError("the index holds no destructive transaction (latest-destructive)")
        return found
    if value.isdigit():
        if len(value) > 18:
            raise UsageError(f"no transaction #{value} in the index ({store.count()} transactions)")
        found = store.get(int(value))
        if found is None:
            raise UsageError(f"no transaction #{value} in the index ({store.count()} transactions)")
        return found
    if looks_like_gtid(value):
        found = store.by_gtid(value)
        if found is None:
            raise UsageError(
                f"GTID {value} is not in the index",
                hint="check `drkit events`; run `drkit index` if the primary wrote it recently",
            )
        return found
    raise UsageError(
        f"not a target: {text!r} (an index id, a GTID like 0-1-28, or latest-destructive)"
    )


def refuse_unnamed_destructive(
    crossed: Sequence[IndexedTransaction],
    through: Sequence[IndexedTransaction],
    *,
    node: str,
    action: str,
) -> None:
    """Invariant 1: refuse (exit 3) when `crossed` holds a destructive transaction not named."""
    named = {t.id for t in through}
    unnamed = [t for t in crossed if t.destructive is not None and t.id not in named]
    if not unnamed:
        return
    listed = "; ".join(describe_destructive(t) for t in unnamed[:LISTED])
    more = f"; and {len(unnamed) - LISTED} more" if len(unnamed) > LISTED else ""
    first = unnamed[0]
    raise DestructiveInRange(
        f"{action} would apply {len(unnamed)} destructive transaction"
        f"{'s' if len(unnamed) > 1 else ''} that {node} still holds the data of: {listed}{more}; "
        "nothing was changed",
        hint=(
            f"stop ahead of it (`drkit recover --before {first.id}`), leave it out (`drkit "
            f"recover --skip {first.id}`), or, if "
            f"applying it is really meant, name each one: "
            + " ".join(f"--through {t.id}" for t in unnamed[:LISTED])
        ),
        ids=tuple(t.id for t in unnamed),
    )


def describe_destructive(record: IndexedTransaction) -> str:
    finding = record.destructive
    what = f"{finding.severity} {finding.category}" if finding else record.kind
    text = " ".join(record.statement.split())[:60] or ", ".join(t.table for t in record.tables)
    return f"#{record.id} ({record.gtid}, {what}: {text})"


__all__ = ["DestructiveInRange", "RecoverySpec", "ResolvedTargets", "resolve", "resolve_target"]
