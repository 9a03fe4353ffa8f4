"""Run a plan: re-read the facts before each step, stop the moment the world differs from the plan.

The executor runs exactly the steps the dry run printed. It has no `dry_run` branch: a dry run
is simply not calling it.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from drkit.config import Config, NodeConfig
from drkit.errors import DrkitError
from drkit.index.position import last_applied_gtid
from drkit.index.store import IndexStore
from drkit.io.audit import AuditLog
from drkit.io.facts import facts_from_session
from drkit.io.mysql import Session, connect
from drkit.model.facts import NodeFacts
from drkit.model.gtid import parse_gtid
from drkit.model.replica import ReplicaStatus
from drkit.plan.conditions import Condition, failures
from drkit.plan.steps import (
    AlignGtidPosition,
    CheckStep,
    CopyTable,
    LoadBalancerStep,
    Plan,
    PreserveRelayLogs,
    ReplayArchive,
    SqlStep,
    Step,
    WaitStep,
)
from drkit.render import counted
from drkit.retry import SYSTEM_CLOCK, Clock

DEFAULT_STALL = 30.0  # seconds without progress before a catch-up is called stuck
SOURCE_LOST_GRACE = 5.0  # seconds a starved receiver with a connection error is given
POLL = 0.05  # between looks at the applier when the server cannot wait for us
SETTLE = 0.01  # between looks once the last planned transaction is applied: its stop is next
PROGRESS_EVERY = 0.5  # the longest a GTID wait lasts, so progress and Ctrl-C are seen


class PlanStopped(DrkitError):
    """A step's precondition or postcondition did not hold: nothing further was done."""


class RecoveryInterrupted(DrkitError):
    """Ctrl-C or the timeout: the applier was stopped and the replica left frozen."""


class ApplierFailed(DrkitError):
    """The applier stopped on an error (for example a transaction depending on a skipped one)."""


class CatchUpStalled(RecoveryInterrupted):
    """No transaction was applied for the stall time: the source is gone or the applier stuck."""


@dataclass(frozen=True)
class Progress:
    step: int
    steps: int
    applied: int
    remaining: int
    rate: float  # transactions per second so far
    eta: float | None
    last_gtid: str | None


@dataclass
class ExecutionResult:
    steps_done: int = 0
    applied: int = 0
    seconds: float = 0.0
    relay_backup: Path | None = None
    log: list[str] = field(default_factory=list)


ProgressCallback = Callable[[Progress], None]
StepCallback = Callable[[int, Step], None]
ChildrenCallback = Callable[[tuple[int, ...]], None]


