"""Replication checks per node, pure over gathered facts: threads, errors, lag, delay, read_only,
errant transactions, and which nodes have applied a destructive transaction."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from drkit.checks.gtids import errant_mariadb, size, subtract
from drkit.checks.result import Checklist, CheckResult
from drkit.config import Role
from drkit.dialect import for_version
from drkit.index.records import IndexedTransaction
from drkit.model.facts import NodeFacts
from drkit.model.gtid import MariadbGtidPos, MysqlGtidSet, parse_gtid

LAG_LIMIT = 60  # seconds a plain replica may trail before the check says so


def judge_replication(
    nodes: Sequence[NodeFacts],
    *,
    destructive: IndexedTransaction | None = None,
    skipped_on: Mapping[str, Collection[str]] | None = None,
    gathered_at: float = 0.0,
    lag_limit: int = LAG_LIMIT,
) -> Checklist:
    """`drkit check replication`: every node's health, errant transactions, the latest disaster."""
    primary = next((n for n in nodes if n.role is Role.PRIMARY), None)
    results: list[CheckResult] = []
    for facts in nodes:
        results += node_checks(facts, lag_limit=lag_limit)
    for facts in nodes:
        if facts.role is not Role.PRIMARY:
            results.append(errant_transactions(facts, primary))
    results.append(destructive_applied(nodes, destructive, skipped_on or {}))
    return Checklist(results, gathered_at, "replication")


def node_checks(facts: NodeFacts, *, lag_limit: int = LAG_LIMIT) -> list[CheckResult]:
    """Reachability, and per role: read_only, replication threads, errors, lag and delay."""
    name = facts.name
    if not facts.reachable:
        return [
            CheckResult(
                f"{name} reachable",
                False,
                f"{name} ({facts.address}) does not answer: {facts.unreachable_reason}",
                "check the server and the network; `drkit status` shows every node",
            )
        ]
    if facts.role is Role.PRIMARY:
        return [_primary_read_only(facts)]
    replica = facts.replica
    if replica is None:
        return [
            CheckResult(
                f"{name} replication",
                False,
                f"{name} has no replication configured: it is not a copy of the primary",
                "rebuild it from the primary, or fix the configuration's role",
            )
        ]
    delayed = facts.role is Role.DELAYED
    return [
        _threads(facts, delayed),
        _errors(facts),
        _delay(facts) if delayed else _lag(facts, lag_limit),
        _replica_read_only(facts),
    ]


def errant_transactions(replica: NodeFacts, primary: NodeFacts | None) -> CheckResult:
    """GTIDs on a replica the primary never had (advisory; "cannot tell" without the primary)."""
    name = f"{replica.name} errant transactions"
    if not replica.reachable:
        return _advisory(name, False, f"cannot tell: {replica.name} does not answer")
    if primary is None or not primary.reachable:
        why = "no primary is configured" if primary is None else "the primary does not answer"
        return _advisory(name, False, f"cannot tell: {why}, so there is nothing to compare with")
    found = errant_list(replica, primary)
    if not found:
        return _advisory(name, True, f"{replica.name} holds no transaction the primary lacks")
    return _advisory(
        name,
        False,
        f"{replica.name} holds transactions the primary never had: {'; '.join(found)}",
        "someone wrote to the replica directly; those rows exist nowhere else: inspect them "
        "before promoting or rebuilding it",
    )


def errant_list(replica: NodeFacts, primary: NodeFacts) -> list[str]:
    """What `replica` holds beyond `primary`, one phrase per domain or source."""
    if replica.is_mariadb:
        # What the primary wrote is its binlog position; its slave position may be stale history.
        reference = MariadbGtidPos.parse(primary.gtid_binlog_pos_text or primary.gtid_executed_text)
        mine = replica.executed
        assert isinstance(mine, MariadbGtidPos)
        return errant_mariadb(mine, reference, replica.server_id)
    extra = subtract(
        MysqlGtidSet.parse(replica.gtid_executed_text),
        MysqlGtidSet.parse(primary.gtid_executed_text),
    )
    return [f"{extra} ({size(extra)} transactions)"] if extra.intervals else []


def applied(facts: NodeFacts, gtid: str, skipped: Collection[str] = ()) -> bool | None:
    """Whether a node has applied `gtid`; None when it cannot be asked.

    `skipped` names GTIDs drkit skipped on this node: a MariaDB position moves past a skipped
    transaction (and MySQL marks it executed), so the position alone would say "applied".
    """
    if not facts.reachable:
        return None
    if gtid in skipped:
        return False
    return facts.executed.contains(parse_gtid(gtid))


