"""Recovery plans, built in pure code from gathered facts (nothing here touches a server).

`plan_recovery` decides the strategy (upstream, relay, archive), refuses what would destroy the
only copy of unapplied transactions, and returns a Plan: the dry run prints it, the executor runs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from drkit.config import NodeConfig
from drkit.dialect import Dialect, MariadbDialect, MysqlDialect, for_version
from drkit.errors import ConfigError, RefusedError, TimeNotReachable, UsageError
from drkit.index.records import IndexedTransaction
from drkit.model.coords import BinlogCoord
from drkit.model.facts import NodeFacts, Unreachable
from drkit.model.gtid import MariadbGtid, MariadbGtidPos, parse_gtid
from drkit.model.replica import ReplicaStatus
from drkit.pitr.conditions import (
    Applied,
    ApplierStopped,
    Condition,
    DelayIs,
    NoApplierError,
    NotApplied,
    Reachable,
    ReplicationStopped,
    SlavePosIs,
    UsesGtid,
)
from drkit.pitr.steps import (
    CheckStep,
    Plan,
    PreserveRelayLogs,
    ReplayArchive,
    SqlStep,
    Step,
    WaitStep,
)


class Strategy(StrEnum):
    AUTO = "auto"
    UPSTREAM = "upstream"
    RELAY = "relay"
    ARCHIVE = "archive"


@dataclass(frozen=True)
class RelaySpan:
    """One transaction in the relay logs: where it starts, and where the next one starts."""

    start: BinlogCoord
    after: BinlogCoord


@dataclass(frozen=True)
class RelayView:
    """Where transactions sit in the delayed replica's relay logs (read through the server)."""

    current: BinlogCoord | None  # Relay_Log_File:Relay_Log_Pos, the applier's next read
    positions: Mapping[str, RelaySpan] = field(default_factory=dict)
    last_gtid: str | None = None  # the last complete transaction in the relay logs
    directory: Path | None = None  # readable relay_log_dir, for copying the logs aside
    problem: str | None = None  # why positions could not be read

    def span(self, gtid: str | None) -> RelaySpan | None:
        return None if gtid is None else self.positions.get(gtid)


@dataclass(frozen=True)
class ArchiveView:
    directory: Path
    sizes: Mapping[str, int] = field(default_factory=dict)  # archived binlog file -> bytes

    def covers(self, start: BinlogCoord, stop: BinlogCoord) -> str | None:
        """None when every byte from start to stop is archived; otherwise what is missing."""
        if start.file not in self.sizes:
            return f"the archive lacks {start.file}"
        for name in self.files_between(start, stop):
            if name not in self.sizes:
                return f"the archive lacks {name}"
        if self.sizes.get(stop.file, -1) < stop.pos:
            return f"the archive's {stop.file} ends at {self.sizes.get(stop.file, 0)}, before {stop.pos}"
        return None

    def files_between(self, start: BinlogCoord, stop: BinlogCoord) -> list[str]:
        prefix, _, digits = start.file.rpartition(".")
        width = len(digits)
        return [f"{prefix}.{n:0{width}d}" for n in range(start.sequence, stop.sequence + 1)]


@dataclass(frozen=True)
class Segment:
    """A stretch of transactions to apply: from after `after` up to (not including) `stop`."""

    after: IndexedTransaction | None  # the last transaction already applied when it starts
    stop: IndexedTransaction | None  # the first to leave unapplied; None: to `end`
    first: IndexedTransaction | None  # the first transaction to apply (None: nothing to apply)
    end: IndexedTransaction | None  # the last transaction to apply (None: nothing to apply)
    count: int
    tables: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecoveryFacts:
    """Everything the planner needs, gathered at one moment by drkit.pitr.gather."""

    node: NodeConfig
    delayed: NodeFacts
    primary: NodeFacts | None
    primary_binlogs: tuple[str, ...]
    applied: IndexedTransaction | None  # the last indexed transaction the delayed node applied
    applied_gtid: str | None  # its last applied GTID in the source's domain
    index_end: IndexedTransaction | None
    relay: RelayView
    archive: ArchiveView
    parallel_threads: int | None = None
    applied_in_order: bool = True  # False: some GTID domain lags behind the applied prefix


