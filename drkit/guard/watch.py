"""The guard: follow the primary through the indexer, judge each new transaction, freeze every
delayed replica first and alert after, and keep a heartbeat in the state file.

It never recovers anything: a frozen replica waits for a human (`drkit recover`, `drkit resume`).
On start it first retries the freezes that failed before it stopped (they are kept in the state
file), then judges what was indexed since the last transaction it judged, and the indexer's own
catch-up brings it whatever the primary wrote while it was down. On a first start (or a rebuilt
index) it judges every indexed destructive transaction a delayed node has not applied yet.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from drkit.classify import Finding, Severity
from drkit.config import Config, NodeConfig
from drkit.errors import ConfigError, DrkitError
from drkit.guard import state as state_file
from drkit.guard.findings import guard_findings, stored_findings
from drkit.guard.freezer import Freezer
from drkit.guard.outcome import FAILED, FROZEN, WINDOW_MISSED, NodeOutcome, applied, is_history
from drkit.guard.payload import alert_payload, disk_payload
from drkit.guard.record import GuardRun
from drkit.guard.rules import Verdict, classify_rules, judge
from drkit.guard.state import MISSED_KEPT, GuardState, PendingFreeze
from drkit.index.indexer import Indexer
from drkit.index.records import IndexedTransaction
from drkit.index.store import Filters, IndexStore
from drkit.io import archive
from drkit.io.alerts import Alerter, check_commands
from drkit.io.audit import AuditLog
from drkit.io.diskroom import DiskRoom
from drkit.model.facts import NodeFacts
from drkit.pitr import state as recovery_state
from drkit.pitr.state import RecoveryStatus
from drkit.render import counted
from drkit.retention.schedule import PruneSchedule

# Seconds between looks at the archive when nothing new came. benchmarks/guard_latency --sweep:
# p95 DROP-to-frozen stays under ~0.1 s from 5 to 100 ms, idle CPU falls from 7% to 1% of a core.
POLL = 0.05
HEARTBEAT = 0.5
RETRY_EVERY = 2.0
# A freeze that keeps failing pages at its first failure (and the first after each start), then
# again after these many seconds: a page per attempt every two seconds would bury the news.
ALERT_AGAIN = (60.0, 300.0, 900.0, 3600.0)
CATCH_UP_PAGE = 500
ERRORS_KEPT = 10

Report = Callable[[str], None]


@dataclass
class _Retry:
    """A pending freeze as the guard holds it: the state file's entry, its transaction and verdicts
    (None: judge every unapplied destructive transaction when the node answers), its pages."""

    freeze: PendingFreeze
    transaction: IndexedTransaction | None = None
    verdicts: tuple[Verdict, ...] = ()
    alerts: int = 0
    alerted_at: float | None = None

    def alert_due(self, now: float) -> bool:
        if self.alerted_at is None:
            return True
        return now - self.alerted_at >= ALERT_AGAIN[min(self.alerts - 1, len(ALERT_AGAIN) - 1)]


class Guard:
    """Watches one configured primary on behalf of every delayed node of the config."""

    def __init__(
        self,
        config: Config,
        *,
        report: Report = lambda _: None,
        command: str = "drkit guard",
        poll: float = POLL,
        pruner: PruneSchedule | None = None,
    ) -> None:
        self.config = config
        self.pruner = pruner  # started once following, on its own thread
        self.report = report
        self.poll = poll
        self.audit = AuditLog(config.audit_path, command=command)
        self.rules = classify_rules(config)
        self.primary: NodeConfig = config.require_primary()
        self.delayed = config.delayed
        self.host = socket.gethostname()
        self.run_record = GuardRun()
        self.alert_failures = 0  # deliveries that failed after every retry (for the metrics)
        self._lock = threading.RLock()
        self._state: GuardState | None = None
        self._pending: dict[tuple[str, int | None], _Retry] = {}
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
        # The alerter reports only deliveries that failed after every retry.
        self._alerter = Alerter(self.config.alerts, self.audit, self._alert_failed)
        keeper_stop = threading.Event()
        helpers = [
            threading.Thread(
                target=self._keep, args=(keeper_stop,), name="guard-heartbeat", daemon=True
            )
        ]
        helpers[0].start()
        try:
            for problem in self._freezer.warm():
                self.report(f"cannot reach delayed node {problem}; the guard will retry")
            after = self._resume_point(indexer.store, previous)
            self._restore_pending(indexer.store, previous, sweep=after is None)
            try:  # first: a disaster may be on its way already
                self._retry_pending(indexer.store)
            except Exception as exc:  # the retry thread tries again; the guard must not stop
                self._error(f"retrying freezes: {type(exc).__name__}: {exc}")
            if after is not None:
                self._catch_up(indexer.store, after)
            if once:
                indexer.run_once(on_new=self.on_new)
            else:
                retrier = threading.Thread(
                    target=self._retry_loop, args=(keeper_stop,), name="guard-retry", daemon=True
                )
                helpers.append(retrier)
                retrier.start()
                if self.pruner is not None:
                    self.pruner.start()
                indexer.follow(
                    stop,
                    on_new=self.on_new,
                    poll=self.poll,
                    on_state=self._on_state,
                    on_disk=self._on_disk,
                )
        except DrkitError as exc:
            self._error(f"stopped: {exc.message}")
            raise
        finally:
            keeper_stop.set()
            if self.pruner is not None:
                self.pruner.stop()
            for helper in helpers:
                helper.join()
            self._alerter.close()
            self._freezer.close()
            indexer.close()
            now = time.time()
            self._change(stopped_at=now, heartbeat=now, pending=self._pending_state())
            self.run_record.pending = [p.to_json() for p in self._current().pending]
            self.audit.event(
                "guard-stopped",
                judged=self.run_record.judged,
                pending=self.run_record.pending,
            )
        return self.run_record

    # -- judging --------------------------------------------------------------------------------

    def on_new(self, batch: Sequence[IndexedTransaction]) -> None:
        """The indexer's callback: judge each new transaction in order, freezing where needed."""
        for transaction in batch:
            found = self.run_record.findings_total
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
                save=self.run_record.findings_total > found,
            )

    def _judge(self, transaction: IndexedTransaction) -> None:
        findings = guard_findings(transaction, self.rules, self.config.guard.ignore_classes)
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
        payload = self._payload(transaction, verdicts, outcomes)
        state = self._current()
        history = is_history(transaction.timestamp, state.watching_since, outcomes)
        self.audit.event(
            "guard-freeze",
            alert=payload["alert"],
            dedup_key=payload["dedup_key"],
            transaction=transaction.id,
            gtid=transaction.gtid,
            findings=payload["findings"],
            nodes=payload["nodes"],
            alerted=not history,
        )
        for outcome in outcomes:
            if outcome.action == FAILED:
                self._hold(transaction, verdicts, outcome, alerted=not history)
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
        """Judging failed: act on the index's own findings rather than let it through."""
        findings = _indexed_findings(transaction)
        if not findings:
            return
        try:
            verdicts = judge(findings, self.config.guard, transaction.timestamp)
            if any(v.freezes for v in verdicts):
                self._freeze(transaction, verdicts)
        except Exception as exc:
            self._error(f"freezing for #{transaction.id} failed: {type(exc).__name__}: {exc}")

    # -- state ----------------------------------------------------------------------------------

    def _resume_point(self, store: IndexStore, previous: GuardState | None) -> int | None:
        """The last transaction judged before the restart; None on a first start or a new index
        (then the index's end becomes the last seen, and its past is swept for pending disasters)."""
        after = previous.last_seen_id if previous is not None else None
        if after is not None and previous is not None and previous.last_seen_gtid:
            seen = store.get(after)
            oldest = store.oldest()
            if seen is None and oldest is not None and after < oldest.id:
                # Pruned: ids stay what they were, so what is left after it is still to judge.
                self.report(
                    f"the index no longer holds #{after} ({previous.last_seen_gtid}): it was "
                    f"pruned (the index starts at #{oldest.id} now); the guard judges from there"
                )
                after = oldest.id - 1
            elif seen is None or seen.gtid != previous.last_seen_gtid:
                self.report(
                    f"the index no longer holds #{after} ({previous.last_seen_gtid}): it was "
                    "rebuilt; the guard starts from its end"
                )
                after = None
        if after is None:
            latest = store.latest()
            self._change(
                last_seen_id=latest.id if latest else 0,
                last_seen_gtid=latest.gtid if latest else None,
                last_seen_at=float(latest.timestamp) if latest else None,
            )
        return after

    def _catch_up(self, store: IndexStore, after: int) -> None:
        """Judge what was indexed after the last transaction the guard judged before it stopped."""
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
                pending=previous.pending,  # until _restore_pending has looked at them
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
            pending=[p.to_json() for p in previous.pending] if previous else [],
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
        with self._lock:  # the retry thread records too
            state = self._current()
            self._change(
                last_finding=finding,
                last_action=last_action,
                missed=(state.missed + missed)[-MISSED_KEPT:],
                pending=self._pending_state(),
            )
        entry = {
            "transaction": transaction.to_json(),
            "findings": [v.to_json() for v in verdicts],
            "action": action,
            "nodes": [o.to_json() for o in outcomes],
        }
        with self._lock:
            self.run_record.add(entry, [o.node for o in outcomes if o.action == FROZEN])

    @property
    def findings(self) -> list[dict[str, Any]]:
        """The recent findings of this run, as `--once --json` prints them."""
        with self._lock:
            return self.run_record.findings

    @property
    def finding_counts(self) -> dict[tuple[str, str], int]:
        """Findings of this run by (class, action), every one counted (for the metrics)."""
        with self._lock:
            return dict(self.run_record.by_class)

    @property
    def freeze_counts(self) -> dict[tuple[str, str], int]:
        """Nodes this run froze by (the finding's class, node) (for the metrics)."""
        with self._lock:
            return dict(self.run_record.freezes)

    def _alert_failed(self, message: str) -> None:
        self.alert_failures += 1
        self.report(message)

    def _on_state(self, text: str) -> None:
        self._change(primary=text, primary_since=time.time())
        self.report(f"primary: {text}")

    def _on_disk(self, room: DiskRoom, low: bool) -> None:
        """Alert `disk_low` when copying stopped for lack of room (and `disk_ok` when it resumes)."""
        payload = disk_payload(
            low=low,
            room=room.describe(),
            archive=str(room.folder),
            free_fraction=room.fraction,
            min_free=room.min_free,
            primary=f"{self.primary.name} ({self.primary.address})",
            host=self.host,
        )
        with contextlib.suppress(OSError):  # a full disk may refuse the audit record too
            self.audit.event(str(payload["alert"]), message=str(payload["summary"]))
        self.report(str(payload["summary"]))
        if self._alerter is not None:
            self._alerter.send(payload)

    def _error(self, message: str) -> None:
        self.report(message)
        # Recording an error must not raise one (a full disk fails both the audit and the state).
        with contextlib.suppress(OSError):
            self.audit.event("guard-error", message=message)
        with self._lock, contextlib.suppress(OSError):
            self._change(errors=(*self._current().errors, message)[-ERRORS_KEPT:])

    def _keep(self, stop: threading.Event) -> None:
        """Heartbeat every half second (retries run on their own thread: a dead node's connect
        timeout must never make the guard look dead)."""
        while not stop.wait(HEARTBEAT):
            # A heartbeat that stops means "not running" to every reader: nothing may end this loop.
            try:
                self._change(heartbeat=time.time())
            except Exception as exc:
                self._error(f"heartbeat: {type(exc).__name__}: {exc}")

    # -- pending freezes ------------------------------------------------------------------------

    def _restore_pending(self, store: IndexStore, previous: GuardState | None, sweep: bool) -> None:
        """Take back the freezes that were failing when the guard stopped; with `sweep`, also
        judge every delayed node's unapplied destructive transactions at its first answer."""
        names = {node.name for node in self.delayed}
        earlier = previous.pending if previous else ()
        for entry in earlier:
            if entry.node not in names:
                self.report(f"pending freeze on {entry.label} dropped: it is no delayed node now")
                continue
            transaction = self._pending_transaction(store, entry)
            if transaction is None:
                if entry.id is not None:
                    self.report(
                        f"pending freeze on {entry.label}: the index no longer holds it; every "
                        f"destructive transaction {entry.node} has not applied will be judged"
                    )
                sweep_entry = entry.moved(id=None, gtid=None)
                self._pending[(entry.node, None)] = _Retry(sweep_entry)
                continue
            verdicts = tuple(self._verdicts(transaction))
            if not any(v.freezes for v in verdicts):
                self.report(f"pending freeze on {entry.label} dropped: [guard] now excuses it")
                continue
            found = entry.moved(id=transaction.id, gtid=transaction.gtid)
            self._pending[(entry.node, transaction.id)] = _Retry(found, transaction, verdicts)
        if sweep:
            for node in self.delayed:
                self._pending.setdefault((node.name, None), _Retry(PendingFreeze(node.name)))
        self._change(pending=self._pending_state())
        if earlier:
            labels = "; ".join(entry.label for entry in earlier)
            self.report(f"retrying first the freezes that failed before the restart: {labels}")

    def _pending_transaction(
        self, store: IndexStore, entry: PendingFreeze
    ) -> IndexedTransaction | None:
        if entry.id is None:
            return None
        found = store.get(entry.id)
        if found is not None and (entry.gtid is None or found.gtid == entry.gtid):
            return found
        return store.by_gtid(entry.gtid) if entry.gtid else None

    def _retry_loop(self, stop: threading.Event) -> None:
        """Retry the pending freezes every RETRY_EVERY seconds while the guard runs."""
        store: IndexStore | None = None
        try:
            while not stop.wait(RETRY_EVERY):
                if not self._pending:
                    continue
                try:
                    if store is None:  # SQLite connections stay on the thread that opened them
                        store = IndexStore(self.config.index.path, readonly=True)
                    self._retry_pending(store)
                except Exception as exc:
                    self._error(f"retrying freezes: {type(exc).__name__}: {exc}")
        finally:
            if store is not None:
                store.close()

    def _retry_pending(self, store: IndexStore) -> None:
        """One attempt at every pending freeze: sweeps first (they may add freezes), then each
        transaction's, oldest first; a node that fails once is not asked again in the same pass."""
        down: dict[str, NodeOutcome] = {}
        for retry in self._retries(sweeps=True):
            failure = self._sweep(store, retry)
            if failure is not None:
                down[retry.freeze.node] = failure
                self._still_failing(retry, failure)
        for retry in self._retries(sweeps=False):
            assert retry.transaction is not None
            name = retry.freeze.node
            if self._resumed_on_purpose(retry):
                continue
            failure = down.get(name)
            if failure is not None:
                self._still_failing(retry, NodeOutcome(name, FAILED, failure.detail, at=failure.at))
                continue
            assert self._freezer is not None
            outcome = self._freezer.freeze(self.config.node(name), retry.transaction)
            if outcome.action == FAILED:
                down[name] = outcome
                self._still_failing(retry, outcome)
            else:
                self._retried(retry, outcome)
        self._change(pending=self._pending_state())

    def _resumed_on_purpose(self, retry: _Retry) -> bool:
        """Drop a pending freeze whose transaction an operator named to `drkit resume --through`
        after the freeze began failing: retrying it would stop the replica the operator has just
        started on purpose (the resume is recorded in this config's folder)."""
        transaction = retry.transaction
        assert transaction is not None
        record = recovery_state.load(self.config.folder)
        if (
            record is None
            or record.node != retry.freeze.node
            or record.status != RecoveryStatus.RESUMED
            or transaction.id not in (record.resumed_through or ())
            or record.updated_at < (retry.freeze.since or 0.0)
        ):
            return False
        with self._lock:
            self._pending.pop((retry.freeze.node, transaction.id), None)
        when = time.strftime("%H:%M:%S", time.localtime(record.updated_at))
        self.audit.event(
            "guard-freeze-dropped",
            node=retry.freeze.node,
            transaction=transaction.id,
            gtid=transaction.gtid,
            reason="named to resume",
            resumed_at=record.updated_at,
        )
        self.report(
            f"pending freeze on {retry.freeze.label} dropped: `{record.command}` named it at "
            f"{when} ({retry.freeze.attempts} failed attempts before); {retry.freeze.node} "
            "applies it on purpose"
        )
        return True

    def _retries(self, *, sweeps: bool) -> list[_Retry]:
        with self._lock:
            chosen = [r for r in self._pending.values() if (r.transaction is None) == sweeps]
        return sorted(chosen, key=lambda r: (r.freeze.id or 0, r.freeze.node))

    def _sweep(self, store: IndexStore, retry: _Retry) -> NodeOutcome | None:
        """Turn a node's sweep into a pending freeze per destructive transaction it has not
        applied yet; the failure when the node does not answer (its state is unknown)."""
        assert self._freezer is not None
        node = self.config.node(retry.freeze.node)
        facts = self._freezer.facts(node)
        if facts is None:
            return NodeOutcome(
                node.name, FAILED, "state unknown: it does not answer", at=time.time()
            )
        if facts.replica is None:
            return NodeOutcome(node.name, FAILED, "no replication configured", at=time.time())
        found = unapplied_destructive(store, facts)
        now = time.time()
        freezing = []
        with self._lock:
            self._pending.pop((node.name, None), None)
            for transaction in found:
                verdicts = tuple(self._verdicts(transaction))
                key = (node.name, transaction.id)
                if any(v.freezes for v in verdicts) and key not in self._pending:
                    entry = PendingFreeze(node.name, transaction.id, transaction.gtid, now)
                    self._pending[key] = _Retry(entry, transaction, verdicts)
                    freezing.append(transaction.label)
            self._change(pending=self._pending_state())
        if found:
            self.report(
                f"{node.name} has not applied "
                f"{counted(len(found), 'indexed destructive transaction')}; "
                f"freezing for {len(freezing)}: {'; '.join(freezing) or 'every one is excused'}"
            )
        return None

    def _hold(
        self,
        transaction: IndexedTransaction,
        verdicts: Sequence[Verdict],
        outcome: NodeOutcome,
        *,
        alerted: bool,
    ) -> None:
        """Keep a failed freeze for the retries (the caller has just alerted on it)."""
        now = time.time()
        key = (outcome.node, transaction.id)
        with self._lock:
            retry = self._pending.get(key)
            if retry is None:
                entry = PendingFreeze(outcome.node, transaction.id, transaction.gtid, now)
                retry = self._pending[key] = _Retry(entry, transaction, tuple(verdicts))
            retry.freeze = retry.freeze.moved(
                attempts=retry.freeze.attempts + 1, last_try=now, reason=outcome.detail
            )
            if alerted:
                retry.alerts += 1
                retry.alerted_at = now
            self._change(pending=self._pending_state())

    def _still_failing(self, retry: _Retry, outcome: NodeOutcome) -> None:
        now = time.time()
        with self._lock:
            retry.freeze = retry.freeze.moved(
                attempts=retry.freeze.attempts + 1, last_try=now, reason=outcome.detail
            )
            due = retry.transaction is not None and retry.alert_due(now)
            if due:
                retry.alerts += 1
                retry.alerted_at = now
        transaction = retry.transaction
        if not due or transaction is None:
            return  # a sweep has no disaster to page about yet; the state file shows it
        assert self._alerter is not None
        payload = self._payload(transaction, retry.verdicts, [outcome])
        self.audit.event(
            "guard-freeze",
            alert=payload["alert"],
            dedup_key=payload["dedup_key"],
            retry=retry.freeze.attempts,
            transaction=transaction.id,
            gtid=transaction.gtid,
            findings=payload["findings"],
            nodes=payload["nodes"],
            alerted=True,
        )
        self._record(transaction, retry.verdicts, [outcome], str(payload["alert"]))
        self.report(f"{payload['summary']} (attempt {retry.freeze.attempts}; retrying)")
        self._alerter.send(payload)

    def _retried(self, retry: _Retry, outcome: NodeOutcome) -> None:
        """A pending freeze has an answer at last: frozen, found frozen, or the window missed."""
        assert self._alerter is not None and retry.transaction is not None
        transaction = retry.transaction
        with self._lock:
            self._pending.pop((retry.freeze.node, transaction.id), None)
        payload = self._payload(transaction, retry.verdicts, [outcome])
        history = is_history(transaction.timestamp, self._current().watching_since, [outcome])
        self.audit.event(
            "guard-freeze",
            alert=payload["alert"],
            dedup_key=payload["dedup_key"],
            retry=retry.freeze.attempts,
            transaction=transaction.id,
            gtid=transaction.gtid,
            findings=payload["findings"],
            nodes=payload["nodes"],
            alerted=not history,
        )
        self._record(transaction, retry.verdicts, [outcome], str(payload["alert"]))
        if history:
            self.report(f"history (before the guard first started): {payload['summary']}")
        else:
            self.report(str(payload["summary"]))
            self._alerter.send(payload)

    def _pending_state(self) -> tuple[PendingFreeze, ...]:
        with self._lock:
            entries = [r.freeze for r in self._pending.values()]
        return tuple(sorted(entries, key=lambda p: (p.id is not None, p.id or 0, p.node)))

    def _verdicts(self, transaction: IndexedTransaction) -> list[Verdict]:
        """The verdicts on a transaction judged again (a retry); the index's finding if that fails."""
        try:
            findings = guard_findings(transaction, self.rules, self.config.guard.ignore_classes)
        except Exception as exc:
            self._error(f"judging #{transaction.id} again failed: {type(exc).__name__}: {exc}")
            findings = _indexed_findings(transaction)
        return judge(findings, self.config.guard, transaction.timestamp)

    def _payload(
        self,
        transaction: IndexedTransaction,
        verdicts: Sequence[Verdict],
        outcomes: Sequence[NodeOutcome],
    ) -> dict[str, object]:
        return alert_payload(
            transaction,
            verdicts,
            outcomes,
            primary=f"{self.primary.name} ({self.primary.address})",
            host=self.host,
        )

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


def unapplied_destructive(store: IndexStore, facts: NodeFacts) -> list[IndexedTransaction]:
    """The indexed destructive transactions a node has not applied yet, oldest first.

    Read newest first, stopping at the first one the node has applied: a replica applies the
    primary's binlog in order, so everything before that one is applied too.
    """
    found: list[IndexedTransaction] = []
    before: int | None = None
    while True:
        page = store.search(Filters(destructive=True, before_id=before, limit=CATCH_UP_PAGE))
        for transaction in page:
            if applied(facts, transaction):
                return found[::-1]
            found.append(transaction)
        if len(page) < CATCH_UP_PAGE:
            return found[::-1]
        before = page[-1].id


def _indexed_findings(transaction: IndexedTransaction) -> list[Finding]:
    """The index's own findings on a transaction as stored (each on the tables it named), when
    judging them under the guard's rules failed: still a freeze, never a silence."""
    return [
        Finding(found.category, Severity.parse(found.severity), found.reason, found.tables)
        for found in stored_findings(transaction)
    ]
