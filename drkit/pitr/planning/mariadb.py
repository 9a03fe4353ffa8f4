"""MariaDB recovery plans: upstream, relay and archive."""

from __future__ import annotations

from drkit.dialect import Dialect, MariadbDialect
from drkit.model.coords import BinlogCoord
from drkit.pitr.planning.common import (
    apply_to_end,
    archive_replays,
    freeze_first,
    segment_stop_coord,
    segment_words,
    skip_position,
    wait_step,
)
from drkit.pitr.planning.values import (
    RecoveryFacts,
    RecoveryRequest,
    RelayView,
    Strategy,
)
from drkit.plan.conditions import (
    Applied,
    ApplierStopped,
    DelayIs,
    NotApplied,
    Reachable,
    ReplicationStopped,
    SlavePosIs,
    UsesGtid,
)
from drkit.plan.steps import (
    AlignGtidPosition,
    CheckStep,
    PreserveRelayLogs,
    SqlStep,
    Step,
)

# -- MariaDB ----------------------------------------------------------------------------------------


def mariadb_steps(
    request: RecoveryRequest, facts: RecoveryFacts, d: MariadbDialect, strategy: Strategy
) -> list[Step]:
    node = facts.node.name
    replica = facts.delayed.replica
    assert replica is not None
    steps: list[Step] = freeze_first(node, replica, d)
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
    parallel = parallel_steps(request, facts, d) if strategy is not Strategy.ARCHIVE else ([], [])
    steps += parallel[0]
    if strategy is Strategy.UPSTREAM:
        steps += mariadb_upstream(request, facts, d)
    elif strategy is Strategy.RELAY:
        steps += mariadb_relay(request, facts, d)
    else:
        steps += mariadb_archive(request, facts, d)
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


def parallel_steps(
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


def mariadb_upstream(
    request: RecoveryRequest, facts: RecoveryFacts, d: MariadbDialect
) -> list[Step]:
    node = facts.node.name
    primary = facts.primary.name if facts.primary else "primary"
    replica = facts.delayed.replica
    assert replica is not None
    until_positions = list(request.until_positions)
    steps: list[Step] = []
    in_gtid_mode = replica.using_gtid.lower() != "no"
    steps.append(
        AlignGtidPosition(
            node,
            "fetching in GTID mode starts right after gtid_slave_pos: it must be what the "
            "replica applied (an archive replay or a killed run can leave it behind)",
            pre=(ReplicationStopped(),),
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
                        else skip_position(facts, skipped.gtid)
                    ),
                    f"skip #{skipped.id} ({skipped.gtid}): declare it executed so replication continues after it",
                    pre=(NotApplied(skipped.gtid),),
                    post=(Applied(skipped.gtid),),
                    done_skips=(skipped.id,),
                )
            )
        if segment.count and until_positions:
            # A GTID UNTIL stops right after the segment's last transaction, whatever stale
            # coordinates a relay recovery or an archive replay left in Exec_Master_Log_Pos.
            position = until_positions.pop(0)
            steps.append(
                SqlStep(
                    node,
                    d.start_until_gtid_pos(position),
                    f"fetch from {primary} and apply up to {position} ({segment_words(segment)})",
                )
            )
            steps.append(wait_step(node, segment))
            continue
        if not segment.count:
            continue  # nothing to apply before the next skip or the stop: start nothing
        stop = segment_stop_coord(segment, facts)
        steps.append(
            SqlStep(
                node,
                d.start_replication_until_source(stop),
                f"fetch from {primary} and apply up to {stop} ({segment_words(segment)})",
            )
        )
        if segment.stop is not None:
            steps.append(wait_step(node, segment))
        else:
            # UNTIL is checked when the next event arrives: at the very end the applier just waits.
            steps += apply_to_end(
                node, segment, d, "stop once the last indexed transaction is applied"
            )
    return steps


def mariadb_relay(request: RecoveryRequest, facts: RecoveryFacts, d: MariadbDialect) -> list[Step]:
    node = facts.node.name
    relay = facts.relay
    assert relay.current is not None
    start = relay_start(request, relay)
    steps: list[Step] = [
        SqlStep(
            node,
            d.change_delay(0, start),
            "apply without delay, from the first transaction the replica has not applied; naming "
            "the relay position keeps the relay logs (and leaves GTID mode)",
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
                    done_skips=(skipped.id,),
                )
            )
        if segment.stop is not None:
            span = relay.span(segment.stop.gtid)
            assert span is not None
            steps.append(
                SqlStep(
                    node,
                    d.start_applier_until_relay(span.start),
                    f"apply the relay logs up to #{segment.stop.id} ({segment_words(segment)})",
                )
            )
            steps.append(wait_step(node, segment))
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
                    f"({segment_words(segment)})",
                )
            )
            steps.append(wait_step(node, segment))
        elif segment.count:
            steps.append(
                SqlStep(
                    node,
                    d.start_applier(),
                    f"apply the rest of the relay logs ({segment_words(segment)})",
                )
            )
            steps += apply_to_end(node, segment, d, "stop once everything received is applied")
    return steps


def relay_start(request: RecoveryRequest, relay: RelayView) -> BinlogCoord:
    """Where the applier must read on: the relay span of the first transaction to apply (or of
    the first skip or stop). Relay_Log_Pos lags behind when an archive replay applied
    transactions around the applier; starting there would apply them twice (error 1950)."""
    assert relay.current is not None
    first = request.segments[0] if request.segments else None
    target = None
    if first is not None:
        target = first.first if first.count else (request.skips[0] if request.skips else first.stop)
    span = relay.span(target.gtid) if target is not None else None
    return span.start if span is not None else relay.current


def mariadb_archive(
    request: RecoveryRequest, facts: RecoveryFacts, d: MariadbDialect
) -> list[Step]:
    return archive_replays(request, facts, "from the archive through mariadb-binlog")