@dataclass(frozen=True)
class RecoveryRequest:
    """What the operator asked for, resolved against the index."""

    mode: str  # before | skip | until-time
    stop: IndexedTransaction | None  # stop before this; None: roll on to the end
    skips: tuple[IndexedTransaction, ...] = ()
    segments: tuple[Segment, ...] = ()  # one more than skips
    strategy: Strategy = Strategy.AUTO
    parallel: int = 0  # applier threads during catch-up (MariaDB); 0 leaves the setting alone
    description: str = ""
    end: IndexedTransaction | None = None  # with no stop: the last transaction to apply
    until_time: float | None = None  # --until-time, resolved
    through: tuple[IndexedTransaction, ...] = ()  # destructive ones the operator named
    # MariaDB: gtid_slave_pos as it must be before fetching from the primary, and after the plan
    # (per domain, the last transaction applied or skipped), both read from the index.
    start_position: str | None = None
    final_position: str | None = None
    skip_positions: tuple[str, ...] = ()  # MariaDB: gtid_slave_pos that skips each one


def plan_recovery(request: RecoveryRequest, facts: RecoveryFacts) -> Plan:
    """The plan for a recovery request, or RefusedError / UsageError saying why there is none."""
    _refuse_unusable_replica(facts)
    _refuse_applied_targets(request, facts)
    strategy, reason = choose_strategy(request, facts)
    version = facts.delayed.version
    assert version is not None  # reachable: _refuse_unusable_replica checked
    dialect = for_version(version)
    if isinstance(dialect, MariadbDialect):
        steps = _mariadb_steps(request, facts, dialect, strategy)
    else:
        assert isinstance(dialect, MysqlDialect)
        steps = _mysql_steps(request, facts, dialect, strategy)
    return Plan(
        title=f"Recovery on {facts.node.name}: {request.description}",
        node=facts.node.name,
        steps=tuple(steps),
        strategy=strategy.value,
        strategy_reason=reason,
        summary=_summary(request),
        notes=_notes(request, facts, strategy),
    )


# -- refusals ------------------------------------------------------------------------------------


def _refuse_unusable_replica(facts: RecoveryFacts) -> None:
    delayed = facts.delayed
    if delayed.unreachable_kind in (Unreachable.AUTH, Unreachable.CONFIG):
        raise ConfigError(
            f"the delayed replica {facts.node.name} refused drkit's login: {delayed.unreachable_reason}",
            hint="nothing was changed; fix the password or account in the config",
        )
    if not delayed.reachable:
        raise RefusedError(
            f"the delayed replica {facts.node.name} is unreachable: {delayed.unreachable_reason}",
            hint="nothing was changed; drkit needs the delayed replica's server running",
        )
    if delayed.replica is None:
        raise RefusedError(
            f"{facts.node.name} has no replication configured: it is not a replica",
            hint="was it promoted already? `drkit status` shows every node's role",
        )
    if delayed.replica.last_sql_error:
        raise RefusedError(
            f"the delayed replica's applier is in an error state ({delayed.replica.last_sql_errno}: "
            f"{delayed.replica.last_sql_error})",
            hint="resolve the replication error first; nothing was changed",
        )


