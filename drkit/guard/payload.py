"""The alert the guard sends: one JSON object for pagers, chat tools and webhooks (pure)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence

from drkit.guard.outcome import FAILED, WINDOW_MISSED, NodeOutcome
from drkit.guard.rules import Verdict
from drkit.index.records import IndexedTransaction

STATEMENT_LIMIT = 1000

FROZEN_ALERT = "frozen"
MISSED_ALERT = "window_missed"
FAILED_ALERT = "freeze_failed"
DISK_LOW_ALERT = "disk_low"
DISK_OK_ALERT = "disk_ok"


def alert_payload(
    transaction: IndexedTransaction,
    verdicts: Sequence[Verdict],
    outcomes: Sequence[NodeOutcome],
    *,
    primary: str,
    host: str,
    now: float | None = None,
) -> dict[str, object]:
    """What happened, to which transaction, on which delayed node, and what to do next."""
    now = time.time() if now is None else now
    freezing = [v for v in verdicts if v.freezes]
    worst = max((v.finding for v in freezing), key=lambda f: f.severity)
    missed = [o for o in outcomes if o.action == WINDOW_MISSED]
    failed = [o for o in outcomes if o.action == FAILED]
    kind = MISSED_ALERT if missed else FAILED_ALERT if failed else FROZEN_ALERT
    record = transaction.to_json()
    statement = str(record.get("statement") or "")
    if len(statement) > STATEMENT_LIMIT:
        record["statement"] = statement[: STATEMENT_LIMIT - 1] + "…"
    return {
        "source": "drkit guard",
        "alert": kind,
        "dedup_key": incident_key(transaction),
        "severity": "window_missed" if missed else worst.severity.label,
        "summary": _summary(kind, transaction, worst.category, worst.severity.label, outcomes),
        "host": host,
        "primary": primary,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "transaction": record,
        "findings": [v.to_json() for v in verdicts],
        "nodes": [o.to_json() for o in outcomes],
        "next": _next(transaction, outcomes),
    }


def incident_key(transaction: IndexedTransaction) -> str:
    """The same key for the same disaster from every guard of a topology, whatever host it runs
    on and whatever id its own index gave the transaction: built from what the primary's binlog
    says of it (server id, GTID, file and position, commit second), which each guard's archive
    copies byte for byte. A second page about it (frozen after freeze_failed, the other guard's)
    carries the same key, so a pager can fold them into one incident."""
    what = "|".join(
        str(part)
        for part in (
            transaction.server_id,
            transaction.gtid or "",
            transaction.file,
            transaction.start_pos,
            transaction.timestamp,
        )
    )
    return "drkit-" + hashlib.sha256(what.encode()).hexdigest()[:32]


def _target(transaction: IndexedTransaction) -> str:
    """How a command names the transaction: its GTID means the same in every guard's index."""
    return transaction.gtid or str(transaction.id)


def disk_payload(
    *,
    low: bool,
    room: str,
    archive: str,
    free_fraction: float | None,
    min_free: float,
    primary: str,
    host: str,
    now: float | None = None,
) -> dict[str, object]:
    """The archive's filesystem fell below `min_free` (copying stopped), or has room again."""
    now = time.time() if now is None else now
    if low:
        summary = (
            f"drkit guard: DISK LOW on {host}: {room}; copying {primary}'s binlogs stopped, "
            "so the index and the freezes fall behind"
        )
        next_step = (
            "free space on the archive's filesystem or run `drkit prune`; copying resumes by itself"
        )
    else:
        summary = f"drkit guard: disk room again on {host}: {room}; copying resumed"
        next_step = "nothing: the guard catches up with the primary"
    return {
        "source": "drkit guard",
        "alert": DISK_LOW_ALERT if low else DISK_OK_ALERT,
        # One key per host and archive: the disk_ok alert resolves that host's disk_low.
        "dedup_key": "drkit-disk-" + hashlib.sha256(f"{host}|{archive}".encode()).hexdigest()[:26],
        "severity": "critical" if low else "info",
        "summary": summary,
        "host": host,
        "primary": primary,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "archive": archive,
        "free_fraction": free_fraction,
        "min_free": min_free,
        "next": next_step,
    }


def _summary(
    kind: str,
    transaction: IndexedTransaction,
    category: str,
    severity: str,
    outcomes: Sequence[NodeOutcome],
) -> str:
    what = f"{severity} {category} in {transaction.label}"
    parts = []
    for action, verb in (
        ("frozen", "froze"),
        ("already_frozen", "found already frozen"),
        (WINDOW_MISSED, "WINDOW MISSED on"),
        (FAILED, "COULD NOT FREEZE"),
    ):
        names = [o.node for o in outcomes if o.action == action]
        if names:
            parts.append(f"{verb} {', '.join(names)}")
    prefix = "drkit guard: " + "; ".join(parts)
    if kind == MISSED_ALERT:
        return f"{prefix}: a delayed replica has already applied {what}"
    return f"{prefix}: {what}"


def _next(transaction: IndexedTransaction, outcomes: Sequence[NodeOutcome]) -> str:
    if any(o.safe for o in outcomes):
        return (
            f"drkit recover --before {_target(transaction)} --dry-run  (then extract or promote; "
            "`drkit resume` when done)"
        )
    if any(o.action == FAILED for o in outcomes):
        return "freeze the delayed replica by hand now: drkit freeze"
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(transaction.timestamp))
    backup = (
        f"restore from a backup taken before {when} and replay drkit's binlog archive up to "
        f"{transaction.file}:{transaction.start_pos} (mariadb-binlog "
        f"--stop-position={transaction.start_pos})"
    )
    gone = f"no delayed replica holds the data from before #{transaction.id} ({transaction.gtid or transaction.start})"
    if any(t.deletes or t.updates for t in transaction.tables):
        return (
            f"{gone}: `drkit flashback {_target(transaction)} --dry-run` reverses its row changes from "
            f"the archive's row images; or {backup}"
        )
    return f"{gone}: {backup}"
