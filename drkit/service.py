"""The facade the CLI and the TUI call: one method per thing an operator can ask or do."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from drkit.checks.alarm import Alarm
from drkit.config import Config, NodeConfig
from drkit.errors import DrkitError
from drkit.io.facts import gather_all
from drkit.model.facts import NodeFacts, Unreachable
from drkit.model.loadbalancer import LoadBalancerView

if TYPE_CHECKING:
    from pathlib import Path

    from drkit.asof.plan import AsofPlan
    from drkit.asof.run import AsofResult
    from drkit.checks.dropped import DroppedRows
    from drkit.checks.result import Checklist, PromotionChecklist
    from drkit.extract.merge import MergePlan, MergeReport
    from drkit.extract.plan import ExtractPlan
    from drkit.extract.run import ExtractReport
    from drkit.flashback.plan import FlashbackPlan
    from drkit.flashback.run import FlashbackReport
    from drkit.guard.state import GuardStatus
    from drkit.history import RowHistory
    from drkit.index.records import IndexedTransaction
    from drkit.index.store import Filters, IndexStore
    from drkit.io.drbd_probe import DrbdProbe
    from drkit.io.lock import LockHolder
    from drkit.pitr.inspect import InspectReport
    from drkit.pitr.recovery import FreezeReport, PreparedRecovery, RecoveryReport
    from drkit.pitr.state import RecoveryState
    from drkit.plan.executor import ProgressCallback, StepCallback
    from drkit.plan.steps import Plan
    from drkit.promote.plan import PromotionPlan
    from drkit.promote.run import PromotionReport
    from drkit.retention.plan import PrunePlan
    from drkit.retention.run import PruneReport
    from drkit.retention.schedule import PruneSchedule
    from drkit.retention.summary import ArchiveSummary


@dataclass(frozen=True)
class IndexSummary:
    """How current the index is: its size, its newest transaction, who is writing it."""

    path: str
    exists: bool
    transactions: int = 0
    latest_id: int | None = None
    latest_gtid: str | None = None
    latest_time: float | None = None
    checkpoint: str | None = None
    follower_pid: int | None = None  # an indexer or guard following the primary
    behind_bytes: int | None = None  # primary's binlog position minus the checkpoint, same file
    problem: str | None = None
    damaged: bool = False  # SQLite found the file corrupt: `problem` says where, `hint` what to do
    hint: str | None = None

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class InspectWindow:
    """From when to when the past can be seen on one delayed replica, and how."""

    node: str
    applied_at: float | None  # commit time of the last transaction it applied: `inspect` from here
    newest: float | None  # the newest indexed transaction: `inspect` up to here
    oldest: float | None  # the oldest indexed transaction: `asof`/`history` rewind back to here

    def describe(self) -> str:
        """One line: the forward and the rewinding reach (the console's dashboard shows it)."""
        from drkit.timeparse import iso

        if self.applied_at is None or self.newest is None:
            return f"{self.node}: unknown (the replica's position is not in the index)"
        forward = f"inspect {iso(self.applied_at)} .. {iso(self.newest)} (rolling forward)"
        rewind = (
            f"; asof/history {iso(self.oldest)} .. {iso(self.applied_at)} (rewinding the archive)"
            if self.oldest is not None and self.oldest < self.applied_at
            else ""
        )
        return f"{self.node}: {forward}{rewind}"

    def describe_reach(self) -> str:
        """Which command reaches which part of the past, and how, a line each (`drkit status`)."""
        if self.applied_at is None or self.newest is None:
            return self.describe()
        return f"{self.node}: " + "\n    ".join(
            f"{part['command']}: {part['from']} .. {part['to']} ({part['how']})"
            for part in self.reach()
        )

    def reach(self) -> list[dict[str, str]]:
        """The two halves of the window: forward from the replica (`inspect`), back from it
        through the archive (`asof` for a table, `history` for a row); empty when unknown."""
        from drkit.timeparse import iso

        if self.applied_at is None or self.newest is None:
            return []
        parts = [
            {
                "command": "inspect --at T",
                "from": iso(self.applied_at),
                "to": iso(self.newest),
                "how": "rolls the delayed replica forward to T, then restores its delay",
            }
        ]
        if self.oldest is not None and self.oldest < self.applied_at:
            parts.append(
                {
                    "command": "asof --table S.T --at T",
                    "from": iso(self.oldest),
                    "to": iso(self.applied_at),
                    "how": "the replica's rows rewound with the archive's row images, no "
                    "server moved; `history` for one row",
                }
            )
        return parts

    def to_json(self) -> dict[str, object]:
        return {**self.__dict__, "reach": self.reach()}


def inspect_windows(config: Config, nodes: tuple[NodeFacts, ...]) -> tuple[InspectWindow, ...]:
    """The inspectable window of every delayed node that answers (never raises)."""
    from drkit.errors import DrkitError, IndexBehind
    from drkit.index.position import last_applied
    from drkit.index.store import IndexStore

    delayed = [n for n in nodes if n.role.value == "delayed" and n.reachable]
    if not delayed or not config.index.path.exists():
        return ()
    try:
        with IndexStore(config.index.path, readonly=True) as store:
            latest, oldest = store.latest(), store.oldest()
            found = []
            for facts in delayed:
                try:
                    applied = last_applied(facts, store, latest)[0]
                except IndexBehind:
                    applied = None  # unknown: describe() says the position is not in the index
                found.append(
                    InspectWindow(
                        facts.name,
                        float(applied.timestamp) if applied else None,
                        float(latest.timestamp) if latest else None,
                        float(oldest.timestamp) if oldest else None,
                    )
                )
            return tuple(found)
    except DrkitError:
        return ()


def index_summary(config: Config, primary: NodeFacts | None, verify: float = 0.0) -> IndexSummary:
    """Read the index's state without ever failing the status command.

    With `verify` (seconds), SQLite also checks every page of the file within that time, so a
    damaged page the summary's own reads do not touch is found too.
    """
    from drkit.index.store import IndexStore, IndexStoreError
    from drkit.io.archive import holder

    path = config.index.path
    if not path.exists():
        return IndexSummary(str(path), False, problem="no index yet: run `drkit index`")
    try:
        store = IndexStore(path, readonly=True)
    except IndexStoreError as exc:
        return _index_trouble(config, exc)
    except Exception as exc:
        return IndexSummary(str(path), True, problem=str(exc))
    with store:
        try:
            latest = store.latest()
            checkpoint = store.checkpoint()
            behind = None
            if checkpoint and primary and primary.binlog and primary.binlog.file == checkpoint.file:
                behind = max(primary.binlog.pos - checkpoint.pos, 0)
            count = store.count()
            if verify > 0:
                store.verify(verify)
            return IndexSummary(
                str(path),
                True,
                count,
                latest.id if latest else None,
                latest.gtid if latest else None,
                float(latest.timestamp) if latest else None,
                str(checkpoint) if checkpoint else None,
                holder(config.index.archive_dir),
                behind,
            )
        except IndexStoreError as exc:
            return _index_trouble(config, exc)


def _index_trouble(config: Config, exc: DrkitError) -> IndexSummary:
    """The summary of an index that cannot be read: what is wrong and the way out."""
    from drkit.index.store import IndexDamagedError
    from drkit.io.archive import holder

    return IndexSummary(
        str(config.index.path),
        True,
        follower_pid=holder(config.index.archive_dir),
        problem=exc.message,
        damaged=isinstance(exc, IndexDamagedError),
        hint=exc.hint,
    )


@dataclass(frozen=True)
class StatusReport:
    """Everything `drkit status` shows, gathered at one moment."""

    nodes: tuple[NodeFacts, ...]
    gathered_at: float
    drbd: tuple[DrbdProbe, ...] = ()
    loadbalancer: LoadBalancerView | None = None
    index: IndexSummary | None = None
    guard: GuardStatus | None = None
    plan_running: LockHolder | None = None  # who holds the engine lock now
    recovery: RecoveryState | None = None  # the last recovery's record
    windows: tuple[InspectWindow, ...] = ()  # the past each delayed replica can show
    archive: ArchiveSummary | None = None  # the binlog archive: size, reach, free disk

    @property
    def login_refused(self) -> tuple[NodeFacts, ...]:
        refused = (Unreachable.AUTH, Unreachable.CONFIG)
        return tuple(n for n in self.nodes if n.unreachable_kind in refused)

    def node(self, name: str) -> NodeFacts | None:
        return next((n for n in self.nodes if n.name == name), None)

    def to_json(self) -> dict[str, object]:
        return {
            "gathered_at": self.gathered_at,
            "nodes": [node.to_json() for node in self.nodes],
            "drbd": [probe.to_json() for probe in self.drbd],
            "loadbalancer": self.loadbalancer.to_json() if self.loadbalancer else None,
            "index": self.index.to_json() if self.index else None,
            "guard": self.guard.to_json() if self.guard else None,
            "plan_running": self.plan_running.to_json() if self.plan_running else None,
            "recovery": self.recovery.to_json() if self.recovery else None,
            "inspectable": [window.to_json() for window in self.windows],
            "archive": self.archive.to_json() if self.archive else None,
        }


class Drkit:
    """drkit's operations on one configured topology."""

    def __init__(self, config: Config) -> None:
        from drkit.io.secrets import note_config

        self.config = config
        note_config(config)  # no child drkit starts inherits a password variable it names

    def status(self, timeout: float = 5.0, verify_index: float = 0.0) -> StatusReport:
        """Facts of every node, DRBD and the load balancer, gathered side by side (never raises).

        `verify_index`: seconds SQLite may spend checking the index file's pages (0: not at all).
        """
        from drkit.io import haproxy
        from drkit.io.drbd_probe import probe_all
        from drkit.io.lock import current_holder
        from drkit.pitr import state as recovery_state
        from drkit.retention.summary import archive_summary

        lb_config = self.config.loadbalancer
        with ThreadPoolExecutor(max_workers=3) as pool:
            nodes = pool.submit(gather_all, self.config.nodes.values(), timeout)
            drbd = pool.submit(probe_all, self.config.drbd)
            view = pool.submit(haproxy.view, lb_config) if lb_config else None
            facts = nodes.result()
            primary = next((n for n in facts if n.role.value == "primary"), None)
            return StatusReport(
                nodes=facts,
                gathered_at=time.time(),
                drbd=drbd.result(),
                loadbalancer=view.result() if view else None,
                index=index_summary(self.config, primary, verify_index),
                guard=self.guard_state(),
                plan_running=current_holder(self.config.folder),
                recovery=recovery_state.load(self.config.folder),
                windows=inspect_windows(self.config, facts),
                archive=archive_summary(self.config),
            )

    def alarm(self, facts: NodeFacts | None = None) -> Alarm | None:
        """Where the delayed replica stands against the newest destructive transaction: about to
        apply it, frozen before it, recovered, resumed with it named, or past it (the delay ran
        out); None when nothing destructive concerns it or it does not answer. IndexBehind when
        it applied what the index does not hold yet: where it stands is then unknown."""
        from drkit.checks.alarm import judge_alarm
        from drkit.index.position import last_applied
        from drkit.pitr import state

        delayed = self.config.delayed
        if not delayed or not self.config.index.path.exists():
            return None
        node = delayed[0]
        if facts is None:
            from drkit.io.facts import gather

            facts = gather(node)
        if not facts.reachable:
            return None
        from drkit.index.store import IndexStore

        with IndexStore(self.config.index.path, readonly=True) as store:
            applied = last_applied(facts, store, store.latest())[0]
            pending = store.first_destructive_after(applied.id if applied else None)
            past = store.latest_destructive() if pending is None and applied is not None else None
        return judge_alarm(
            node.name,
            node.delay or 0,
            pending=pending,
            applied=past,
            applier_running=bool(facts.replica and facts.replica.applier_running),
            recovery=state.load(self.config.folder),
            now=time.time(),
        )

    def dropped_rows(
        self, transactions: list[IndexedTransaction]
    ) -> dict[int, tuple[DroppedRows, ...]]:
        """The rows each DROP or TRUNCATE among `transactions` took, read on the delayed copy
        while it still holds them; unknown (with why) otherwise (never raises)."""
        from drkit.checks.dropped import DroppedRows, dropped_rows
        from drkit.index.store import IndexStore

        if not any(tx.rows_unknown for tx in transactions):
            return {}
        try:
            with IndexStore(self.config.index.path, readonly=True) as store:
                return dropped_rows(self.config, store, transactions)
        except DrkitError as exc:
            return {
                tx.id: tuple(DroppedRows(t.table, None, exc.message) for t in tx.tables)
                for tx in transactions
                if tx.rows_unknown
            }

    def guard_state(self) -> GuardStatus:
        """Whether `drkit guard` runs for this config, and what it last saw and did (never raises)."""
        from drkit.guard.state import guard_status

        return guard_status(self.config.guard_state_path)


class Operations(Drkit):
    """The changing operations, for the CLI and the TUI (each returns values, prints nothing)."""

    def __init__(self, config: Config, command: str = "drkit") -> None:
        super().__init__(config)
        from drkit.io.audit import AuditLog

        self.audit = AuditLog(config.audit_path, command=command)

    # -- index ------------------------------------------------------------------------------

    def store(self) -> IndexStore:
        """The index, read-only (callers close it)."""
        from drkit.index.store import IndexStore

        return IndexStore(self.config.index.path, readonly=True)

    def search(self, filters: Filters) -> list[IndexedTransaction]:
        with self.store() as store:
            return store.search(filters)

    # -- point-in-time --------------------------------------------------------------------------

    def delayed_node(self, name: str | None = None) -> NodeConfig:
        return self.config.require_delayed(name)

    def plan_freeze(self, node: str | None = None) -> Plan:
        from drkit.pitr import recovery

        return recovery.plan_freeze(self.config, self.delayed_node(node))

    def freeze(self, plan: Plan | None = None, node: str | None = None) -> FreezeReport:
        from drkit.pitr import recovery

        return recovery.freeze(self.config, self.delayed_node(node), self.audit, plan)

    def prepare_recovery(
        self,
        *,
        before: str | None = None,
        skips: tuple[str, ...] = (),
        until: str | None = None,
        until_time: str | None = None,
        through: tuple[str, ...] = (),
        strategy: str = "auto",
        parallel: int = 0,
        node: str | None = None,
        lock: bool = False,
    ) -> PreparedRecovery:
        """Resolve the targets (or continue the recorded ones) and plan; nothing is changed.

        With `lock`, the engine lock is taken first and kept until `run_recovery` ends (or
        `PreparedRecovery.release()`); without it, `run_recovery` plans again under the lock.
        """
        from drkit.io.lock import EngineLock
        from drkit.pitr import recovery
        from drkit.pitr.plan import Strategy
        from drkit.pitr.targets import RecoverySpec

        spec = RecoverySpec(before, tuple(skips), until, until_time, tuple(through)).validate()
        target = self.delayed_node(node)
        if lock:
            self._require(target, "a recovery")
        held = (
            EngineLock(self.config.folder, what="a recovery", command=self.audit.command).acquire()
            if lock
            else None
        )
        try:
            with self.store() as store:
                return recovery.prepare_recovery(
                    self.config,
                    store,
                    target,
                    spec,
                    strategy=Strategy(strategy),
                    parallel=parallel,
                    lock=held,
                )
        except BaseException:
            if held is not None:
                held.release()
            raise

    def run_recovery(
        self,
        prepared: PreparedRecovery,
        *,
        timeout: float = 3600.0,
        stall: float | None = None,
        interrupted: threading.Event | None = None,
        on_progress: ProgressCallback | None = None,
        on_step: StepCallback | None = None,
    ) -> RecoveryReport:
        """Run a prepared recovery under the engine lock; verified report (invariants 1-4)."""
        from drkit.pitr import recovery
        from drkit.plan.executor import DEFAULT_STALL

        with self.store() as store:
            return recovery.run_recovery(
                self.config,
                store,
                prepared,
                self.audit,
                timeout=timeout,
                stall=DEFAULT_STALL if stall is None else stall,
                interrupted=interrupted,
                on_progress=on_progress,
                on_step=on_step,
            )

    def _refuse_if_busy(self, what: str) -> None:
        from drkit.io.lock import refuse_if_busy

        refuse_if_busy(self.config.folder, what)

    def _require(self, node: NodeConfig, what: str) -> None:
        """Refuse before the first step when drkit's account surely lacks a privilege (#14)."""
        from drkit.checks.privileges import require_privileges

        require_privileges([node], ["recover"], what)

    def plan_resume(
        self,
        *,
        force: bool = False,
        node: str | None = None,
        through: tuple[str, ...] = (),
        across_gap: bool = False,
    ) -> Plan:
        self._refuse_if_busy("resume")
        from drkit.pitr import recovery

        return recovery.plan_resume(
            self.config,
            self.delayed_node(node),
            force=force,
            through=through,
            across_gap=across_gap,
        )

    def resume(self, plan: Plan, node: str | None = None) -> NodeFacts:
        from drkit.pitr import recovery

        self._require(self.delayed_node(node), "resuming")

        return recovery.resume(self.config, self.delayed_node(node), self.audit, plan)

    def recovery_state(self) -> RecoveryState | None:
        from drkit.pitr import state

        return state.load(self.config.folder)

    def audit_records(self, limit: int = 200) -> list[dict[str, object]]:
        from drkit.io.audit import read_audit

        return read_audit(self.config.audit_path, limit)

    # -- checks, promotion, extract -------------------------------------------------------------

    def check_replication(self) -> Checklist:
        """Every node's replication health, errant transactions, who applied the latest disaster."""
        from drkit.checks.evidence import gather_nodes, index_ends, last_recovery
        from drkit.checks.replication import judge_replication

        nodes = gather_nodes(self.config)
        skipped = {}
        for node in self.config.delayed:
            record = last_recovery(self.config, node.name)
            skipped[node.name] = record.skipped_ever if record else ()
        return judge_replication(
            nodes,
            destructive=index_ends(self.config)[1],
            skipped_on=skipped,
            gathered_at=time.time(),
        )

    def check_promotion(self, node: str | None = None) -> PromotionChecklist:
        """The evidence checklist for promoting the delayed replica (reads only)."""
        from drkit.promote import run

        return run.check_promotion(self.config, self.delayed_node(node))

    def prepare_promotion(self, *, force: bool = False, node: str | None = None) -> PromotionPlan:
        """Check and plan without refusing: the plan's `blocked_by` names what would refuse it."""
        self._refuse_if_busy("a promotion")
        from drkit.promote import run

        return run.prepare_promotion(self.config, self.delayed_node(node), force=force)

    def plan_promotion(self, *, force: bool = False, node: str | None = None) -> PromotionPlan:
        """The promotion plan; RefusedError when a critical check fails, unless `force`."""
        from drkit.promote import run

        plan = self.prepare_promotion(force=force, node=node)
        run.refuse_if_blocked(plan)
        return plan

    def promote(self, plan: Plan, *, on_step: StepCallback | None = None) -> PromotionReport:
        """Run a promotion plan (re-checking first); every node's fate in the report."""
        from drkit.errors import UsageError
        from drkit.promote import run
        from drkit.promote.plan import PromotionPlan

        if not isinstance(plan, PromotionPlan):
            raise UsageError("promote() takes the plan plan_promotion() returned")
        return run.promote(
            self.config, self.delayed_node(plan.node), plan, self.audit, on_step=on_step
        )

    def plan_extract(
        self, table: str, into: str | None = None, node: str | None = None
    ) -> ExtractPlan:
        """Plan copying `schema.table` from the frozen delayed replica into the primary."""
        self._refuse_if_busy("an extraction")
        from drkit.extract.run import prepare_extract

        return prepare_extract(self.config, self.delayed_node(node), table, into)

    def extract(self, plan: Plan, *, on_step: StepCallback | None = None) -> ExtractReport:
        """Run an extract plan; rows and checksums of both sides in the report."""
        from drkit.errors import UsageError
        from drkit.extract import run
        from drkit.extract.plan import ExtractPlan

        if not isinstance(plan, ExtractPlan):
            raise UsageError("extract() takes the plan plan_extract() returned")
        return run.extract(self.config, plan, self.audit, on_step=on_step)

    # -- inspection -----------------------------------------------------------------------------

    def prepare_inspect(
        self,
        at: str,
        *,
        through: tuple[str, ...] = (),
        node: str | None = None,
        lock: bool = True,
    ) -> PreparedRecovery:
        """Plan rolling the delayed replica forward to `at` (under the engine lock unless not)."""
        from drkit.io.lock import EngineLock
        from drkit.pitr.inspect import prepare_inspect

        target = self.delayed_node(node)
        if lock:
            self._require(target, "an inspection")
        held = (
            EngineLock(
                self.config.folder, what="an inspection", command=self.audit.command
            ).acquire()
            if lock
            else None
        )
        try:
            with self.store() as store:
                return prepare_inspect(self.config, store, target, at, through=through, lock=held)
        except BaseException:
            if held is not None:
                held.release()
            raise

    def inspect(
        self,
        prepared: PreparedRecovery,
        statements: tuple[str, ...],
        *,
        hold: bool = False,
        timeout: float = 3600.0,
        on_progress: ProgressCallback | None = None,
        on_step: StepCallback | None = None,
        between: Callable[[], None] | None = None,
        interrupted: threading.Event | None = None,
    ) -> InspectReport:
        """Roll forward to T, answer the queries on one read-only snapshot, restore the delay
        (`interrupted` set stops the roll-forward, the replica left frozen)."""
        from drkit.pitr.inspect import run_inspect

        with self.store() as store:
            return run_inspect(
                self.config,
                store,
                prepared,
                self.audit,
                statements,
                hold=hold,
                timeout=timeout,
                on_progress=on_progress,
                on_step=on_step,
                between=between,
                interrupted=interrupted,
            )

    def plan_asof(
        self,
        table: str,
        at: str,
        *,
        where: str | None = None,
        into: str | None = None,
        node: str | None = None,
    ) -> AsofPlan:
        """Plan one table as of a T earlier than the delayed replica (RefusedError when T is out
        of reach, the range holds DDL, a gap or images that are not FULL); nothing is read yet."""
        from drkit.asof.run import prepare_asof

        if into is not None:
            self._refuse_if_busy("asof --into")
        with self.store() as store:
            return prepare_asof(
                self.config, store, self.delayed_node(node), table, at, where=where, into=into
            )

    def asof(self, plan: AsofPlan, *, timeout: float = 3600.0) -> AsofResult:
        """The table as of the plan's T: the delayed replica's rows with the archive's row changes
        since undone, newest first (no server rewound); with --into also written and verified."""
        from drkit.asof.run import run_asof

        with self.store() as store:
            return run_asof(self.config, store, plan, self.audit, timeout=timeout)

    # -- row history, flashback ------------------------------------------------------------------

    def history(
        self, table: str, key: str, *, since: float | None = None, until: float | None = None
    ) -> RowHistory:
        """Every version of one row, oldest first, from the index and the archive (no server)."""
        from drkit.history import row_history

        with self.store() as store:
            return row_history(
                self.config,
                store,
                table,
                key,
                since=since,
                until=until,
                schema_columns=self._primary_columns,
            )

    def _primary_columns(self, table: str) -> tuple[tuple[str, str], ...] | None:
        """The primary's columns of `table` as (name, data_type), () when it has no such table;
        None when there is no primary or it does not answer (history needs no server)."""
        from drkit.dialect import rows as sql
        from drkit.io.facts import gather_with

        primary = self.config.primary
        if primary is None:
            return None
        _, found = gather_with(primary, lambda session: session.rows(sql.table_columns(table)), 3)
        if found is None:
            return None
        return tuple((str(row["name"]), str(row["data_type"])) for row in found)

    def plan_flashback(
        self,
        targets: tuple[str, ...] = (),
        *,
        table: str | None = None,
        since: float | None = None,
        until: float | None = None,
        sql_file: Path | None = None,
        on_conflict: str = "abort",
    ) -> FlashbackPlan:
        """Plan reversing the targets' row changes on the primary (RefusedError when unsafe)."""
        self._refuse_if_busy("a flashback")
        from drkit.flashback.run import prepare_flashback

        with self.store() as store:
            return prepare_flashback(
                self.config,
                store,
                targets,
                table=table,
                since=since,
                until=until,
                sql_file=sql_file,
                on_conflict=on_conflict,
            )

    def preview_flashback(self, plan: FlashbackPlan, limit: int = 20) -> tuple[list[str], bool]:
        """The plan's first reverse statements (read from the archive), and whether more follow."""
        from drkit.flashback.run import preview

        return preview(self.config, plan, limit)

    def flashback(self, plan: FlashbackPlan) -> FlashbackReport:
        """Apply a flashback plan under the engine lock and verify it (or write its file)."""
        from drkit.flashback import run

        return run.flashback(self.config, plan, self.audit)

    def plan_merge(self, table: str, node: str | None = None) -> MergePlan:
        """Plan `extract --merge`: the frozen copy's rows whose key the live table lacks."""
        self._refuse_if_busy("a merge")
        from drkit.extract.merge import prepare_merge

        return prepare_merge(self.config, self.delayed_node(node), table)

    def merge(self, plan: MergePlan, *, on_step: StepCallback | None = None) -> MergeReport:
        """Run a merge plan under the engine lock; counts and the missing-key check."""
        from drkit.extract import merge

        return merge.merge(self.config, plan, self.audit, on_step=on_step)

    # -- retention --------------------------------------------------------------------------

    def plan_prune(self) -> PrunePlan:
        """What `[retention]` would remove now and why the rest is kept (reads, changes nothing)."""
        from drkit.retention.run import plan_prune

        return plan_prune(self.config)

    def prune(
        self, shown: PrunePlan | None = None, between: Callable[[int], None] | None = None
    ) -> PruneReport:
        """Prune under the engine lock, never more than `shown`; the outcome is audited.
        `between(rows so far)` runs after each chunk of index rows is removed."""
        from drkit.retention.run import prune

        report = prune(
            self.config, shown, command=self.audit.command or "drkit prune", between=between
        )
        self.audit.event(
            "prune",
            rows_removed=report.rows_removed,
            files_removed=list(report.files_removed),
            bytes_freed=report.bytes_freed,
            kept=list(report.plan.kept),
        )
        return report

    def prune_schedule(
        self, report: Callable[[str], None], between: Callable[[int], None] | None = None
    ) -> PruneSchedule:
        """`drkit prune` every `[retention] interval`, on a thread (for `index --follow`, guard)."""
        from drkit.retention.schedule import PruneSchedule

        return PruneSchedule(
            lambda chunk_done: self.prune(between=chunk_done),
            self.config.retention.interval,
            report=report,
            between=between,
        )