def _refuse_applied_targets(request: RecoveryRequest, facts: RecoveryFacts) -> None:
    stop = request.stop
    if (
        request.until_time is not None
        and stop is not None
        and stop.gtid
        and facts.delayed.executed.contains(parse_gtid(stop.gtid))
    ):
        from drkit.timeparse import iso

        reached = (
            f"#{facts.applied.id} ({facts.applied.gtid}, committed {iso(facts.applied.timestamp)})"
            if facts.applied
            else str(facts.delayed.executed)
        )
        raise TimeNotReachable(
            f"{iso(request.until_time)} is earlier than what the delayed replica {facts.node.name} "
            f"has applied already (up to {reached}): rolling forward cannot reach it; nothing was changed",
            hint="a time after that is reachable; for the state before it, use the row history "
            "from the archive's row images, or a backup plus the archive",
            applied_at=float(facts.applied.timestamp) if facts.applied else None,
        )
    for target in (*request.skips, *(t for t in (stop,) if t is not None)):
        if target.gtid and facts.delayed.executed.contains(parse_gtid(target.gtid)):
            raise RefusedError(
                f"the delayed replica {facts.node.name} has already applied #{target.id} "
                f"({target.gtid}, {_short(target)}): its copy of the data is gone too; nothing was changed",
                hint=(
                    "remaining ways back: restore a backup taken before "
                    f"{target.when.isoformat()} and replay drkit's binlog archive "
                    f"({facts.archive.directory}) up to {target.start} (mariadb-binlog "
                    f"--stop-position={target.start_pos}), or flashback the rows from the archive's row images"
                ),
            )
    if facts.applied is None and facts.applied_gtid:
        raise RefusedError(
            f"the index does not know the delayed replica's position ({facts.applied_gtid})",
            hint="the index is behind the replica or was built from another primary: run `drkit index`",
        )


def choose_strategy(request: RecoveryRequest, facts: RecoveryFacts) -> tuple[Strategy, str]:
    """The strategy to use and why; RefusedError when the requested one (or every one) is unsafe."""
    verdicts = {
        Strategy.UPSTREAM: _upstream_problem(request, facts),
        Strategy.RELAY: _relay_problem(request, facts),
        Strategy.ARCHIVE: _archive_problem(request, facts),
    }
    reasons = {
        Strategy.UPSTREAM: (
            f"the primary ({facts.primary.name if facts.primary else '-'}) answers and still has "
            "every binlog the delayed replica needs"
        ),
        Strategy.RELAY: "the delayed replica's relay logs hold every transaction it needs",
        Strategy.ARCHIVE: "drkit's binlog archive holds every transaction the replica needs",
    }
    if request.strategy is not Strategy.AUTO:
        problem = verdicts[request.strategy]
        if problem is not None:
            raise RefusedError(
                f"strategy {request.strategy.value} is not safe here: {problem}; nothing was changed",
                hint=_alternatives(verdicts),
            )
        return request.strategy, reasons[request.strategy]
    for strategy, problem in verdicts.items():
        if problem is None:
            others = [
                f"{s.value}: {p}"
                for s, p in verdicts.items()
                if p is not None and s is not strategy
            ]
            tail = f"; not chosen: {'; '.join(others)}" if others else ""
            return strategy, f"auto: {reasons[strategy]}{tail}"
    raise RefusedError(
        "no recovery strategy is safe: "
        + "; ".join(f"{s.value}: {p}" for s, p in verdicts.items()),
        hint="nothing was changed; bring the primary back, or make the relay logs or the archive available",
    )


def _alternatives(verdicts: Mapping[Strategy, str | None]) -> str:
    usable = [s.value for s, problem in verdicts.items() if problem is None]
    if usable:
        return f"use --strategy {usable[0]} (or auto), which is safe here"
    return "no strategy is safe: bring the primary back, or make the relay logs or the archive available"


def _upstream_problem(request: RecoveryRequest, facts: RecoveryFacts) -> str | None:
    primary = facts.primary
    if primary is None:
        return "no primary is configured"
    if not primary.reachable:
        return f"the primary is unreachable ({primary.unreachable_reason})"
    first_needed = facts.applied.end.file if facts.applied else None
    if first_needed and facts.primary_binlogs and first_needed not in facts.primary_binlogs:
        return f"the primary has purged {first_needed}, which the replica would have to fetch again"
    if facts.relay.directory is None and facts.applied is not None and facts.index_end:
        # The plan drops the relay logs; were the primary to die right then, only a copy of
        # the unapplied transactions elsewhere would save them.
        gap = facts.archive.covers(facts.applied.end, facts.index_end.end)
        if gap is not None and facts.applied.id != facts.index_end.id:
            return (
                "the relay logs cannot be copied aside first (relay_log_dir is not set or not "
                f"readable) and drkit's archive does not hold every unapplied transaction ({gap})"
            )
    return None


