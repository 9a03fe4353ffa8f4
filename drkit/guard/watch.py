"""The guard: follow the primary through the indexer, judge each new transaction, freeze every
delayed replica first and alert after, and keep a heartbeat in the state file.

It never recovers anything: a frozen replica waits for a human (`drkit recover`, `drkit resume`).
On start it judges what was indexed since the last transaction it judged, and the indexer's own
catch-up brings it whatever the primary wrote while it was down.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from drkit.classify import Finding, Severity
from drkit.config import Config, NodeConfig
from drkit.errors import ConfigError, DrkitError
from drkit.guard import state as state_file
from drkit.guard.findings import guard_findings
from drkit.guard.freezer import Freezer
from drkit.guard.outcome import FAILED, WINDOW_MISSED, NodeOutcome, is_history
from drkit.guard.payload import alert_payload
from drkit.guard.rules import Verdict, classify_rules, judge
from drkit.guard.state import MISSED_KEPT, GuardState
from drkit.index.indexer import Indexer
from drkit.index.records import IndexedTransaction
from drkit.index.store import Filters, IndexStore
from drkit.io import archive
from drkit.io.alerts import Alerter, check_commands
from drkit.io.audit import AuditLog

# Seconds between looks at the archive when nothing new came. benchmarks/guard_latency --sweep:
# p95 DROP-to-frozen stays under ~0.1 s from 5 to 100 ms, idle CPU falls from 7% to 1% of a core.
POLL = 0.05
HEARTBEAT = 0.5
RETRY_EVERY = 2.0
CATCH_UP_PAGE = 500
ERRORS_KEPT = 10

Report = Callable[[str], None]


@dataclass
class GuardRun:
    """What one run of the guard judged and did (for `--once` and the tests)."""

    judged: int = 0
    findings: list[dict[str, Any]] = field(default_factory=list)


class Guard:
    """Watches one configured primary on behalf of every delayed node of the config."""

    def __init__(
        self,
        config: Config,
        *,
        report: Report = lambda _: None,
        command: str = "drkit guard",
        poll: float = POLL,
    ) -> None:
        self.config = config
        self.report = report
        self.poll = poll
        self.audit = AuditLog(config.audit_path, command=command)
        self.rules = classify_rules(config)
        self.primary: NodeConfig = config.require_primary()
        self.delayed = config.delayed
        self.host = socket.gethostname()
        self.run_record = GuardRun()
        self._lock = threading.Lock()
        self._state: GuardState | None = None
        self._pending: dict[str, IndexedTransaction] = {}
        self._freezer: Freezer | None = None
        self._alerter: Alerter | None = None

    # -- entry points ---------------------------------------------------------------------------

    def preflight(self) -> None:
        """Refuse to start on a config that could only fail later (no delayed node, bad command)."""
        if not self.delayed:
            raise ConfigError(
                f'{self.config.path}: no node has role = "delayed": the guard has nothing to freeze'
            )
        check_commands(self.config.alerts)
        holder = archive.holder(self.config.index.archive_dir)
        if holder is not None and holder != os.getpid():
            raise archive.ArchiveError(
                f"pid {holder} already follows the primary into {self.config.index.archive_dir}",
                hint="the guard indexes too: stop that `drkit index --follow` (or the other guard) first",
            )

    def run(self, stop: threading.Event, *, once: bool = False) -> GuardRun:
        """Follow until `stop` is set (or, with `once`, index and judge what is there and return)."""
        self.preflight()
        previous = state_file.load(self.config.guard_state_path)
        self._start_state(previous, once)
        indexer = Indexer(self.config, report=self.report)
        self._freezer = Freezer(self.delayed, self.audit)
        self._alerter = Alerter(self.config.alerts, self.audit, self.report)
        keeper_stop = threading.Event()
        keeper = threading.Thread(
            target=self._keep, args=(keeper_stop,), name="guard-heartbeat", daemon=True
        )
        keeper.start()
        try:
            for problem in self._freezer.warm():
                self.report(
                    f"cannot reach delayed node {problem}; the guard will retry on a finding"
                )
            self._catch_up(indexer.store, previous)
            if once:
                indexer.run_once(on_new=self.on_new)
            else:
                indexer.follow(stop, on_new=self.on_new, poll=self.poll, on_state=self._on_state)
        except DrkitError as exc:
            self._error(f"stopped: {exc.message}")
            raise
        finally:
            keeper_stop.set()
            keeper.join()
            self._alerter.close()
            self._freezer.close()
            indexer.close()
            now = time.time()
            self._change(stopped_at=now, heartbeat=now, pending=tuple(self._pending))
            self.audit.event("guard-stopped", judged=self.run_record.judged)
        return self.run_record

    # -- judging --------------------------------------------------------------------------------

    def on_new(self, batch: Sequence[IndexedTransaction]) -> None:
        """The indexer's callback: judge each new transaction in order, freezing where needed."""
        for transaction in batch:
            found = len(self.run_record.findings)
            try:
                self._judge(transaction)
            except Exception as exc:  # one bad transaction must not blind the guard to the next
                self._error(f"judging #{transaction.id} failed: {type(exc).__name__}: {exc}")
                self._fallback(transaction)
            self.run_record.judged += 1
            # Saved at once after a finding, so a restart does not judge it (and page) again;
            # otherwise the heartbeat saves it within half a second.
            self._change(
                last_seen_id=transaction.id,
                last_seen_gtid=transaction.gtid,
                last_seen_at=float(transaction.timestamp),
                save=len(self.run_record.findings) > found,
            )

    def _judge(self, transaction: IndexedTransaction) -> None:
        findings = guard_findings(transaction, self.rules, self.config.index.archive_dir)
        if not findings:
            return
        verdicts = judge(findings, self.config.guard, transaction.timestamp)
        if any(v.freezes for v in verdicts):
            self._freeze(transaction, verdicts)
        else:
            self._log_only(transaction, verdicts)

    def _freeze(self, transaction: IndexedTransaction, verdicts: Sequence[Verdict]) -> None:
        assert self._freezer is not None and self._alerter is not None
        outcomes = self._freezer.freeze_all(transaction)  # first; everything else comes after
        payload = alert_payload(
            transaction,
            verdicts,
            outcomes,
            primary=f"{self.primary.name} ({self.primary.address})",
            host=self.host,
        )
        state = self._current()
        history = is_history(transaction.timestamp, state.watching_since, outcomes)
        self.audit.event(
            "guard-freeze",
            alert=payload["alert"],
            transaction=transaction.id,
            gtid=transaction.gtid,
            findings=payload["findings"],
            nodes=payload["nodes"],
            alerted=not history,
        )
        for outcome in outcomes:
            if outcome.action == FAILED:
                self._pending[outcome.node] = transaction
        self._record(transaction, verdicts, outcomes, str(payload["alert"]))
        if history:
            self.report(f"history (before the guard first started): {payload['summary']}")
        else:
            self.report(str(payload["summary"]))
            self._alerter.send(payload)

    def _log_only(self, transaction: IndexedTransaction, verdicts: Sequence[Verdict]) -> None:
        self.audit.event(
            "guard-finding",
            transaction=transaction.id,
            gtid=transaction.gtid,
            findings=[v.to_json() for v in verdicts],
            action="logged",
        )
        self._record(transaction, verdicts, (), "logged")
        reasons = "; ".join(f"{v.finding.category}: {v.excuse}" for v in verdicts)
        self.report(f"logged, not frozen: {transaction.label}: {reasons}")

    def _fallback(self, transaction: IndexedTransaction) -> None:
        """Judging failed: act on the index's own finding rather than let it through."""
        flagged = transaction.destructive
        if flagged is None:
            return
        finding = Finding(
            flagged.category,
            Severity.parse(flagged.severity),
            flagged.reason,
            tuple(t.table for t in transaction.tables),
        )
        try:
            verdicts = judge([finding], self.config.guard, transaction.timestamp)
            if any(v.freezes for v in verdicts):
                self._freeze(transaction, verdicts)
        except Exception as exc:
            self._error(f"freezing for #{transaction.id} failed: {type(exc).__name__}: {exc}")

    # -- state ----------------------------------------------------------------------------------

    def _catch_up(self, store: IndexStore, previous: GuardState | None) -> None:
        """Judge what was indexed after the last transaction the guard judged before it stopped."""
        latest = store.latest()
        after = previous.last_seen_id if previous is not None else None
        if after is not None and previous is not None and previous.last_seen_gtid:
            seen = store.get(after)
            if seen is None or seen.gtid != previous.last_seen_gtid:
                self.report(
                    f"the index no longer holds #{after} ({previous.last_seen_gtid}): it was "
                    "rebuilt; the guard starts from its end"
                )
                after = None
        if after is None:
            # First start (or a new index): what the index holds already is the past.
            self._change(
                last_seen_id=latest.id if latest else 0,
                last_seen_gtid=latest.gtid if latest else None,
                last_seen_at=float(latest.timestamp) if latest else None,
            )
            return
        while True:
            page = store.search(Filters(before_id=after, newest_first=False, limit=CATCH_UP_PAGE))
            if not page:
                break
            self.on_new(page)
            after = page[-1].id
        self._save()

    def _start_state(self, previous: GuardState | None, once: bool) -> None:
        now = time.time()
        fresh = GuardState(
            pid=os.getpid(),
            host=self.host,
            started_at=now,
            heartbeat=now,
            watching_since=now,
            config=str(self.config.path),
            once=once,
        )
        if previous is not None:
            # What it saw and did before survives a restart; where it left off drives the catch-up.
            fresh = fresh.moved(
                watching_since=previous.watching_since,
                last_seen_id=previous.last_seen_id,
                last_seen_gtid=previous.last_seen_gtid,
                last_seen_at=previous.last_seen_at,
                last_finding=previous.last_finding,
                last_action=previous.last_action,
                missed=previous.missed,
            )
        with self._lock:
            self._state = fresh
        self._save()
        self.audit.event(
            "guard-started",
            once=once,
            delayed=[n.name for n in self.delayed],
            min_severity=self.config.guard.min_severity,
            resumes_after=previous.last_seen_id if previous else None,
        )

    def _record(
        self,
        transaction: IndexedTransaction,
        verdicts: Sequence[Verdict],
        outcomes: Sequence[NodeOutcome],
        action: str,
    ) -> None:
        now = time.time()
        worst = max(verdicts, key=lambda v: (v.freezes, v.finding.severity))
        finding = {
            "id": transaction.id,
            "gtid": transaction.gtid,
            "committed_at": transaction.timestamp,
            "label": transaction.label,
            **worst.to_json(),
        }
        last_action = {
            "action": action,
            "at": now,
            "transaction": transaction.id,
            "nodes": {o.node: o.action for o in outcomes},
            "excused_by": worst.excuse,
        }
        missed = tuple(
            {"id": transaction.id, "gtid": transaction.gtid, "node": o.node, "at": now}
            for o in outcomes
            if o.action == WINDOW_MISSED
        )
        state = self._current()
        self._change(
            last_finding=finding,
            last_action=last_action,
            missed=(state.missed + missed)[-MISSED_KEPT:],
            pending=tuple(self._pending),
        )
        self.run_record.findings.append(
            {
                "transaction": transaction.to_json(),
                "findings": [v.to_json() for v in verdicts],
                "action": action,
                "nodes": [o.to_json() for o in outcomes],
            }
        )

    def _on_state(self, text: str) -> None:
        self._change(primary=text, primary_since=time.time())
        self.report(f"primary: {text}")

    def _error(self, message: str) -> None:
        self.report(message)
        # Recording an error must not raise one (a full disk fails both the audit and the state).
        with contextlib.suppress(OSError):
            self.audit.event("guard-error", message=message)
        state = self._current()
        with contextlib.suppress(OSError):
            self._change(errors=(*state.errors, message)[-ERRORS_KEPT:])

    def _keep(self, stop: threading.Event) -> None:
        """Heartbeat every half second; retry freezes that failed (an unreachable delayed node)."""
        last_retry = time.monotonic()
        while not stop.wait(HEARTBEAT):
            # A heartbeat that stops means "not running" to every reader: nothing may end this loop.
            try:
                self._change(heartbeat=time.time())
                if self._pending and time.monotonic() - last_retry >= RETRY_EVERY:
                    last_retry = time.monotonic()
                    self._retry_pending()
            except Exception as exc:
                self._error(f"heartbeat: {type(exc).__name__}: {exc}")

    def _retry_pending(self) -> None:
        assert self._freezer is not None and self._alerter is not None
        for name, transaction in list(self._pending.items()):
            node = self.config.node(name)
            outcome = self._freezer.freeze(node, transaction)
            if outcome.action == FAILED:
                continue
            self._pending.pop(name, None)
            findings = guard_findings(transaction, self.rules, self.config.index.archive_dir)
            verdicts = judge(findings, self.config.guard, transaction.timestamp)
            self.audit.event(
                "guard-freeze",
                alert="retry",
                transaction=transaction.id,
                gtid=transaction.gtid,
                nodes=[outcome.to_json()],
                alerted=True,
            )
            freezing = [v for v in verdicts if v.freezes]
            if freezing:
                payload = alert_payload(
                    transaction,
                    verdicts,
                    [outcome],
                    primary=f"{self.primary.name} ({self.primary.address})",
                    host=self.host,
                )
                self._record(transaction, verdicts, [outcome], str(payload["alert"]))
                self.report(str(payload["summary"]))
                self._alerter.send(payload)
            self._change(pending=tuple(self._pending))

    def _current(self) -> GuardState:
        with self._lock:
            assert self._state is not None
            return self._state

    def _change(self, *, save: bool = True, **changes: Any) -> None:
        with self._lock:
            assert self._state is not None
            self._state = self._state.moved(**changes)
            if save:
                state_file.save(self.config.guard_state_path, self._state)

    def _save(self) -> None:
        with self._lock:
            assert self._state is not None
            state_file.save(self.config.guard_state_path, self._state)
