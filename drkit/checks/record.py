"""What drkit recorded about the last recovery on a node: the recovery state file and the audit log.

This is the evidence that the delayed replica stopped at a *verified* point: the state file says the
recovery finished, the audit log's `recovery-done` event carries the verification and the executed
GTID set it was verified at, and every recovery's list of skipped transactions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from drkit.pitr.planning.values import RecoveryMode
from drkit.pitr.state import RecoveryState

# The audit event's epoch is written a moment after the state file's start time.
_CLOCK_SLACK = 1.0


@dataclass(frozen=True)
class RecoveryRecord:
    """The last recovery on one node, as recorded (nothing here was read from a server)."""

    node: str
    status: str  # running | done | failed | interrupted | abandoned
    description: str
    message: str
    started_at: float
    updated_at: float
    verified: bool | None = None  # None: no verification recorded for this run
    executed_gtid: str | None = None  # the executed set the verification saw
    mode: RecoveryMode | None = None  # None: recorded by an older drkit, or not at all
    stop_gtid: str | None = None  # the first transaction left unapplied on purpose
    skipped: tuple[str, ...] = ()  # skipped by this recovery
    failed_checks: tuple[str, ...] = ()
    skipped_ever: tuple[str, ...] = ()  # every transaction drkit has skipped on this node

    def to_json(self) -> dict[str, object]:
        return {
            "node": self.node,
            "status": self.status,
            "description": self.description,
            "verified": self.verified,
            "executed_gtid": self.executed_gtid,
            "mode": self.mode.value if self.mode else None,
            "stop_gtid": self.stop_gtid,
            "skipped": list(self.skipped),
            "failed_checks": list(self.failed_checks),
        }


def recovery_record(
    state: RecoveryState | None, audit_newest_first: Iterable[Mapping[str, Any]], node: str
) -> RecoveryRecord | None:
    """The record of the last recovery on `node`, or None when drkit never recovered it."""
    done_events = _done_events(audit_newest_first, node)
    if state is None or state.node != node:
        return None
    record = RecoveryRecord(
        node=node,
        status=state.status,
        description=state.description,
        message=state.message,
        started_at=state.started_at,
        updated_at=state.updated_at,
        skipped_ever=skipped_ever(done_events, node),
    )
    event: Mapping[str, Any] | None = next(
        (e for e in done_events if float(e.get("epoch") or 0) >= state.started_at - _CLOCK_SLACK),
        None,
    )
    if event is None:
        return record
    result = _result(event)
    checks = result.get("verification") or []
    return replace(
        record,
        verified=bool(event.get("verified")),
        executed_gtid=_text(result.get("executed_gtid")),
        mode=RecoveryMode.read(result.get("mode")),
        stop_gtid=_text(result.get("stop_gtid")),
        skipped=tuple(g for g in result.get("skipped") or () if isinstance(g, str)),
        failed_checks=tuple(
            str(check.get("name"))
            for check in checks
            if isinstance(check, Mapping) and not check.get("ok")
        ),
    )


def skipped_ever(audit_newest_first: Iterable[Mapping[str, Any]], node: str) -> tuple[str, ...]:
    """Every transaction drkit's recoveries skipped on `node` (newest first), whatever the
    state file holds now: the node never applied them."""
    found: list[str] = []
    for done in _done_events(audit_newest_first, node):
        for gtid in _result(done).get("skipped") or ():
            if isinstance(gtid, str) and gtid not in found:
                found.append(gtid)
    return tuple(found)


def _done_events(
    audit_newest_first: Iterable[Mapping[str, Any]], node: str
) -> list[Mapping[str, Any]]:
    return [
        event
        for event in audit_newest_first
        if event.get("kind") == "recovery-done" and event.get("node") == node
    ]


def _result(event: Mapping[str, Any]) -> Mapping[str, Any]:
    result = event.get("result")
    return result if isinstance(result, Mapping) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