def _relay_problem(request: RecoveryRequest, facts: RecoveryFacts) -> str | None:
    relay = facts.relay
    if relay.problem:
        return relay.problem
    needed = [t.gtid for t in request.skips] + ([request.stop.gtid] if request.stop else [])
    last = request.segments[-1] if request.segments else None
    if request.stop is None and last is not None and last.end is not None and last.count:
        needed.append(last.end.gtid)
    missing = [gtid for gtid in needed if gtid and gtid not in relay.positions]
    if missing:
        return (
            f"the relay logs do not hold {', '.join(missing)} (not received yet, or already purged)"
        )
    if request.stop is None and not request.skips and relay.last_gtid is None:
        return "the relay logs hold no complete transaction"
    return None


def _archive_problem(request: RecoveryRequest, facts: RecoveryFacts) -> str | None:
    start = _replay_start(request.segments[0]) if request.segments else None
    if start is None:
        return "there is nothing to replay"
    stop = request.stop.start if request.stop else (request.end.end if request.end else None)
    if stop is None:
        return "the index is empty"
    if facts.delayed.binlog is None:
        return (
            "the delayed replica writes no binlog: replayed transactions would leave no GTID "
            "trace, so an interrupted replay could not be told from a finished one"
        )
    if not facts.applied_in_order:
        return (
            "the delayed replica applied its GTID domains out of order (domain-parallel "
            "replication): a replay from one position would miss or repeat transactions"
        )
    return facts.archive.covers(start, stop)


def _replay_start(segment: Segment) -> BinlogCoord | None:
    """Where replaying a segment begins: after its last applied transaction, or at its first."""
    if segment.after is not None:
        return segment.after.end
    return segment.first.start if segment.first is not None else None


# -- MariaDB ----------------------------------------------------------------------------------------


def _mariadb_steps(
    request: RecoveryRequest, facts: RecoveryFacts, d: MariadbDialect, strategy: Strategy
) -> list[Step]:
    node = facts.node.name
    replica = facts.delayed.replica
    assert replica is not None
    steps: list[Step] = _freeze_first(node, replica, d)
    if replica.receiver_state != "No" or replica.applier_running:
        steps.append(
            SqlStep(
                node,
                d.stop_replication(),
                "MariaDB changes the delay only with both threads stopped",
                post=(ReplicationStopped(),),
            )
        )
    if strategy is not Strategy.ARCHIVE and facts.relay.directory is not None:
        # Before any statement that could purge them, whatever the primary looked like.
        steps.append(PreserveRelayLogs(node, facts.relay.directory, pre=(ReplicationStopped(),)))
    # Replaying the archive bypasses the applier: its thread count does not matter then.
    parallel = _parallel_steps(request, facts, d) if strategy is not Strategy.ARCHIVE else ([], [])
    steps += parallel[0]
    if strategy is Strategy.UPSTREAM:
        steps += _mariadb_upstream(request, facts, d)
    elif strategy is Strategy.RELAY:
        steps += _mariadb_relay(request, facts, d)
    else:
        steps += _mariadb_archive(request, facts, d)
    steps += parallel[1]
    if strategy is not Strategy.UPSTREAM and request.final_position is not None:
        steps.append(
            SqlStep(
                node,
                d.set_gtid_slave_pos(request.final_position),
                "record every transaction applied or skipped, per GTID domain, so that restarting "
                "replication in GTID mode neither applies one twice nor fetches a skipped one",
                pre=(ReplicationStopped(),),
                post=(SlavePosIs(request.final_position),),
            )
        )
    return steps


def _parallel_steps(
    request: RecoveryRequest, facts: RecoveryFacts, d: Dialect
) -> tuple[list[Step], list[Step]]:
    current = facts.parallel_threads
    pending = sum(segment.count for segment in request.segments)
    if not request.parallel or current is None or current == request.parallel or pending < 2:
        return [], []
    node = facts.node.name
    speed: list[Step] = [
        SqlStep(
            node,
            d.set_parallel_workers(request.parallel),
            f"apply the backlog with {request.parallel} parallel threads (put back afterwards)",
            pre=(ReplicationStopped(),),
        )
    ]
    restore: list[Step] = [
        SqlStep(
            node, d.stop_replication(), "the thread count changes only with replication stopped"
        ),
        SqlStep(
            node, d.set_parallel_workers(current), f"put the applier threads back to {current}"
        ),
    ]
    return speed, restore


