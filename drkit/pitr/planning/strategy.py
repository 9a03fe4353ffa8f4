"""Refusals and the choice of strategy: each one safe or not, and why."""

from __future__ import annotations

from collections.abc import Mapping

from drkit.errors import ConfigError, RefusedError, TimeNotReachable
from drkit.model.facts import Unreachable
from drkit.model.gtid import parse_gtid
from drkit.pitr.planning.common import replay_start, short
from drkit.pitr.planning.values import (
    RecoveryFacts,
    RecoveryRequest,
    Strategy,
)
from drkit.timeparse import iso

# -- refusals ------------------------------------------------------------------------------------


def refuse_unusable_replica(facts: RecoveryFacts) -> None:
    delayed = facts.delayed
    if delayed.unreachable_kind in (Unreachable.AUTH, Unreachable.CONFIG):
        raise ConfigError(
            f"the delayed replica {facts.node.name} refused drkit's login: {delayed.unreachable_reason}",
            hint="nothing was changed; fix the password, account or TLS settings in the config",
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


def refuse_applied_targets(request: RecoveryRequest, facts: RecoveryFacts) -> None:
    stop = request.stop
    if (
        request.until_time is not None
        and stop is not None
        and stop.gtid
        and facts.delayed.executed.contains(parse_gtid(stop.gtid))
    ):
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
                f"({target.gtid}, {short(target)}): its copy of the data is gone too; nothing was changed",
                hint=(
                    f"for row changes: `drkit flashback {target.id} --dry-run` reverses them from "
                    "the archive's row images (`drkit history` shows one row's versions); "
                    "otherwise restore a backup taken before "
                    f"{iso(target.timestamp)} and replay drkit's binlog archive "
                    f"({facts.archive.directory}) up to {target.start} (mariadb-binlog "
                    f"--stop-position={target.start_pos})"
                ),
            )
    if facts.index_behind is not None:
        # Unknown is not "applied nothing": every pending count and segment would be wrong.
        raise RefusedError(
            f"{facts.index_behind}; nothing was changed",
            hint="`drkit index` catches the index up; then plan again",
        )
    if facts.applied is None and facts.applied_gtid:
        raise RefusedError(
            f"the index does not know the delayed replica's position ({facts.applied_gtid})",
            hint="the index is behind the replica or was built from another primary: run `drkit index`",
        )


def choose_strategy(request: RecoveryRequest, facts: RecoveryFacts) -> tuple[Strategy, str]:
    """The strategy to use and why; RefusedError when the requested one (or every one) is unsafe."""
    verdicts = {
        Strategy.UPSTREAM: upstream_problem(request, facts),
        Strategy.RELAY: relay_problem(request, facts),
        Strategy.ARCHIVE: archive_problem(request, facts),
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
                hint=alternatives(verdicts),
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


def alternatives(verdicts: Mapping[Strategy, str | None]) -> str:
    usable = [s.value for s, problem in verdicts.items() if problem is None]
    if usable:
        return f"use --strategy {usable[0]} (or auto), which is safe here"
    return "no strategy is safe: bring the primary back, or make the relay logs or the archive available"


def upstream_problem(request: RecoveryRequest, facts: RecoveryFacts) -> str | None:
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


def relay_problem(request: RecoveryRequest, facts: RecoveryFacts) -> str | None:
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


def archive_problem(request: RecoveryRequest, facts: RecoveryFacts) -> str | None:
    start = replay_start(request.segments[0]) if request.segments else None
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
