"""The alarm: what the delayed replica holds against the newest destructive transaction, judged.

Pure: the facade gathers the facts (the replica's applier, the index, the recovery record) and this
module says which of the states below the incident is in, so the console and `drkit status` agree.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

from drkit.index.records import IndexedTransaction
from drkit.pitr.state import RecoveryState, RecoveryStatus

# A destructive transaction the delayed replica applied is reported for this long after its commit.
MISSED_HORIZON = 24 * 3600.0


class AlarmState(StrEnum):
    RUNNING = "running"  # not applied yet, and the applier runs: it will be when the delay runs out
    FROZEN = "frozen"  # not applied yet, the applier is stopped, no recovery has finished
    RECOVERED = "recovered"  # a finished recovery stopped the replica just before it
    NAMED = "named"  # replication resumed with it named (--through): it is applied on purpose
    MISSED = "missed"  # the delay ran out: the delayed replica applied it, nobody named it


@dataclass(frozen=True)
class Alarm:
    """A destructive transaction and where the delayed replica stands against it."""

    node: str
    transaction: IndexedTransaction
    due_at: float  # unix time the delay runs out for it (the replica applies it then, or did)
    applier_running: bool
    state: AlarmState | None = None  # None: RUNNING or FROZEN, from applier_running

    @property
    def kind(self) -> AlarmState:
        if self.state is not None:
            return self.state
        return AlarmState.RUNNING if self.applier_running else AlarmState.FROZEN

    @property
    def urgent(self) -> bool:
        """Something must be done now: it is coming, or it came and nobody meant it."""
        return self.kind in (AlarmState.RUNNING, AlarmState.MISSED)

    def seconds_left(self, now: float | None = None) -> float:
        return self.due_at - (time.time() if now is None else now)

    def to_json(self) -> dict[str, object]:
        return {
            "state": self.kind.value,
            "node": self.node,
            "transaction": self.transaction.id,
            "gtid": self.transaction.gtid,
            "due_at": self.due_at,
            "applier_running": self.applier_running,
            "sentence": self.sentence(),
        }

    def sentence(self) -> str:
        """One line for `drkit status` and logs: the state, the transaction, the way forward."""
        tx = self.transaction
        finding = tx.destructive
        what = f"{finding.severity} {finding.category}" if finding else "destructive"
        named = f"#{tx.id} {tx.gtid or '-'} ({what})"
        kind = self.kind
        if kind is AlarmState.MISSED:
            return (
                f"DELAY RAN OUT: {self.node} applied {named}; it no longer holds the data before "
                "it. Way back: flashback of its row changes (`drkit flashback "
                f"{tx.id} --dry-run`), or a backup plus the binlog archive"
            )
        if kind is AlarmState.RUNNING:
            return (
                f"ALARM: {self.node} applies {named} when its delay runs out; "
                "freeze it now: `drkit freeze`"
            )
        if kind is AlarmState.FROZEN:
            return (
                f"FROZEN: {self.node} holds back {named}; "
                f"recover: `drkit recover --before {tx.id} --dry-run`"
            )
        if kind is AlarmState.RECOVERED:
            return (
                f"RECOVERED: {self.node} stopped just before {named}; next: `drkit extract "
                f"--table S.T`, `drkit check promotion`, or `drkit resume --through {tx.id}`"
            )
        return f"NAMED: replication resumed with {named} named; {self.node} applies it on purpose"


def judge_alarm(
    node: str,
    delay: float,
    *,
    pending: IndexedTransaction | None,
    applied: IndexedTransaction | None,
    applier_running: bool,
    recovery: RecoveryState | None,
    now: float,
) -> Alarm | None:
    """The alarm for `node`: `pending` is the first destructive transaction it has not applied,
    `applied` the newest destructive one it has; `recovery` the recovery record, if any."""
    if pending is not None:
        due = pending.timestamp + delay
        if _recovered_before(recovery, pending) and not applier_running:
            return Alarm(node, pending, due, applier_running, AlarmState.RECOVERED)
        if _named_on_resume(recovery, pending) and applier_running:
            return Alarm(node, pending, due, applier_running, AlarmState.NAMED)
        return Alarm(node, pending, due, applier_running)
    if applied is None or now - applied.timestamp > MISSED_HORIZON:
        return None
    if _named_on_resume(recovery, applied) or _named_in_recovery(recovery, applied):
        return None
    return Alarm(node, applied, applied.timestamp + delay, applier_running, AlarmState.MISSED)


def _recovered_before(recovery: RecoveryState | None, tx: IndexedTransaction) -> bool:
    targets = recovery.targets if recovery else None
    return (
        recovery is not None
        and targets is not None
        and recovery.status == RecoveryStatus.DONE
        and targets.stop_id == tx.id
    )


def _named_on_resume(recovery: RecoveryState | None, tx: IndexedTransaction) -> bool:
    """The last resume named `tx` (`--through`): the record says which ids it named. A record
    written before resumes recorded them: a resume after a recovery that stopped before `tx` was
    refused unless `tx` was named."""
    if recovery is None or recovery.status != RecoveryStatus.RESUMED:
        return False
    if recovery.resumed_through is not None:
        return tx.id in recovery.resumed_through
    targets = recovery.targets
    return targets is not None and (targets.stop_id == tx.id or tx.id in targets.through_ids)


def _named_in_recovery(recovery: RecoveryState | None, tx: IndexedTransaction) -> bool:
    targets = recovery.targets if recovery else None
    return targets is not None and tx.id in targets.through_ids
