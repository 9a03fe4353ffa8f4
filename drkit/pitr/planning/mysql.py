"""MySQL recovery plans: upstream (relay logs kept) and archive."""

from __future__ import annotations

from drkit.dialect import MysqlDialect
from drkit.pitr.planning.common import (
    apply_to_end,
    archive_replays,
    freeze_first,
    segment_words,
    wait_step,
)
from drkit.pitr.planning.values import (
    RecoveryFacts,
    RecoveryRequest,
    Strategy,
)
from drkit.plan.conditions import (
    ApplierStopped,
    DelayIs,
)
from drkit.plan.steps import (
    SqlStep,
    Step,
)

# -- MySQL ------------------------------------------------------------------------------------------


def mysql_steps(
    request: RecoveryRequest, facts: RecoveryFacts, d: MysqlDialect, strategy: Strategy
) -> list[Step]:
    node = facts.node.name
    replica = facts.delayed.replica
    assert replica is not None
    steps: list[Step] = freeze_first(node, replica, d)
    if strategy is Strategy.ARCHIVE:
        steps.append(
            SqlStep(
                node,
                d.stop_replication(),
                "nothing may fetch or apply while the archive is replayed",
            )
        )
        steps += archive_replays(request, facts, "through mysqlbinlog (GTIDs kept)")
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
                SqlStep(node, until, f"apply up to #{segment.stop.id} ({segment_words(segment)})")
            )
            steps.append(wait_step(node, segment))
        else:
            steps.append(
                SqlStep(node, d.start_applier(), f"apply the rest ({segment_words(segment)})")
            )
            steps += apply_to_end(node, segment, d, "stop once everything received is applied")
    return steps
