"""Recovery plans, built in pure code from gathered facts (nothing here touches a server).

`plan_recovery` decides the strategy (upstream, relay, archive), refuses what would destroy the
only copy of unapplied transactions, and returns a Plan: the dry run prints it, the executor runs it.
"""

from __future__ import annotations

from drkit.dialect import MariadbDialect, MysqlDialect, for_version
from drkit.pitr.planning.common import notes, summary
from drkit.pitr.planning.mariadb import mariadb_steps
from drkit.pitr.planning.mysql import mysql_steps
from drkit.pitr.planning.strategy import (
    choose_strategy,
    refuse_applied_targets,
    refuse_unusable_replica,
)
from drkit.pitr.planning.values import (
    ArchiveView,
    RecoveryFacts,
    RecoveryMode,
    RecoveryRequest,
    RelaySpan,
    RelayView,
    Segment,
    Strategy,
)
from drkit.plan.steps import Plan

__all__ = [
    "ArchiveView",
    "RecoveryFacts",
    "RecoveryMode",
    "RecoveryRequest",
    "RelaySpan",
    "RelayView",
    "Segment",
    "Strategy",
    "choose_strategy",
    "plan_recovery",
]


def plan_recovery(request: RecoveryRequest, facts: RecoveryFacts) -> Plan:
    """The plan for a recovery request, or RefusedError / UsageError saying why there is none."""
    refuse_unusable_replica(facts)
    refuse_applied_targets(request, facts)
    strategy, reason = choose_strategy(request, facts)
    version = facts.delayed.version
    assert version is not None  # reachable: refuse_unusable_replica checked
    dialect = for_version(version)
    if isinstance(dialect, MariadbDialect):
        steps = mariadb_steps(request, facts, dialect, strategy)
    else:
        assert isinstance(dialect, MysqlDialect)
        steps = mysql_steps(request, facts, dialect, strategy)
    return Plan(
        title=f"Recovery on {facts.node.name}: {request.description}",
        node=facts.node.name,
        steps=tuple(steps),
        strategy=strategy.value,
        strategy_reason=reason,
        summary=summary(request),
        notes=notes(request, facts, strategy),
    )