def _mariadb_upstream(
    request: RecoveryRequest, facts: RecoveryFacts, d: MariadbDialect
) -> list[Step]:
    node = facts.node.name
    primary = facts.primary.name if facts.primary else "primary"
    replica = facts.delayed.replica
    assert replica is not None
    steps: list[Step] = []
    in_gtid_mode = replica.using_gtid.lower() != "no"
    current = MariadbGtidPos.parse(facts.delayed.gtid_slave_pos_text)
    if request.start_position is not None and (
        MariadbGtidPos.parse(request.start_position) != current
    ):
        steps.append(
            SqlStep(
                node,
                d.set_gtid_slave_pos(request.start_position),
                f"the replica's GTID position ({current or 'empty'}) is not what it applied: "
                "fetching in GTID mode starts right after this position",
                pre=(ReplicationStopped(),),
                post=(SlavePosIs(request.start_position),),
            )
        )
    steps.append(
        CheckStep(
            primary,
            (Reachable(),),
            "the next statement drops the relay logs: only safe while the primary can resend them",
        )
    )
    if in_gtid_mode:
        steps.append(
            SqlStep(
                node,
                d.change_delay(0),
                "apply without delay; in GTID mode this drops the relay logs, which the primary resends",
                pre=(ReplicationStopped(),),
                post=(DelayIs(0),),
            )
        )
    else:
        steps.append(
            SqlStep(
                node,
                d.resume_with_gtid(0),
                "apply without delay, positioned by GTID again (the replica replicates by "
                "position, as a relay recovery leaves it): only GTID positioning makes skips "
                "exact; this drops the relay logs, which the primary resends",
                pre=(ReplicationStopped(),),
                post=(DelayIs(0), UsesGtid()),
            )
        )
    for index, segment in enumerate(request.segments):
        if index > 0:
            skipped = request.skips[index - 1]
            assert skipped.gtid is not None
            steps.append(
                SqlStep(
                    node,
                    d.stop_replication(),
                    "the GTID position changes only with replication stopped",
                )
            )
            steps.append(
                SqlStep(
                    node,
                    d.set_gtid_slave_pos(
                        request.skip_positions[index - 1]
                        if request.skip_positions
                        else _skip_position(facts, skipped.gtid)
                    ),
                    f"skip #{skipped.id} ({skipped.gtid}): declare it executed so replication continues after it",
                    pre=(NotApplied(skipped.gtid),),
                    post=(Applied(skipped.gtid),),
                )
            )
        stop = _segment_stop_coord(segment, facts)
        steps.append(
            SqlStep(
                node,
                d.start_replication_until_source(stop),
                f"fetch from {primary} and apply up to {stop} ({_segment_words(segment)})",
            )
        )
        if segment.stop is not None:
            steps.append(_wait(node, segment))
        else:
            # UNTIL is checked when the next event arrives: at the very end the applier just waits.
            steps += _apply_to_end(
                node, segment, d, "stop once the last indexed transaction is applied"
            )
    return steps


