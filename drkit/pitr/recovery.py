"""Freeze, recover and resume: gather facts, build the plan, run it, verify, record the outcome."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

from drkit.config import Config, NodeConfig
from drkit.errors import DrkitError, RefusedError, UsageError
from drkit.index.records import IndexedTransaction
from drkit.index.store import IndexStore
from drkit.io.audit import AuditLog
from drkit.io.facts import facts_from_session, gather
from drkit.io.mysql import connect
from drkit.model.facts import NodeFacts
from drkit.pitr import state as state_file
from drkit.pitr.conditions import ApplierStopped, DelayIs, NotApplied, ReplicationStopped
from drkit.pitr.executor import ExecutionResult, Executor, ProgressCallback, StepCallback
from drkit.pitr.gather import gather_recovery_facts, last_applied_gtid, segments
from drkit.pitr.plan import RecoveryFacts, RecoveryRequest, Strategy, plan_recovery
from drkit.pitr.steps import Plan, SqlStep, Step
from drkit.pitr.verify import Verification, verify_recovery

# -- freeze -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FreezeReport:
    node: str
    was_running: bool
    executed_gtid: str
    executed_at: str | None
    pending: int
    first_destructive: IndexedTransaction | None
    destructive_distance: int | None  # transactions before it
    destructive_due_in: float | None  # seconds until the replica would have applied it

    def to_json(self) -> dict[str, object]:
        return {
            "node": self.node,
            "was_running": self.was_running,
            "executed_gtid": self.executed_gtid or None,
            "executed_at": self.executed_at,
            "pending": self.pending,
            "first_destructive": self.first_destructive.to_json()
            if self.first_destructive
            else None,
            "destructive_distance": self.destructive_distance,
            "destructive_due_in": self.destructive_due_in,
        }


def plan_freeze(config: Config, node: NodeConfig) -> Plan:
    """One statement: stop the applier, keep the receiver and every relay log."""
    facts = gather(node)
    if not facts.reachable:
        raise RefusedError(f"cannot freeze {node.name}: {facts.unreachable_reason}")
    if facts.replica is None or facts.version is None:
        raise RefusedError(f"{node.name} has no replication configured: there is nothing to freeze")
    from drkit.dialect import for_version

    steps: tuple[Step, ...] = ()
    if facts.replica.applier_running:
        steps = (
            SqlStep(
                node.name,
                for_version(facts.version).stop_applier(),
                "stop applying now; the receiver keeps fetching into the relay logs",
                post=(ApplierStopped(),),
            ),
        )
    return Plan(
        title=f"Freeze {node.name}",
        node=node.name,
        steps=steps,
        notes=() if steps else ("the applier is already stopped: frozen",),
    )


def freeze(
    config: Config, node: NodeConfig, audit: AuditLog, plan: Plan | None = None
) -> FreezeReport:
    plan = plan or plan_freeze(config, node)
    Executor(config, audit=audit).run(plan)
    audit.event("freeze", node=node.name, changed=bool(plan.steps))
    return freeze_report(config, node, was_running=bool(plan.steps))


def freeze_report(config: Config, node: NodeConfig, was_running: bool) -> FreezeReport:
    facts = gather(node)
    pending = 0
    first = None
    distance = None
    due = None
    if config.index.path.exists():
        store = IndexStore(config.index.path, readonly=True)
        try:
            applied_gtid = last_applied_gtid(facts, store.latest())
            applied = store.by_gtid(applied_gtid) if applied_gtid else None
            applied_id = applied.id if applied else None
            pending = store.span(applied_id, None)[0]
            first = store.first_destructive_after(applied_id)
            if first is not None:
                distance = first.id - (applied_id or 0) - 1
                due = first.timestamp + (node.delay or 0) - time.time()
        finally:
            store.close()
    executed = facts.replica.executed_source if facts.replica else None
    return FreezeReport(
        node.name,
        was_running,
        str(facts.executed),
        str(executed) if executed else None,
        pending,
        first,
        distance,
        due,
    )


# -- recover ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedRecovery:
    request: RecoveryRequest
    facts: RecoveryFacts
    plan: Plan


@dataclass
class RecoveryReport:
    node: str
    strategy: str
    description: str
    stopped_at: str | None
    executed_gtid: str
    applied: int
    skipped: list[str]
    verification: list[Verification]
    seconds: float
    relay_backup: str | None = None
    log: list[str] = field(default_factory=list)
    mode: str = ""  # before | skip | until-time: what the evidence checks read back
    stop_gtid: str | None = None  # the first transaction left unapplied on purpose

    @property
    def verified(self) -> bool:
        return all(check.ok for check in self.verification)

    def to_json(self) -> dict[str, object]:
        return {
            "node": self.node,
            "strategy": self.strategy,
            "description": self.description,
            "stopped_at": self.stopped_at,
            "executed_gtid": self.executed_gtid or None,
            "transactions_applied": self.applied,
            "skipped": self.skipped,
            "verified": self.verified,
            "verification": [check.to_json() for check in self.verification],
            "duration": round(self.seconds, 3),
            "relay_backup": self.relay_backup,
            "mode": self.mode or None,
            "stop_gtid": self.stop_gtid,
        }


def prepare_recovery(
    config: Config,
    store: IndexStore,
    node: NodeConfig,
    *,
    before: IndexedTransaction | None = None,
    skips: tuple[IndexedTransaction, ...] = (),
    until: IndexedTransaction | None = None,
    until_time: float | None = None,
    strategy: Strategy = Strategy.AUTO,
    parallel: int = 0,
) -> PreparedRecovery:
    """Resolve the request against the index and the live nodes; plan it (no server is changed)."""
    mode, stop, description = _mode(store, before, skips, until, until_time)
    ordered = tuple(sorted(skips, key=lambda t: t.id))
    if stop is not None and any(s.id >= stop.id for s in ordered):
        raise UsageError(f"--until #{stop.id} must come after every skipped transaction")
    wants_relay = strategy in (Strategy.RELAY, Strategy.AUTO)
    facts = gather_recovery_facts(config, store, node, relay=False)
    if wants_relay and (
        strategy is Strategy.RELAY or not (facts.primary and facts.primary.reachable)
    ):
        facts = gather_recovery_facts(config, store, node, relay=True)
    request = RecoveryRequest(
        mode=mode,
        stop=stop,
        skips=ordered,
        segments=segments(store, facts.applied, ordered, stop),
        strategy=strategy,
        parallel=parallel,
        description=description,
    )
    return PreparedRecovery(request, facts, plan_recovery(request, facts))


def _mode(
    store: IndexStore,
    before: IndexedTransaction | None,
    skips: tuple[IndexedTransaction, ...],
    until: IndexedTransaction | None,
    until_time: float | None,
) -> tuple[str, IndexedTransaction | None, str]:
    if before is not None:
        return "before", before, f"stop just before #{before.id} ({before.gtid})"
    if skips:
        names = ", ".join(f"#{s.id} ({s.gtid})" for s in skips)
        tail = f" up to #{until.id} ({until.gtid})" if until else " to the end"
        return "skip", until, f"skip {names}, apply the rest{tail}"
    if until_time is not None:
        from drkit.timeparse import iso

        stop = store.first_after_time(until_time)
        tail = f"stop before #{stop.id} ({stop.gtid})" if stop else "apply everything indexed"
        return (
            "until-time",
            stop,
            f"apply every transaction committed at or before {iso(until_time)}: {tail}",
        )
    raise UsageError("say what to recover: --before TARGET, --skip TARGET, or --until-time T")


def run_recovery(
    config: Config,
    store: IndexStore,
    prepared: PreparedRecovery,
    audit: AuditLog,
    *,
    timeout: float = 3600.0,
    interrupted: threading.Event | None = None,
    on_progress: ProgressCallback | None = None,
    on_step: StepCallback | None = None,
) -> RecoveryReport:
    """Execute the plan, record progress in the state file, verify the result."""
    plan = prepared.plan
    folder = config.folder
    record = state_file.RecoveryState(
        node=plan.node,
        description=prepared.request.description,
        command=audit.command,
        strategy=plan.strategy,
        status="running",
        step=0,
        steps=len(plan.steps),
        started_at=time.time(),
        updated_at=time.time(),
        pid=os.getpid(),
    )
    state_file.save(folder, record)
    audit.event(
        "recovery-started",
        node=plan.node,
        description=prepared.request.description,
        strategy=plan.strategy,
        plan=plan.render(),
    )

    def step_hook(number: int, step: Step) -> None:
        state_file.save(folder, record.moved(step=number, message=step.render()))
        if on_step is not None:
            on_step(number, step)

    executor = Executor(
        config,
        audit=audit,
        store=store,
        timeout=timeout,
        interrupted=interrupted,
        on_progress=on_progress,
        on_step=step_hook,
    )
    try:
        result = executor.run(plan)
    except DrkitError as exc:
        status = "interrupted" if type(exc).__name__ == "RecoveryInterrupted" else "failed"
        state_file.save(folder, record.moved(status=status, message=exc.message))
        audit.event("recovery-" + status, node=plan.node, message=exc.message)
        raise
    report = _report(config, store, prepared, result)
    state_file.save(
        folder,
        record.moved(
            status="done",
            step=len(plan.steps),
            message="verified" if report.verified else "verification failed",
        ),
    )
    audit.event("recovery-done", node=plan.node, verified=report.verified, result=report.to_json())
    return report


def _report(
    config: Config, store: IndexStore, prepared: PreparedRecovery, result: ExecutionResult
) -> RecoveryReport:
    node = prepared.facts.node
    request = prepared.request
    session = connect(node)
    try:
        facts = facts_from_session(session)
        last_segment = request.segments[-1] if request.segments else None
        verification = verify_recovery(
            session,
            facts,
            request.stop,
            last_segment.end if last_segment else None,
            request.skips,
            # Only upstream keeps the primary coordinates exact (relay mode and replay do not track them).
            check_coordinates=prepared.plan.strategy == Strategy.UPSTREAM.value,
        )
    finally:
        session.close()
    executed = facts.replica.executed_source if facts.replica else None
    return RecoveryReport(
        node=node.name,
        strategy=prepared.plan.strategy,
        description=request.description,
        stopped_at=str(executed) if executed else None,
        executed_gtid=str(facts.executed),
        applied=sum(segment.count for segment in request.segments),
        skipped=[s.gtid or f"#{s.id}" for s in request.skips],
        verification=verification,
        seconds=result.seconds,
        relay_backup=str(result.relay_backup) if result.relay_backup else None,
        log=result.log,
        mode=request.mode,
        stop_gtid=request.stop.gtid if request.stop else None,
    )


# -- resume -------------------------------------------------------------------------------------


def plan_resume(config: Config, node: NodeConfig, *, force: bool = False) -> Plan:
    """Restore the configured delay and restart replication; refused while a recovery runs."""
    current = state_file.load(config.folder)
    if current is not None and current.in_progress and not force:
        owner = "running" if current.owner_alive else f"left unfinished by pid {current.pid}"
        raise RefusedError(
            f"a recovery on {current.node} is in progress ({owner}: {current.description}, step "
            f"{current.step}/{current.steps})",
            hint="wait for it, re-run it to finish, or pass --force if you are sure",
        )
    facts = gather(node)
    if not facts.reachable or facts.replica is None or facts.version is None:
        raise RefusedError(
            f"cannot resume {node.name}: {facts.unreachable_reason or 'no replication configured'}"
        )
    primary = config.primary
    primary_facts = gather(primary, timeout=3) if primary else None
    if primary_facts is None or not primary_facts.reachable:
        raise RefusedError(
            "the primary is unreachable: resuming would reconnect to it and, in GTID mode, "
            "drop the relay logs it can no longer resend; nothing was changed",
            hint="promote or extract instead (`drkit check promotion`), or bring the primary back first",
        )
    from drkit.dialect import MariadbDialect, for_version

    d = for_version(facts.version)
    delay = node.delay or 0
    steps: list[Step] = []
    if isinstance(d, MariadbDialect):
        if facts.replica.applier_running or facts.replica.receiver_state != "No":
            steps.append(
                SqlStep(
                    node.name,
                    d.stop_replication(),
                    "MariaDB changes the delay only with both threads stopped",
                    post=(ReplicationStopped(),),
                )
            )
        steps.append(
            SqlStep(
                node.name,
                d.resume_with_gtid(delay),
                f"the configured delay ({delay}s), GTID positioning from the primary",
                post=(DelayIs(delay),),
            )
        )
    else:
        if facts.replica.applier_running:
            steps.append(
                SqlStep(
                    node.name,
                    d.stop_applier(),
                    "the delay changes with the applier stopped",
                    post=(ApplierStopped(),),
                )
            )
        steps.append(
            SqlStep(
                node.name,
                d.change_delay(delay),
                f"the configured delay ({delay}s)",
                post=(DelayIs(delay),),
            )
        )
    steps.append(SqlStep(node.name, d.start_replication(), "fetch and apply again, delayed"))
    notes: tuple[str, ...] = ()
    latest = _latest_destructive(config, facts)
    if latest is not None:
        notes = (
            f"the delayed replica will apply #{latest.id} ({latest.gtid}, "
            f"{latest.destructive.category if latest.destructive else ''}) after the delay; "
            "extract or promote first if you still need its data",
        )
    return Plan(
        title=f"Resume {node.name} with a {delay}s delay",
        node=node.name,
        steps=tuple(steps),
        notes=notes,
    )


def resume(config: Config, node: NodeConfig, audit: AuditLog, plan: Plan) -> NodeFacts:
    Executor(config, audit=audit).run(plan)
    current = state_file.load(config.folder)
    if current is not None and current.in_progress:
        state_file.save(
            config.folder, current.moved(status="abandoned", message="resumed with --force")
        )
    audit.event("resume", node=node.name, delay=node.delay)
    return gather(node)


def _latest_destructive(config: Config, facts: NodeFacts) -> IndexedTransaction | None:
    if not config.index.path.exists():
        return None
    store = IndexStore(config.index.path, readonly=True)
    try:
        found = store.latest_destructive()
        if found is None or not found.gtid:
            return None
        return found if NotApplied(found.gtid).failure(facts) is None else None
    finally:
        store.close()