class Executor:
    """Runs one plan against live nodes, through audited sessions."""

    def __init__(
        self,
        config: Config,
        *,
        audit: AuditLog,
        store: IndexStore | None = None,
        timeout: float = 3600.0,
        stall: float = DEFAULT_STALL,
        interrupted: threading.Event | None = None,
        on_progress: ProgressCallback | None = None,
        on_step: StepCallback | None = None,
        on_children: ChildrenCallback | None = None,
        on_done: StepCallback | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.config = config
        self.clock = clock  # what waiting for the applier reads and sleeps on (tests pretend)
        self.audit = audit
        self.store = store
        self.timeout = timeout
        self.stall = stall
        self.on_children = on_children
        self.on_done = on_done
        self._started_wall = time.time()
        self.interrupted = interrupted or threading.Event()
        self.on_progress = on_progress
        self.on_step = on_step
        self._sessions: dict[str, Session] = {}

    def run(self, plan: Plan) -> ExecutionResult:
        result = ExecutionResult()
        started = time.monotonic()
        try:
            for number, step in enumerate(plan.steps, start=1):
                if self.interrupted.is_set():
                    self._freeze(plan.node, "interrupted before step " + str(number))
                if self.on_step is not None:
                    self.on_step(number, step)
                self._run_step(number, len(plan.steps), step, result)
                result.steps_done = number
                if self.on_done is not None:
                    self.on_done(number, step)
                result.log.append(f"{number}. {step.render()}: done")
        finally:
            result.seconds = time.monotonic() - started
            self.close()
        return result

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()

    # -- steps ----------------------------------------------------------------------------------

    def _run_step(self, number: int, total: int, step: Step, result: ExecutionResult) -> None:
        if isinstance(step, SqlStep):
            self._check(number, step, step.pre, "before")
            self._session(step.node).run(step.sql)
            self._check(number, step, step.post, "after")
        elif isinstance(step, WaitStep):
            self._check(number, step, step.pre, "before")
            result.applied += self._wait(number, total, step)
        elif isinstance(step, PreserveRelayLogs):
            self._check(number, step, step.pre, "before")
            result.relay_backup = self._preserve(step)
        elif isinstance(step, CheckStep):
            self._check(number, step, step.pre, "at")
        elif isinstance(step, ReplayArchive):
            self._check(number, step, step.pre, "before")
            self._replay(step)
            self._check(number, step, step.post, "after")
            result.applied += step.transactions
        elif isinstance(step, CopyTable):
            self._check(number, step, step.pre, "before")
            problems = failures(step.source_pre, self.facts(step.source))
            if problems:
                raise PlanStopped(
                    f"before step {number} ({step.render()}): on {step.source}: "
                    f"{'; '.join(problems)}; nothing further was done"
                )
            self._copy(step)
            self._check(number, step, step.post, "after")
        elif isinstance(step, AlignGtidPosition):
            self._check(number, step, step.pre, "before")
            self._align(number, step)
        elif isinstance(step, LoadBalancerStep):
            # The load balancer has no NodeFacts: the step is verified by reading the server's
            # state back inside HaproxyClient.apply, which raises when it differs.
            self._load_balancer(step)
        else:
            raise TypeError(f"the executor does not know the step {step!r}")

    def _align(self, number: int, step: AlignGtidPosition) -> None:
        from drkit.index.position import applied_position
        from drkit.model.gtid import MariadbGtidPos
        from drkit.plan.conditions import SlavePosIs

        facts = self.facts(step.node)
        wanted = applied_position(facts, self.store) if self.store is not None else None
        if wanted is None or wanted == MariadbGtidPos.parse(facts.gtid_slave_pos_text):
            return
        from drkit.dialect import MariadbDialect

        session = self._session(step.node)
        dialect = session.dialect
        if not isinstance(dialect, MariadbDialect):
            return
        session.run(dialect.set_gtid_slave_pos(wanted))
        self._check(number, step, (SlavePosIs(str(wanted)),), "after")

    def _check(self, number: int, step: Step, conditions: tuple[Condition, ...], when: str) -> None:
        if not conditions:
            return
        facts = self.facts(step.node)
        problems = failures(conditions, facts)
        if problems:
            raise PlanStopped(
                f"{when} step {number} ({step.render()}): {'; '.join(problems)}; "
                "the world differs from the plan, so nothing further was done",
                hint="run `drkit status` and plan again (re-running the same command re-reads the facts)",
            )

    def facts(self, node: str) -> NodeFacts:
        return facts_from_session(self._session(node))

    def _session(self, node: str) -> Session:
        session = self._sessions.get(node)
        if session is not None:
            try:
                session.one(session.dialect.ping())
                return session
            except DrkitError:
                session.close()
        session = connect(self._node(node), observer=self.audit)
        self._sessions[node] = session
        return session

    def _node(self, name: str) -> NodeConfig:
        return self.config.node(name)

    # -- waiting --------------------------------------------------------------------------------

    def _wait(self, number: int, total: int, step: WaitStep) -> int:
        started = self.clock.now()
        deadline = started + self.timeout
        moved_at = started
        last_seen = ""
        while True:
            facts = self.facts(step.node)
            remaining = self._remaining(facts, step)
            if not failures(step.until, facts):
                self._report(number, total, step, step.pending, 0, started, facts)
                return step.pending
            replica = facts.replica
            if replica is None:
                raise PlanStopped(
                    f"replication on {step.node} was reset while the plan ran (a promotion?): "
                    "nothing further was done",
                    hint="run `drkit status` to see what the node is now",
                )
            if replica.last_sql_error:
                raise ApplierFailed(self._failure_text(facts, step))
            if not replica.applier_running and (
                step.expect_stopped or replica.until_condition.lower() in ("", "none")
            ):
                problems = "; ".join(failures(step.until, facts))
                raise PlanStopped(
                    f"the applier stopped before the planned point: {problems}"
                    + self._stopped_by_someone(step.node),
                    hint="run `drkit status`; the replica is stopped where it is; re-run the same "
                    "command to continue to the recorded target",
                )
            applied = max(step.pending - remaining, 0)
            self._report(number, total, step, applied, remaining, started, facts)
            if self.interrupted.is_set():
                self._freeze(step.node, "interrupted by the operator")
            now = self.clock.now()
            seen = str(facts.executed)
            if seen != last_seen:
                last_seen, moved_at = seen, now
            elif now - moved_at > self._stall_limit(replica):
                self._stalled(step, facts, remaining, now - moved_at)
            if now > deadline:
                self._freeze(
                    step.node,
                    f"still {counted(remaining, 'transaction')} to apply after "
                    f"{self.timeout:.0f}s (--timeout)",
                )
            self._pause(step, facts)

    def _stall_limit(self, replica: ReplicaStatus) -> float:
        """How long no progress is tolerated: a receiver that lost its source with everything
        it fetched applied cannot bring more, so a few seconds say enough (a blip reconnects)."""
        starved = bool(replica.last_io_error) and (
            replica.read_source is not None
            and replica.executed_source is not None
            and replica.executed_source >= replica.read_source
        )
        return min(self.stall, SOURCE_LOST_GRACE) if starved else self.stall

    def _stalled(self, step: WaitStep, facts: NodeFacts, remaining: int, idle: float) -> None:
        """Nothing applied for the stall time: say why, as far as the server tells, and freeze."""
        replica = facts.replica
        assert replica is not None
        if replica.last_io_error:
            cause = f"the receiver cannot fetch from the source ({replica.last_io_error})"
        elif replica.receiver_state != "Yes" and (
            replica.read_source is None
            or replica.executed_source is None
            or replica.executed_source >= replica.read_source
        ):
            cause = f"the receiver is {replica.receiver_state} and everything fetched is applied"
        else:
            cause = f"the applier is stuck ({replica.applier_state or 'no state'})"
        try:
            self._freeze(step.node, f"no transaction applied for {idle:.0f}s: {cause}")
        except RecoveryInterrupted as exc:
            raise CatchUpStalled(
                f"{exc.message} ({remaining} transactions left)",
                hint="if the primary is gone, re-run the same command: it continues to the "
                "recorded target from the relay logs or the archive; `--stall S` waits longer",
            ) from None

    def _stopped_by_someone(self, node: str) -> str:
        """Name whoever froze the node meanwhile (the guard, another drkit), from the audit log."""
        from drkit.io.audit import read_audit

        stop = self._session(node).dialect.stop_applier().text
        for record in read_audit(self.config.audit_path, 200):
            if float(record.get("epoch") or 0) < self._started_wall:
                break
            if record.get("pid") == os.getpid():
                continue
            if record.get("kind") in ("freeze", "guard-freeze") or (
                record.get("node") == node and record.get("statement") == stop
            ):
                who = record.get("command") or f"pid {record.get('pid')}"
                return (
                    f"; it was stopped by {who} (pid {record.get('pid')}) at {record.get('time')}"
                )
        return ""

    def _pause(self, step: WaitStep, facts: NodeFacts) -> None:
        """Give the applier time to get further before the next look.

        While the last planned transaction is unapplied, the server's own GTID wait does it: it
        returns the moment that transaction is applied, and costs neither side anything
        meanwhile (polling every few milliseconds would take CPU from the applier it waits for).
        After that only the applier's stop is left to see, which comes at once: short sleeps.
        """
        gtid = step.last_gtid
        if gtid is None:
            self.clock.sleep(POLL)
            return
        if facts.executed.contains(parse_gtid(gtid)):
            self.clock.sleep(SETTLE)
            return
        session = self._session(step.node)
        session.one(session.dialect.wait_for_gtid(gtid, PROGRESS_EVERY))

    def _remaining(self, facts: NodeFacts, step: WaitStep) -> int:
        """Transactions still to apply, counted in the index between the applied one and the stop."""
        applied_id, stop_id = self._positions(facts, step)
        if stop_id is None or applied_id is None:
            return step.pending
        return min(max(stop_id - applied_id - 1, 0), step.pending)

    def _positions(self, facts: NodeFacts, step: WaitStep) -> tuple[int | None, int | None]:
        if self.store is None:
            return None, None
        reference_gtid = step.stop_gtid or step.last_gtid
        reference = self.store.by_gtid(reference_gtid) if reference_gtid else None
        applied_gtid = last_applied_gtid(facts, reference)
        applied = self.store.by_gtid(applied_gtid) if applied_gtid else None
        stop = self.store.by_gtid(step.stop_gtid) if step.stop_gtid else None
        if stop is None and step.last_gtid:
            last = self.store.by_gtid(step.last_gtid)
            stop_id = last.id + 1 if last else None
        else:
            stop_id = stop.id if stop else None
        return (applied.id if applied else None), stop_id

    def _report(
        self,
        number: int,
        total: int,
        step: WaitStep,
        applied: int,
        remaining: int,
        started: float,
        facts: NodeFacts,
    ) -> None:
        if self.on_progress is None:
            return
        elapsed = max(self.clock.now() - started, 1e-6)
        rate = applied / elapsed
        eta = remaining / rate if rate > 0 else None
        self.on_progress(
            Progress(number, total, applied, remaining, rate, eta, str(facts.executed))
        )

    def _failure_text(self, facts: NodeFacts, step: WaitStep) -> str:
        replica = facts.replica
        assert replica is not None
        failing = ""
        if self.store is not None:
            reference = self.store.by_gtid(step.stop_gtid or step.last_gtid or "")
            applied_gtid = last_applied_gtid(facts, reference)
            applied = self.store.by_gtid(applied_gtid) if applied_gtid else None
            nxt = self.store.get(applied.id + 1) if applied else None
            if nxt is not None:
                failing = f" at #{nxt.id} ({nxt.gtid}, {' '.join(nxt.statement.split())[:80] or nxt.kind})"
        return (
            f"the applier on {step.node} failed{failing}: error {replica.last_sql_errno}: "
            f"{replica.last_sql_error}; it may depend on a skipped transaction. The replica is stopped there"
        )

    def _freeze(self, node: str, why: str) -> None:
        try:
            session = self._session(node)
            session.run(session.dialect.stop_applier())
            facts = facts_from_session(session)
            where = str(facts.executed) or "-"
        except DrkitError as exc:
            raise RecoveryInterrupted(
                f"{why}; stopping the applier failed: {exc.message}"
            ) from None
        raise RecoveryInterrupted(
            f"{why}: the applier on {node} is stopped (frozen) at {where}; nothing more was done",
            hint="re-run the same `drkit recover` to continue from there, or `drkit status` to look",
        )

    # -- files and tools ------------------------------------------------------------------------

    def _preserve(self, step: PreserveRelayLogs) -> Path:
        started = time.monotonic()
        stamp = time.strftime("%Y%m%dT%H%M%S")
        target = self.config.folder / f"drkit-relay-backup-{stamp}"
        suffix = 1
        while target.exists():  # two plans in one second (a recovery, then resume)
            suffix += 1
            target = self.config.folder / f"drkit-relay-backup-{stamp}-{suffix}"
        target.mkdir(mode=0o700, parents=True, exist_ok=False)
        copied = linked = 0
        for path in sorted(step.source.glob("relay-bin.*")):
            if path.is_file():
                linked += _keep(path, target / path.name)
                if (target / path.name).stat().st_size != path.stat().st_size:
                    raise PlanStopped(f"copying {path} aside produced a different size")
                copied += 1
        self.audit.action(
            step.node,
            f"copy relay logs {step.source} -> {target}",
            True,
            time.monotonic() - started,
            f"{copied} files ({linked} hard-linked)",
        )
        if copied == 0:
            raise PlanStopped(
                f"no relay log files found in {step.source}; nothing was changed further"
            )
        return target

    def _replay(self, step: ReplayArchive) -> None:
        from drkit.io.replay import replay_archive

        started = time.monotonic()
        node = self._node(step.node)
        try:
            replay_archive(
                node,
                self.config.index.archive_dir,
                step.files,
                step.start_pos,
                step.stop_pos,
                mariadb=self.facts(step.node).is_mariadb,
                on_started=self.on_children,
            )
        except DrkitError as exc:
            self.audit.action(
                step.node, step.render(), False, time.monotonic() - started, exc.message
            )
            raise
        self.audit.action(step.node, step.render(), True, time.monotonic() - started)

    def _copy(self, step: CopyTable) -> None:
        from drkit.io.extract import copy_table

        started = time.monotonic()
        try:
            copy_table(
                self._node(step.source),
                self._node(step.node),
                step.source_table,
                step.target_table,
                mariadb=step.mariadb,
            )
        except DrkitError as exc:
            self.audit.action(
                step.node, step.render(), False, time.monotonic() - started, exc.message
            )
            raise
        self.audit.action(step.node, step.render(), True, time.monotonic() - started)

    def _load_balancer(self, step: LoadBalancerStep) -> None:
        from drkit.io.haproxy import HaproxyClient

        lb = self.config.loadbalancer
        if lb is None:
            raise PlanStopped("the plan switches the load balancer, but none is configured")
        started = time.monotonic()
        try:
            HaproxyClient.from_config(lb).apply(step.command)
        except DrkitError as exc:
            self.audit.action(
                "haproxy", step.command.text, False, time.monotonic() - started, exc.message
            )
            raise
        self.audit.action("haproxy", step.command.text, True, time.monotonic() - started)


def _keep(source: Path, kept: Path) -> int:
    """Keep one relay log file aside: a hard link where possible (instant, no extra disk), else
    a copy. A numbered relay log is only ever appended to, and a restarted receiver starts a new
    one, so the link keeps the bytes however the server later purges it; the index and info
    files are rewritten in place, so they are always copied. Returns 1 when linked."""
    if source.suffix.lstrip(".").isdigit():
        try:
            os.link(source, kept)
            return 1
        except OSError:
            pass  # another filesystem, or not ours to link: copy
    shutil.copy2(source, kept)
    return 0