def destructive_applied(
    nodes: Sequence[NodeFacts],
    destructive: IndexedTransaction | None,
    skipped_on: Mapping[str, Collection[str]],
    *,
    trusted: str | None = None,
) -> CheckResult:
    """Which nodes applied the latest destructive transaction, so can no longer serve as copies.

    `trusted` names the node that must not have applied it (the delayed replica to promote): the
    check fails (advisory) only when that one did.
    """
    name = "destructive-applied"
    if destructive is None or not destructive.gtid:
        return _advisory(name, True, "the index holds no destructive transaction")
    gtid = destructive.gtid
    did, did_not, unknown = [], [], []
    for facts in nodes:
        answer = applied(facts, gtid, skipped_on.get(facts.name, ()))
        if answer is None:
            unknown.append(facts.name)
        elif answer:
            did.append(facts.name)
        else:
            skipped = gtid in skipped_on.get(facts.name, ())
            did_not.append(f"{facts.name} (skipped by drkit)" if skipped else facts.name)
    parts = [f"latest destructive transaction {destructive.label}"]
    if did:
        holds = "it holds" if len(did) == 1 else "they hold"
        parts.append(f"applied on {', '.join(did)}: {holds} the damage, no copy to trust any more")
    if did_not:
        parts.append(f"not applied on {', '.join(did_not)}")
    if unknown:
        parts.append(f"unknown on {', '.join(unknown)} (not answering)")
    ok = trusted is None or trusted not in did
    hint = (
        ""
        if ok
        else f"{trusted} holds the damage too: recover it before the disaster or restore a backup"
    )
    return _advisory(name, ok, "; ".join(parts), hint)


# -- helpers ----------------------------------------------------------------------------------


def _primary_read_only(facts: NodeFacts) -> CheckResult:
    name = f"{facts.name} read_only"
    if facts.read_only:
        return _advisory(
            name,
            False,
            f"{facts.name} (the primary) is read-only: applications cannot write (fenced?)",
            "expected during an incident; otherwise make it writable again",
        )
    return _advisory(name, True, f"{facts.name} (the primary) is writable")


def _threads(facts: NodeFacts, delayed: bool) -> CheckResult:
    replica = facts.replica
    assert replica is not None
    name = f"{facts.name} threads"
    stopped = []
    if replica.receiver_state != "Yes":
        stopped.append(f"receiver {replica.receiver_state}")
    if not replica.applier_running:
        stopped.append("applier stopped")
    source = f"{replica.source_host}:{replica.source_port}"
    if not stopped:
        return CheckResult(
            name, True, f"{facts.name} replicates from {source}", critical=not delayed
        )
    if delayed and stopped == ["applier stopped"]:
        return _advisory(
            name,
            False,
            f"{facts.name} is frozen: its applier is stopped, its receiver still fetches from {source}",
            "`drkit resume` restarts it with the configured delay",
        )
    hint = (
        "`drkit resume` restores the delay and restarts replication"
        if delayed
        else "look at the errors in `drkit status`; START the threads once the cause is fixed"
    )
    return CheckResult(
        name,
        False,
        f"{facts.name}: {', '.join(stopped)} (source {source})",
        hint,
        critical=not delayed,
    )


def _errors(facts: NodeFacts) -> CheckResult:
    replica = facts.replica
    assert replica is not None
    name = f"{facts.name} errors"
    found = []
    if replica.last_io_error:
        found.append(f"receiver: {replica.last_io_error}")
    if replica.last_sql_error:
        found.append(f"applier error {replica.last_sql_errno}: {replica.last_sql_error}")
    if not found:
        return CheckResult(name, True, f"{facts.name} reports no replication error")
    return CheckResult(
        name,
        False,
        f"{facts.name}: {'; '.join(found)}",
        "the applier stops at the failing transaction; fix its cause before restarting it",
    )


def _lag(facts: NodeFacts, limit: int) -> CheckResult:
    replica = facts.replica
    assert replica is not None
    name = f"{facts.name} lag"
    behind = replica.seconds_behind
    if behind is None:
        return _advisory(name, False, f"{facts.name}: lag unknown (replication not running)")
    if replica.sql_delay:
        return _advisory(
            name,
            False,
            f"{facts.name} runs with a {replica.sql_delay}s delay but is not a delayed node",
            "set its role to delayed in drkit.toml, or remove the delay",
        )
    if behind > limit:
        return _advisory(name, False, f"{facts.name} is {behind}s behind (limit {limit}s)")
    return _advisory(name, True, f"{facts.name} is {behind}s behind")


def _delay(facts: NodeFacts) -> CheckResult:
    replica = facts.replica
    assert replica is not None
    name = f"{facts.name} delay"
    wanted = facts.configured_delay or 0
    if replica.sql_delay == wanted:
        left = replica.sql_remaining_delay
        extra = f", next transaction due in {left}s" if left is not None else ""
        return _advisory(name, True, f"{facts.name} runs with its {wanted}s delay{extra}")
    return _advisory(
        name,
        False,
        f"{facts.name} runs with a {replica.sql_delay}s delay, configured {wanted}s",
        "after a recovery this is expected; `drkit resume` restores the configured delay",
    )


def _replica_read_only(facts: NodeFacts) -> CheckResult:
    name = f"{facts.name} read_only"
    if facts.read_only:
        return CheckResult(name, True, f"{facts.name} is read-only")
    fence = (
        "; ".join(str(s) for s in for_version(facts.version).set_read_only(True))
        if facts.version
        else "read_only = ON"
    )
    return CheckResult(
        name,
        False,
        f"{facts.name} is a replica but writable: anything written there is an errant transaction",
        f"make it read-only: {fence}",
    )


def _advisory(name: str, ok: bool, reason: str, hint: str = "") -> CheckResult:
    return CheckResult(name, ok, reason, hint, critical=False)
