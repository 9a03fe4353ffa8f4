"""Steps and wording every recovery planner shares."""

from __future__ import annotations

from drkit.dialect import Dialect
from drkit.errors import UsageError
from drkit.index.records import IndexedTransaction
from drkit.model.coords import BinlogCoord
from drkit.model.gtid import MariadbGtid, MariadbGtidPos, parse_gtid
from drkit.model.replica import ReplicaStatus
from drkit.pitr.planning.values import (
    RecoveryFacts,
    RecoveryRequest,
    Segment,
    Strategy,
)
from drkit.plan.conditions import (
    Applied,
    ApplierStopped,
    Condition,
    NoApplierError,
    NotApplied,
)
from drkit.plan.steps import (
    ReplayArchive,
    SqlStep,
    Step,
    WaitStep,
)


def freeze_first(node: str, replica: ReplicaStatus, d: Dialect) -> list[Step]:
    """A running applier is stopped before anything else, in every plan and flavour."""
    if not replica.applier_running:
        return []
    return [
        SqlStep(
            node,
            d.stop_applier(),
            "freeze: nothing more is applied while the plan runs",
            post=(ApplierStopped(),),
        )
    ]


def apply_to_end(node: str, segment: Segment, d: Dialect, why: str) -> list[Step]:
    """With no transaction to stop before, wait for the last one, then stop the applier."""
    return [
        wait_step(node, segment, expect_stopped=False),
        SqlStep(node, d.stop_applier(), why, post=(ApplierStopped(),)),
    ]


def wait_step(node: str, segment: Segment, expect_stopped: bool = True) -> WaitStep:
    until: tuple[Condition, ...] = (NoApplierError(), *boundary(segment))
    if expect_stopped:
        until = (ApplierStopped(), *until)
    return WaitStep(
        node,
        until,
        why="progress from the index: transactions applied and remaining",
        pending=segment.count,
        stop_gtid=segment.stop.gtid if segment.stop else None,
        last_gtid=segment.end.gtid if segment.end else None,
        expect_stopped=expect_stopped,
    )


def boundary(segment: Segment) -> tuple[Condition, ...]:
    conditions: list[Condition] = []
    if segment.end is not None and segment.end.gtid:
        conditions.append(Applied(segment.end.gtid))
    if segment.stop is not None and segment.stop.gtid:
        conditions.append(NotApplied(segment.stop.gtid))
    return tuple(conditions)


def segment_stop_coord(segment: Segment, facts: RecoveryFacts) -> BinlogCoord:
    if segment.stop is not None:
        return segment.stop.start
    last = segment.end or segment.after
    if last is None:
        raise UsageError("the index is empty: run `drkit index` first")
    return last.end


def segment_words(segment: Segment) -> str:
    if segment.count == 0:
        return "no transaction to apply"
    tables = ", ".join(segment.tables[:5]) + (" ..." if len(segment.tables) > 5 else "")
    noun = "transaction" if segment.count == 1 else "transactions"
    return f"{segment.count} {noun}" + (f" on {tables}" if tables else "")


def first_after(segment: Segment) -> str | None:
    return segment.first.gtid if segment.first else None


def skip_position(facts: RecoveryFacts, gtid: str) -> MariadbGtidPos:
    parsed = parse_gtid(gtid)
    assert isinstance(parsed, MariadbGtid)
    current = MariadbGtidPos.parse(
        facts.delayed.gtid_slave_pos_text or facts.delayed.gtid_executed_text
    )
    return current.with_gtid(parsed)


def seq(gtid: str) -> int:
    parsed = parse_gtid(gtid)
    return parsed.seq if isinstance(parsed, MariadbGtid) else parsed.number


def short(record: IndexedTransaction) -> str:
    text = " ".join(record.statement.split())
    return (
        text[:60]
        if text
        else f"{record.kind} on {', '.join(t.table for t in record.tables) or '-'}"
    )


def summary(request: RecoveryRequest) -> tuple[str, ...]:
    lines = []
    for index, segment in enumerate(request.segments):
        if index > 0:
            skipped = request.skips[index - 1]
            lines.append(f"skip #{skipped.id} {skipped.gtid} {short(skipped)}")
        if segment.stop is not None:
            where = f"stop before #{segment.stop.id} {segment.stop.gtid} {short(segment.stop)}"
        elif segment.end is not None:
            where = f"stop after #{segment.end.id} {segment.end.gtid}"
        else:
            where = "stop where the replica is"
        what = f"apply {segment_words(segment)}" if segment.count else "nothing to apply"
        lines.append(f"{what}, {where}")
    return tuple(lines)


def notes(request: RecoveryRequest, facts: RecoveryFacts, strategy: Strategy) -> tuple[str, ...]:
    notes = []
    if strategy is Strategy.RELAY and facts.relay.directory is None:
        notes.append(
            "relay_log_dir is not configured or not readable: the relay logs cannot be copied aside; "
            "the plan uses only statements that keep them"
        )
    if strategy is not Strategy.ARCHIVE:
        notes.append(
            f"afterwards the delayed replica runs with no delay until `drkit resume` restores {facts.node.delay}s"
        )
    return tuple(notes)


def archive_replays(request: RecoveryRequest, facts: RecoveryFacts, how: str) -> list[Step]:
    """One replay of the archive per segment, skipping each skipped transaction's bytes."""
    node = facts.node.name
    steps: list[Step] = []
    for index, segment in enumerate(request.segments):
        start = request.skips[index - 1].end if index > 0 else replay_start(segment)
        stop = segment.stop.start if segment.stop else (segment.end.end if segment.end else None)
        if start is None or stop is None or segment.count == 0:
            continue
        first = first_after(segment)
        steps.append(
            ReplayArchive(
                node,
                tuple(facts.archive.files_between(start, stop)),
                start.pos,
                stop.pos,
                first,
                segment.end.gtid if segment.end else None,
                segment.count,
                f"replay {segment_words(segment)} {how}",
                pre=(ApplierStopped(),) + ((NotApplied(first),) if first else ()),
                post=boundary(segment),
                # The bytes of the skipped transaction before this segment are passed over.
                done_skips=(request.skips[index - 1].id,) if index > 0 else (),
            )
        )
    return steps


def replay_start(segment: Segment) -> BinlogCoord | None:
    """Where replaying a segment begins: after its last applied transaction, or at its first."""
    if segment.after is not None:
        return segment.after.end
    return segment.first.start if segment.first is not None else None