def _mariadb_relay(request: RecoveryRequest, facts: RecoveryFacts, d: MariadbDialect) -> list[Step]:
    node = facts.node.name
    relay = facts.relay
    assert relay.current is not None
    steps: list[Step] = [
        SqlStep(
            node,
            d.change_delay(0, relay.current),
            "apply without delay; naming the relay position keeps the relay logs (and leaves GTID mode)",
            pre=(ReplicationStopped(),),
            post=(DelayIs(0),),
        ),
    ]
    for index, segment in enumerate(request.segments):
        if index > 0:
            skipped = request.skips[index - 1]
            span = relay.span(skipped.gtid)
            assert span is not None
            steps.append(
                SqlStep(
                    node,
                    d.change_delay(0, span.after),
                    f"skip #{skipped.id} ({skipped.gtid}): continue reading the relay log after it",
                    pre=(ApplierStopped(), NotApplied(skipped.gtid or "")),
                )
            )
        if segment.stop is not None:
            span = relay.span(segment.stop.gtid)
            assert span is not None
            steps.append(
                SqlStep(
                    node,
                    d.start_applier_until_relay(span.start),
                    f"apply the relay logs up to #{segment.stop.id} ({_segment_words(segment)})",
                )
            )
            steps.append(_wait(node, segment))
        elif segment.end is not None and segment.end.gtid != relay.last_gtid:
            # The relay logs hold more than this recovery may apply (not indexed yet, or after
            # the recorded end): stop right after the last transaction it applies.
            span = relay.span(segment.end.gtid)
            assert span is not None
            steps.append(
                SqlStep(
                    node,
                    d.start_applier_until_relay(span.after),
                    f"apply the relay logs up to and including #{segment.end.id} "
                    f"({_segment_words(segment)})",
                )
            )
            steps.append(_wait(node, segment))
        elif segment.count:
            steps.append(
                SqlStep(
                    node,
                    d.start_applier(),
                    f"apply the rest of the relay logs ({_segment_words(segment)})",
                )
            )
            steps += _apply_to_end(node, segment, d, "stop once everything received is applied")
    return steps


def _mariadb_archive(
    request: RecoveryRequest, facts: RecoveryFacts, d: MariadbDialect
) -> list[Step]:
    node = facts.node.name
    steps: list[Step] = []
    for index, segment in enumerate(request.segments):
        start = _replay_start(segment)
        if index > 0:
            skipped = request.skips[index - 1]
            start = skipped.end
        stop = segment.stop.start if segment.stop else (segment.end.end if segment.end else None)
        if start is None or stop is None or segment.count == 0:
            continue
        files = tuple(facts.archive.files_between(start, stop))
        first = _first_after(segment)
        steps.append(
            ReplayArchive(
                node,
                files,
                start.pos,
                stop.pos,
                first,
                segment.end.gtid if segment.end else None,
                segment.count,
                f"replay {_segment_words(segment)} from the archive through mariadb-binlog",
                pre=(ApplierStopped(),) + ((NotApplied(first),) if first else ()),
                post=_boundary(segment),
            )
        )
    return steps


# -- MySQL ------------------------------------------------------------------------------------------


def _mysql_steps(
    request: RecoveryRequest, facts: RecoveryFacts, d: MysqlDialect, strategy: Strategy
) -> list[Step]:
    node = facts.node.name
    replica = facts.delayed.replica
    assert replica is not None
    steps: list[Step] = _freeze_first(node, replica, d)
    if strategy is Strategy.ARCHIVE:
        steps.append(
            SqlStep(
                node,
                d.stop_replication(),
                "nothing may fetch or apply while the archive is replayed",
            )
        )
        for index, segment in enumerate(request.segments):
            start = request.skips[index - 1].end if index > 0 else _replay_start(segment)
            stop = (
                segment.stop.start if segment.stop else (segment.end.end if segment.end else None)
            )
            if start is None or stop is None or segment.count == 0:
                continue
            first = _first_after(segment)
            steps.append(
                ReplayArchive(
                    node,
                    tuple(facts.archive.files_between(start, stop)),
                    start.pos,
                    stop.pos,
                    first,
                    segment.end.gtid if segment.end else None,
                    segment.count,
                    f"replay {_segment_words(segment)} through mysqlbinlog (GTIDs kept)",
                    pre=(ApplierStopped(),),
                    post=_boundary(segment),
                )
            )
        return steps
    # MySQL keeps its relay logs when only the applier stops, so upstream and relay are one path.
    steps.append(
        SqlStep(
            node,
            d.change_delay(0),
            "apply without delay (MySQL keeps the relay logs)",
            pre=(ApplierStopped(),),
            post=(DelayIs(0),),
        )
    )
    for index, segment in enumerate(request.segments):
        if index > 0:
            skipped = request.skips[index - 1]
            assert skipped.gtid is not None
            steps += [
                SqlStep(node, sql, f"skip #{skipped.id}: an empty transaction takes its GTID")
                for sql in (
                    *d.set_read_only(False)[:1],
                    *d.skip_with_empty_transaction(skipped.gtid),
                    *d.set_read_only(True),
                )
            ]
        if segment.stop is not None and segment.stop.gtid:
            until = d.start_applier_before_gtids(segment.stop.gtid)
            assert until is not None
            steps.append(
                SqlStep(node, until, f"apply up to #{segment.stop.id} ({_segment_words(segment)})")
            )
            steps.append(_wait(node, segment))
        else:
            steps.append(
                SqlStep(node, d.start_applier(), f"apply the rest ({_segment_words(segment)})")
            )
            steps += _apply_to_end(node, segment, d, "stop once everything received is applied")
    return steps


