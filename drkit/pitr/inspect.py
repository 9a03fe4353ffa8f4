"""`drkit inspect`: the database as it was at time T, read on the delayed replica.

One plan under one engine lock: roll the delayed replica forward to T through the recovery
engine (so every rule of recovery holds: nothing destructive crossed unless named, targets
recorded, exact GTID positions), answer the queries on a read-only session that sees one
consistent snapshot, then put the delay back, or hold the replica at T.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from drkit.config import Config, NodeConfig
from drkit.dialect.sql import read
from drkit.errors import DestructiveInRange, RefusedError, TimeNotReachable, UsageError
from drkit.index.store import IndexStore
from drkit.io.audit import AuditLog
from drkit.io.mysql import connect
from drkit.pitr import recovery
from drkit.pitr import state as state_file
from drkit.pitr.plan import Strategy
from drkit.pitr.recovery import PreparedRecovery, RecoveryReport
from drkit.pitr.targets import RecoverySpec
from drkit.plan.executor import ProgressCallback, StepCallback
from drkit.plan.steps import Plan

MAX_ROWS = 100_000  # per statement: an inspection is a look, not an export of a whole table


@dataclass(frozen=True)
class QueryResult:
    statement: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    seconds: float
    truncated: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "statement": self.statement,
            "columns": list(self.columns),
            "rows": [list(row) for row in self.rows],
            "seconds": round(self.seconds, 4),
            "truncated": self.truncated,
        }


@dataclass
class InspectReport:
    node: str
    at: float
    recovery: RecoveryReport
    results: list[QueryResult] = field(default_factory=list)
    held: bool = False
    held_reason: str = ""
    resumed: bool = False
    seconds_to_answer: float = 0.0
    seconds: float = 0.0

    def to_json(self) -> dict[str, object]:
        from drkit.timeparse import iso

        return {
            "node": self.node,
            "at": iso(self.at),
            "stopped_before": self.recovery.stop_gtid,
            "executed_gtid": self.recovery.executed_gtid or None,
            "verified": self.recovery.verified,
            "results": [result.to_json() for result in self.results],
            "held": self.held,
            "held_reason": self.held_reason or None,
            "resumed": self.resumed,
            "seconds_to_answer": round(self.seconds_to_answer, 3),
            "seconds": round(self.seconds, 3),
        }


def split_statements(text: str) -> list[str]:
    """SQL text as statements (sqlparse knows quotes and comments); empty ones dropped."""
    single = text.strip().rstrip(";").strip()
    if ";" not in single:
        return [single] if single else []  # one statement: no parser needed (~0.15 s saved)
    import sqlparse

    found = [s.strip().rstrip(";").strip() for s in sqlparse.split(text)]
    return [s for s in found if s]


def prepare_inspect(
    config: Config,
    store: IndexStore,
    node: NodeConfig,
    at: str,
    *,
    through: tuple[str, ...] = (),
    lock: Any = None,
) -> PreparedRecovery:
    """The roll-forward to T, planned (under `lock` when given); refusals name the window."""
    try:
        return recovery.prepare_recovery(
            config,
            store,
            node,
            RecoverySpec(until_time=at, through=through),
            strategy=Strategy.AUTO,
            lock=lock,
        )
    except TimeNotReachable as exc:
        raise RefusedError(exc.message, hint=inspectable_window(store, exc.applied_at)) from None


def inspectable_window(store: IndexStore, applied_at: float | None) -> str:
    """Which past can be seen, and how: forward from the replica, backward from the archive."""
    from drkit.timeparse import iso

    latest, oldest = store.latest(), store.oldest()
    forward = (
        f"rolling forward reaches {iso(applied_at)} .. {iso(latest.timestamp)}"
        if applied_at is not None and latest is not None
        else "rolling forward reaches only what the replica has not applied yet"
    )
    rewind = (
        f"; before that, back to {iso(oldest.timestamp)}, a table can be rewound from the "
        "archive's row images (`drkit asof`) or one row's history read (`drkit history`)"
        if oldest is not None
        else "; earlier states: a backup plus the archive"
    )
    return forward + rewind


def run_inspect(
    config: Config,
    store: IndexStore,
    prepared: PreparedRecovery,
    audit: AuditLog,
    statements: Sequence[str],
    *,
    hold: bool = False,
    timeout: float = 3600.0,
    stall: float | None = None,
    on_progress: ProgressCallback | None = None,
    on_step: StepCallback | None = None,
    between: Callable[[], None] | None = None,
    interrupted: threading.Event | None = None,
) -> InspectReport:
    """Roll forward, query, and restore the delay (or hold): all under the plan's lock.

    `between` runs after the roll-forward, before the delay is restored (the interactive shell);
    `interrupted` set during the roll-forward stops it there, the replica left frozen.
    """
    from drkit.plan.executor import DEFAULT_STALL

    started = time.monotonic()
    lock = prepared.lock
    if lock is None or not lock.held:
        raise UsageError("inspect runs only a plan prepared under the engine lock")
    node = prepared.facts.node
    was_frozen = bool(prepared.facts.delayed.replica) and not (
        prepared.facts.delayed.replica.applier_running  # type: ignore[union-attr]
    )
    try:
        report = recovery.run_recovery(
            config,
            store,
            prepared,
            audit,
            timeout=timeout,
            stall=DEFAULT_STALL if stall is None else stall,
            on_progress=on_progress,
            on_step=on_step,
            interrupted=interrupted,
            release=False,
        )
        until = prepared.request.until_time
        assert until is not None
        result = InspectReport(node.name, until, report)
        if not report.verified:
            failed = "; ".join(f"{c.name}: {c.detail}" for c in report.verification if not c.ok)
            raise RefusedError(
                f"the roll-forward to {node.name} did not verify ({failed}): no query was run",
                hint="`drkit status`; the replica is left frozen where it stopped",
            )
        result.results = query_snapshot(node, statements, timeout, audit)
        result.seconds_to_answer = time.monotonic() - started
        if between is not None:
            between()
        _restore(config, node, audit, prepared, result, hold=hold, was_frozen=was_frozen)
        result.seconds = time.monotonic() - started
        return result
    finally:
        lock.release()


def query_snapshot(
    node: NodeConfig, statements: Sequence[str], timeout: float, audit: AuditLog | None = None
) -> list[QueryResult]:
    """Every statement on one read-only session, one consistent snapshot for all of them."""
    with connect(node, observer=audit) as session:
        d = session.dialect
        for limit in d.session_time_limits(min(timeout, 600.0)):
            session.run(limit)
        for sql in d.read_only_snapshot():
            session.run(sql)
        results = []
        for text in statements:
            begun = time.monotonic()
            columns, rows = session.table(read(text))
            results.append(
                QueryResult(
                    text,
                    columns,
                    tuple(rows[:MAX_ROWS]),
                    time.monotonic() - begun,
                    truncated=len(rows) > MAX_ROWS,
                )
            )
        session.run(d.end_snapshot())
        return results


def _restore(
    config: Config,
    node: NodeConfig,
    audit: AuditLog,
    prepared: PreparedRecovery,
    result: InspectReport,
    *,
    hold: bool,
    was_frozen: bool,
) -> None:
    """Put the delay back unless told to hold, or unless that would be unsafe or unwanted."""
    if hold:
        result.held, result.held_reason = True, "--hold: kept at T until `drkit resume`"
    elif was_frozen:
        result.held, result.held_reason = (
            True,
            "it was frozen before the inspection: left frozen (at T) as it was found",
        )
    else:
        try:
            plan: Plan = recovery.plan_resume(config, node)
        except DestructiveInRange as exc:
            result.held, result.held_reason = (
                True,
                f"kept at T: restarting it would apply what nobody named ({exc.message})",
            )
        except RefusedError as exc:
            result.held, result.held_reason = True, f"kept at T: {exc.message}"
        else:
            recovery.resume(config, node, audit, plan, lock=prepared.lock)
            result.resumed = True
    if result.held:
        current = state_file.load(config.folder)
        if current is not None:
            state_file.save(
                config.folder, current.moved(message=f"held by inspect: {result.held_reason}")
            )
