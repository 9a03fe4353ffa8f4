"""Freeze, recover and resume: gather facts, build the plan, run it, verify, record the outcome."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from drkit.config import Config, NodeConfig
from drkit.errors import ConfigError, DrkitError, IndexBehind, RefusedError
from drkit.index.gaps import refuse_across
from drkit.index.position import last_applied
from drkit.index.records import IndexedTransaction
from drkit.index.store import IndexStore
from drkit.io.audit import AuditLog
from drkit.io.facts import facts_from_session, gather
from drkit.io.lock import EngineLock
from drkit.io.mysql import connect
from drkit.model.facts import NodeFacts, Unreachable
from drkit.pitr import state as state_file
from drkit.pitr.gather import (
    gather_recovery_facts,
    segments,
    settle_killed_run,
    slave_positions,
)
from drkit.pitr.plan import (
    RecoveryFacts,
    RecoveryMode,
    RecoveryRequest,
    Segment,
    Strategy,
    plan_recovery,
)
from drkit.pitr.state import RecoveryState, RecoveryStatus
from drkit.pitr.targets import (
    RecoverySpec,
    ResolvedTargets,
    describe_destructive,
    refuse_unnamed_destructive,
    resolve,
    resolve_target,
)
from drkit.pitr.verify import Verification, verify_recovery
from drkit.plan.conditions import (
    ApplierStopped,
    DelayIs,
    ReplicationStopped,
    UsesGtid,
)
from drkit.plan.executor import (
    DEFAULT_STALL,
    ExecutionResult,
    Executor,
    ProgressCallback,
    RecoveryInterrupted,
    StepCallback,
)
from drkit.plan.steps import AlignGtidPosition, Plan, PreserveRelayLogs, SqlStep, Step
from drkit.timeparse import iso

# -- freeze -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FreezeReport:
    node: str
    was_running: bool
    executed_gtid: str
    executed_at: str | None
    pending: int | None  # None: unknown, see index_behind
    first_destructive: IndexedTransaction | None
    destructive_distance: int | None  # transactions before it
    destructive_due_in: float | None  # seconds until the replica would have applied it
    index_behind: str | None = None  # the node applied what the index does not hold yet

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
            "index_behind": self.index_behind,
        }


def plan_freeze(config: Config, node: NodeConfig) -> Plan:
    """One statement: stop the applier, keep the receiver and every relay log."""
    facts = gather(node)
    if facts.unreachable_kind in (Unreachable.AUTH, Unreachable.CONFIG):
        raise ConfigError(
            f"cannot freeze {node.name}: {facts.unreachable_reason}",
            hint="fix the password, account or TLS settings in the config; nothing was changed",
        )
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
    pending: int | None = 0
    first = None
    distance = None
    due = None
    behind = None
    if config.index.path.exists():
        with IndexStore(config.index.path, readonly=True) as store:
            try:
                applied = last_applied(facts, store, store.latest())[0]
            except IndexBehind as exc:
                # Every indexed transaction is applied and what is pending is not indexed:
                # no count and no "first destructive" could be true.
                pending, behind = None, exc.message
            else:
                applied_id = applied.id if applied else None
                pending = store.span(applied_id, None)[0]
                first = store.first_destructive_after(applied_id)
                if first is not None:
                    distance = first.id - (applied_id or 0) - 1
                    due = first.timestamp + (node.delay or 0) - time.time()
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
        behind,
    )


# -- recover ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedRecovery:
    request: RecoveryRequest
    facts: RecoveryFacts
    plan: Plan
    spec: RecoverySpec = field(default_factory=RecoverySpec)
    targets: ResolvedTargets | None = None
    lock: EngineLock | None = None  # held from planning to the end of the run (CLI path)

    def release(self) -> None:
        """Give the engine lock back without running (the operator declined)."""
        if self.lock is not None:
            self.lock.release()


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
    mode: RecoveryMode | None = None  # what the evidence checks read back
    stop_gtid: str | None = None  # the first transaction left unapplied on purpose
    gtid_slave_pos: str | None = None
    using_gtid: str | None = None

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
            "gtid_slave_pos": self.gtid_slave_pos,
            "using_gtid": self.using_gtid,
            "transactions_applied": self.applied,
            "skipped": self.skipped,
            "verified": self.verified,
            "verification": [check.to_json() for check in self.verification],
            "duration": round(self.seconds, 3),
            "relay_backup": self.relay_backup,
            "mode": self.mode.value if self.mode else None,
            "stop_gtid": self.stop_gtid,
        }


def prepare_recovery(
    config: Config,
    store: IndexStore,
    node: NodeConfig,
    spec: RecoverySpec,
    *,
    strategy: Strategy = Strategy.AUTO,
    parallel: int = 0,
    lock: EngineLock | None = None,
    targets: ResolvedTargets | None = None,
) -> PreparedRecovery:
    """Resolve the targets (or take the recorded ones) and plan; no server is changed.

    With `lock` (held), the plan is made under the engine lock and keeps it until the run ends.
    With `targets`, they are taken as they are (a plan made again under the lock).
    """
    try:
        previous = state_file.load(config.folder)
        if lock is not None:
            settle_killed_run(node, previous)
        if targets is None:
            targets = resolve(store, spec, node=node.name, previous=previous, now=time.time())
        wants_relay = strategy in (Strategy.RELAY, Strategy.AUTO)
        facts = gather_recovery_facts(config, store, node, relay=False)
        refuse_unknown_primary(facts.primary)
        if wants_relay and (
            strategy is Strategy.RELAY or not (facts.primary and facts.primary.reachable)
        ):
            facts = gather_recovery_facts(config, store, node, relay=True)
        done = set(targets.continued.skips_done) if targets.continued else set()
        applied_id = facts.applied.id if facts.applied else 0
        # A skip an interrupted run of this recovery already made is behind the replica now.
        pending = tuple(s for s in targets.skips if not (s.id in done and s.id <= applied_id))
        found = segments(store, facts.applied, pending, targets.stop, targets.end)
        start, final, skip_positions, until_positions = slave_positions(
            store,
            facts.delayed,
            facts.applied if facts.applied_in_order else None,
            pending,
            targets.last_id,
            [segment.end.id for segment in found if segment.end is not None and segment.count],
        )
        request = RecoveryRequest(
            mode=targets.mode,
            stop=targets.stop,
            skips=pending,
            segments=found,
            strategy=strategy,
            parallel=parallel,
            description=targets.description,
            end=targets.end,
            until_time=targets.until_time,
            through=targets.through,
            start_position=start,
            final_position=final,
            skip_positions=skip_positions,
            until_positions=until_positions if facts.applied_in_order else (),
        )
        plan = plan_recovery(request, facts)
        refuse_unnamed_destructive(
            crossed_destructive(store, found),
            targets.through,
            node=node.name,
            action="this recovery",
        )
        # Invariant 1 cannot hold across transactions drkit never saw: refused when the lost
        # ones lie between what the replica applied and the target (or the end).
        bound = targets.stop or targets.end or store.latest()
        refuse_across(store, applied_id, bound.id if bound else applied_id, "this recovery")
        plan = replace(plan, notes=plan.notes + _target_notes(store, targets))
        return PreparedRecovery(request, facts, plan, spec, targets, lock)
    except BaseException:
        if lock is not None:
            lock.release()
        raise


def crossed_destructive(store: IndexStore, found: tuple[Segment, ...]) -> list[IndexedTransaction]:
    """Every destructive transaction the segments would apply."""
    crossed: list[IndexedTransaction] = []
    for segment in found:
        if segment.count == 0 or segment.end is None:
            continue
        after = segment.after.id if segment.after else None
        crossed += store.destructive_between(after, segment.end.id + 1)
    return crossed


def _target_notes(store: IndexStore, targets: ResolvedTargets) -> tuple[str, ...]:
    notes = []
    if targets.through:
        notes.append(
            "named with --through, so applied on purpose: "
            + "; ".join(describe_destructive(t) for t in targets.through)
        )
    previous = targets.continued
    if previous is not None:
        when = iso(previous.started_at)
        notes.append(
            f"continues the recovery started {when} ({previous.status}, step {previous.step}/"
            f"{previous.steps}) to its recorded target: {previous.description}"
        )
    last = targets.last_id
    if last is not None:
        later = store.destructive_between(last + (1 if targets.stop is None else 0), None, 20)
        later = [t for t in later if targets.stop is None or t.id != targets.stop.id]
        if later:
            notes.append(
                "not part of this recovery (left unapplied, plan for them separately): "
                + "; ".join(describe_destructive(t) for t in later[:5])
                + (f"; and {len(later) - 5} more" if len(later) > 5 else "")
            )
    return tuple(notes)


def refuse_unknown_primary(primary: NodeFacts | None) -> None:
    """Invariant 5: only a primary that does not answer is gone; a refused login is not."""
    if primary is None or primary.reachable:
        return
    kind = primary.unreachable_kind
    if kind in (Unreachable.AUTH, Unreachable.CONFIG):
        raise ConfigError(
            f"the primary {primary.name} refused drkit's login ({primary.unreachable_reason}): a "
            "refused login is not a dead primary, so no recovery strategy was chosen; nothing was changed",
            hint="fix the password, account or TLS settings in the config (`drkit status` shows every node's login)",
        )
    if kind is not Unreachable.NETWORK:
        raise RefusedError(
            f"the primary {primary.name} answered with an error ({primary.unreachable_reason}): "
            "drkit cannot tell whether it is gone, so no recovery strategy was chosen; nothing was changed",
            hint="look at the primary (`drkit status`); if it is really gone, stop its server and re-run",
        )


def run_recovery(
    config: Config,
    store: IndexStore,
    prepared: PreparedRecovery,
    audit: AuditLog,
    *,
    timeout: float = 3600.0,
    stall: float = DEFAULT_STALL,
    interrupted: threading.Event | None = None,
    on_progress: ProgressCallback | None = None,
    on_step: StepCallback | None = None,
    release: bool = True,
) -> RecoveryReport:
    """Execute the plan under the engine lock, record progress and targets, verify the result.

    A plan made without the lock (the console shows it before the operator confirms) is made
    again under it: the targets and strategy must be the same, or the run is refused. With
    `release=False` a lock the plan came with stays held (inspect queries and resumes under it).
    """
    lock = prepared.lock
    if lock is None or not lock.held:
        lock = EngineLock(config.folder, what="a recovery", command=audit.command).acquire()
        try:
            prepared = _replanned(config, store, prepared, lock)
        except BaseException:
            lock.release()
            raise
    keep = not release and lock is prepared.lock
    try:
        return _execute(
            config,
            store,
            prepared,
            audit,
            timeout=timeout,
            stall=stall,
            interrupted=interrupted,
            on_progress=on_progress,
            on_step=on_step,
        )
    except BaseException:
        lock.release()
        raise
    finally:
        if not keep:
            lock.release()


def _replanned(
    config: Config, store: IndexStore, shown: PreparedRecovery, lock: EngineLock
) -> PreparedRecovery:
    fresh = prepare_recovery(
        config,
        store,
        shown.facts.node,
        shown.spec,
        strategy=shown.request.strategy,
        parallel=shown.request.parallel,
        lock=lock,
        targets=shown.targets,
    )
    if fresh.plan.strategy != shown.plan.strategy:
        raise RefusedError(
            f"the world changed after the plan was shown: the strategy is now {fresh.plan.strategy} "
            f"({fresh.plan.strategy_reason}), not {shown.plan.strategy}; nothing was changed",
            hint="look at the new plan (`drkit recover ... --dry-run`) and confirm it again",
        )
    return fresh


def _execute(
    config: Config,
    store: IndexStore,
    prepared: PreparedRecovery,
    audit: AuditLog,
    *,
    timeout: float,
    stall: float,
    interrupted: threading.Event | None,
    on_progress: ProgressCallback | None,
    on_step: StepCallback | None,
) -> RecoveryReport:
    plan = prepared.plan
    folder = config.folder
    record = state_file.RecoveryState(
        node=plan.node,
        description=prepared.request.description,
        command=audit.command,
        strategy=plan.strategy,
        status=RecoveryStatus.RUNNING,
        step=0,
        steps=len(plan.steps),
        started_at=(
            prepared.targets.continued.started_at
            if prepared.targets and prepared.targets.continued
            else time.time()
        ),
        updated_at=time.time(),
        pid=os.getpid(),
        spec=prepared.spec.to_json(),
        targets=prepared.targets.record() if prepared.targets else None,
        skips_done=(
            prepared.targets.continued.skips_done
            if prepared.targets and prepared.targets.continued
            else ()
        ),
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
        nonlocal record
        record = record.moved(step=number, message=step.render())
        state_file.save(folder, record)
        if on_step is not None:
            on_step(number, step)

    def done_hook(number: int, step: Step) -> None:
        nonlocal record
        passed = getattr(step, "done_skips", ())
        if passed:
            record = record.moved(skips_done=tuple(dict.fromkeys((*record.skips_done, *passed))))
            state_file.save(folder, record)

    def children_hook(pids: tuple[int, ...]) -> None:
        nonlocal record
        record = record.moved(children=pids)
        state_file.save(folder, record)

    executor = Executor(
        config,
        audit=audit,
        store=store,
        timeout=timeout,
        stall=stall,
        interrupted=interrupted,
        on_progress=on_progress,
        on_step=step_hook,
        on_children=children_hook,
        on_done=done_hook,
    )
    try:
        result = executor.run(plan)
    except DrkitError as exc:
        status = (
            RecoveryStatus.INTERRUPTED
            if isinstance(exc, RecoveryInterrupted)
            else RecoveryStatus.FAILED
        )
        state_file.save(folder, record.moved(status=status, message=exc.message, children=()))
        audit.event("recovery-" + status, node=plan.node, message=exc.message)
        raise
    report = _report(config, store, prepared, result, timeout)
    state_file.save(
        folder,
        record.moved(
            status=RecoveryStatus.DONE,
            step=len(plan.steps),
            message="verified" if report.verified else "verification failed",
            children=(),
        ),
    )
    audit.event("recovery-done", node=plan.node, verified=report.verified, result=report.to_json())
    return report


def _report(
    config: Config,
    store: IndexStore,
    prepared: PreparedRecovery,
    result: ExecutionResult,
    timeout: float,
) -> RecoveryReport:
    node = prepared.facts.node
    request = prepared.request
    with connect(node) as session:
        # A LOCK TABLES elsewhere must not hold the verification for the server's default day.
        for limit in session.dialect.session_time_limits(min(timeout, 600.0)):
            session.run(limit)
        facts = facts_from_session(session)
        last_segment = request.segments[-1] if request.segments else None
        verification = verify_recovery(
            session,
            facts,
            request.stop,
            last_segment.end if last_segment else None,
            request.skips,
            check_coordinates=_coordinates_kept(prepared),
            slave_position=request.final_position,
        )
    return RecoveryReport(
        node=node.name,
        strategy=prepared.plan.strategy,
        description=request.description,
        stopped_at=_stopped_at(prepared, facts),
        executed_gtid=str(facts.executed),
        applied=sum(segment.count for segment in request.segments),
        skipped=[
            s.gtid or f"#{s.id}"
            for s in (prepared.targets.skips if prepared.targets else request.skips)
        ],
        verification=verification,
        seconds=result.seconds,
        relay_backup=str(result.relay_backup) if result.relay_backup else None,
        log=result.log,
        mode=request.mode,
        stop_gtid=request.stop.gtid if request.stop else None,
        gtid_slave_pos=facts.gtid_slave_pos_text or None,
        using_gtid=facts.replica.using_gtid if facts.replica else None,
    )


def _coordinates_kept(prepared: PreparedRecovery) -> bool:
    """Whether Exec_Master_Log_Pos is exact afterwards: only an upstream plan that stopped by a
    binlog coordinate after applying something moves it there. A GTID UNTIL stops exactly by
    GTID (the GTID verifications check that) while the coordinate trails past events that are
    not transactions; with nothing applied it still shows what a relay recovery or an archive
    replay left in it."""
    last = prepared.request.segments[-1] if prepared.request.segments else None
    return (
        prepared.plan.strategy == Strategy.UPSTREAM.value
        and not prepared.request.until_positions
        and last is not None
        and last.count > 0
    )


def _stopped_at(prepared: PreparedRecovery, facts: NodeFacts) -> str | None:
    """Where the replica stopped, in the coordinates the server keeps for this strategy.

    Only upstream moves the primary coordinates (Exec_Master_Log_Pos); after a relay recovery
    the relay position is the true one, and an archive replay moves neither.
    """
    replica = facts.replica
    strategy = prepared.plan.strategy
    if strategy == Strategy.UPSTREAM.value:
        executed = replica.executed_source if replica else None
        return str(executed) if executed else None
    if strategy == Strategy.RELAY.value:
        return f"relay log {replica.relay}" if replica and replica.relay else None
    last = next((s.end for s in reversed(prepared.request.segments) if s.end), None)
    return (
        f"after #{last.id} {last.gtid} at {last.end} (replayed from the archive)" if last else None
    )


# -- resume -------------------------------------------------------------------------------------


def plan_resume(
    config: Config,
    node: NodeConfig,
    *,
    force: bool = False,
    through: tuple[str, ...] = (),
    across_gap: bool = False,
) -> Plan:
    """Restore the configured delay and restart replication; refused while a recovery runs, when
    the replica would go on to apply a destructive transaction nobody named (invariant 1), and
    when a binlog gap lies ahead of it unless `across_gap` (the lost transactions were never
    judged)."""
    current = state_file.load(config.folder)
    if current is not None and current.in_progress and not force:
        owner = "running" if current.owner_alive else f"left unfinished by pid {current.pid}"
        raise RefusedError(
            f"a recovery on {current.node} is in progress ({owner}: {current.description}, step "
            f"{current.step}/{current.steps})",
            hint="wait for it, re-run it to finish, or pass --force if you are sure",
        )
    facts = gather(node)
    if facts.unreachable_kind in (Unreachable.AUTH, Unreachable.CONFIG):
        raise ConfigError(
            f"{node.name} refused drkit's login: {facts.unreachable_reason}",
            hint="nothing was changed; fix the password, account or TLS settings in the config",
        )
    if not facts.reachable or facts.replica is None or facts.version is None:
        raise RefusedError(
            f"cannot resume {node.name}: {facts.unreachable_reason or 'no replication configured'}"
        )
    primary = config.primary
    primary_facts = gather(primary, timeout=3) if primary else None
    refuse_unknown_primary(primary_facts)
    if primary_facts is None or not primary_facts.reachable:
        raise RefusedError(
            "the primary is unreachable: resuming would reconnect to it and, in GTID mode, "
            "drop the relay logs it can no longer resend; nothing was changed",
            hint="promote or extract instead (`drkit check promotion`), or bring the primary back first",
        )
    from drkit.dialect import MariadbDialect, for_version

    pending, named = _resume_evidence(config, facts, through, across_gap)
    refuse_unnamed_destructive(pending, named, node=node.name, action="resuming replication")
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
        relay_dir = _readable_relay_dir(node)
        if relay_dir is not None:
            steps.append(PreserveRelayLogs(node.name, relay_dir, pre=(ReplicationStopped(),)))
        steps.append(
            AlignGtidPosition(
                node.name,
                "the GTID position must be what the replica applied: fetching resumes right after it",
                pre=(ReplicationStopped(),),
            )
        )
        steps.append(
            SqlStep(
                node.name,
                d.resume_with_gtid(delay),
                f"the configured delay ({delay}s), GTID positioning from the primary",
                post=(DelayIs(delay), UsesGtid()),
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
    applied_on_purpose = tuple(t for t in named if t.id in {p.id for p in pending})
    notes = tuple(
        f"named with --through: the replica will apply {describe_destructive(t)} after the delay"
        for t in applied_on_purpose
    )
    return ResumePlan(
        title=f"Resume {node.name} with a {delay}s delay",
        node=node.name,
        steps=tuple(steps),
        notes=notes,
        named=tuple(t.id for t in applied_on_purpose),
    )


@dataclass(frozen=True)
class ResumePlan(Plan):
    """A resume plan, and the destructive transactions it applies because they were named."""

    named: tuple[int, ...] = ()


def resume(
    config: Config,
    node: NodeConfig,
    audit: AuditLog,
    plan: Plan,
    *,
    lock: EngineLock | None = None,
) -> NodeFacts:
    """Run a resume plan under the engine lock (`lock`: one this process already holds)."""
    held = lock is not None and lock.held
    guard = (
        contextlib.nullcontext()
        if held
        else EngineLock(config.folder, what="resume", command=audit.command)
    )
    with guard:
        if config.index.path.exists():
            with IndexStore(config.index.path, readonly=True) as store:
                Executor(config, audit=audit, store=store).run(plan)
        else:
            Executor(config, audit=audit).run(plan)
        named = plan.named if isinstance(plan, ResumePlan) else None
        current = state_file.load(config.folder)
        if current is not None:
            status = RecoveryStatus.ABANDONED if current.unfinished else RecoveryStatus.RESUMED
            message = "resumed with --force" if current.unfinished else "replication resumed"
            state_file.save(
                config.folder,
                current.moved(status=status, message=message, resumed_through=named),
            )
        elif named:
            # No recovery before it (a freeze, then resume): the record still says what was named,
            # so the alarm says NAMED, not ALARM, while the replica applies it on purpose.
            state_file.save(config.folder, _resume_record(node, audit, named))
        audit.event("resume", node=node.name, delay=node.delay, through=list(named or ()))
    return gather(node)


def _resume_record(node: NodeConfig, audit: AuditLog, named: tuple[int, ...]) -> RecoveryState:
    now = time.time()
    return RecoveryState(
        node=node.name,
        description=f"resume with {', '.join(f'#{i}' for i in named)} named",
        command=audit.command or "drkit resume",
        strategy="",
        status=RecoveryStatus.RESUMED.value,
        step=0,
        steps=0,
        started_at=now,
        updated_at=now,
        pid=os.getpid(),
        message="replication resumed",
        resumed_through=named,
    )


def _resume_evidence(
    config: Config, facts: NodeFacts, through: tuple[str, ...], across_gap: bool = False
) -> tuple[list[IndexedTransaction], tuple[IndexedTransaction, ...]]:
    """The destructive transactions resuming would apply, and the ones named; IndexBehind (a
    refusal) when the replica applied what the index does not hold: what follows is unknown;
    GapInRange when a binlog gap lies ahead (unless `across_gap`)."""
    if not config.index.path.exists():
        return [], ()
    with IndexStore(config.index.path, readonly=True) as store:
        named = tuple(resolve_target(store, text) for text in through)
        latest = store.latest()
        applied = last_applied(facts, store, latest)[0]
        if not across_gap and latest is not None:
            refuse_across(
                store,
                applied.id if applied else 0,
                latest.id,
                "resuming replication",
                way_out="or pass --across-gap to let the replica apply them unjudged",
            )
        return store.destructive_between(applied.id if applied else None, None), named


def _readable_relay_dir(node: NodeConfig) -> Path | None:
    from drkit.pitr.gather import readable_relay_dir

    return readable_relay_dir(node.relay_log_dir)