# -- helpers ----------------------------------------------------------------------------------------


def _freeze_first(node: str, replica: ReplicaStatus, d: Dialect) -> list[Step]:
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


def _apply_to_end(node: str, segment: Segment, d: Dialect, why: str) -> list[Step]:
    """With no transaction to stop before, wait for the last one, then stop the applier."""
    return [
        _wait(node, segment, expect_stopped=False),
        SqlStep(node, d.stop_applier(), why, post=(ApplierStopped(),)),
    ]


def _wait(node: str, segment: Segment, expect_stopped: bool = True) -> WaitStep:
    until: tuple[Condition, ...] = (NoApplierError(), *_boundary(segment))
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


def _boundary(segment: Segment) -> tuple[Condition, ...]:
    conditions: list[Condition] = []
    if segment.end is not None and segment.end.gtid:
        conditions.append(Applied(segment.end.gtid))
    if segment.stop is not None and segment.stop.gtid:
        conditions.append(NotApplied(segment.stop.gtid))
    return tuple(conditions)


def _segment_stop_coord(segment: Segment, facts: RecoveryFacts) -> BinlogCoord:
    if segment.stop is not None:
        return segment.stop.start
    last = segment.end or segment.after
    if last is None:
        raise UsageError("the index is empty: run `drkit index` first")
    return last.end


def _segment_words(segment: Segment) -> str:
    if segment.count == 0:
        return "no transaction to apply"
    tables = ", ".join(segment.tables[:5]) + (" ..." if len(segment.tables) > 5 else "")
    noun = "transaction" if segment.count == 1 else "transactions"
    return f"{segment.count} {noun}" + (f" on {tables}" if tables else "")


def _first_after(segment: Segment) -> str | None:
    return segment.first.gtid if segment.first else None


def _skip_position(facts: RecoveryFacts, gtid: str) -> MariadbGtidPos:
    parsed = parse_gtid(gtid)
    assert isinstance(parsed, MariadbGtid)
    current = MariadbGtidPos.parse(
        facts.delayed.gtid_slave_pos_text or facts.delayed.gtid_executed_text
    )
    return current.with_gtid(parsed)


def _seq(gtid: str) -> int:
    parsed = parse_gtid(gtid)
    return parsed.seq if isinstance(parsed, MariadbGtid) else parsed.number


def _short(record: IndexedTransaction) -> str:
    text = " ".join(record.statement.split())
    return (
        text[:60]
        if text
        else f"{record.kind} on {', '.join(t.table for t in record.tables) or '-'}"
    )


def _summary(request: RecoveryRequest) -> tuple[str, ...]:
    lines = []
    for index, segment in enumerate(request.segments):
        if index > 0:
            skipped = request.skips[index - 1]
            lines.append(f"skip #{skipped.id} {skipped.gtid} {_short(skipped)}")
        if segment.stop is not None:
            where = f"stop before #{segment.stop.id} {segment.stop.gtid} {_short(segment.stop)}"
        elif segment.end is not None:
            where = f"stop after #{segment.end.id} {segment.end.gtid}"
        else:
            where = "stop where the replica is"
        what = f"apply {_segment_words(segment)}" if segment.count else "nothing to apply"
        lines.append(f"{what}, {where}")
    return tuple(lines)


def _notes(request: RecoveryRequest, facts: RecoveryFacts, strategy: Strategy) -> tuple[str, ...]:
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
