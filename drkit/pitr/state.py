"""The recovery record: what drkit was doing and towards which target, so a re-run continues it.

Targets are resolved once, when a recovery starts, and recorded here (invariant 2): re-running the
same command after an interruption continues to the recorded target, never to a newer disaster.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

STATE_NAME = "drkit-recovery.json"


class RecoveryStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    ABANDONED = "abandoned"  # resumed with --force while unfinished
    RESUMED = "resumed"  # replication restarted afterwards: the recorded target no longer applies


@dataclass(frozen=True)
class RecordedTargets:
    """The transactions a recovery was resolved to when it started (index ids and GTIDs)."""

    stop_id: int | None = None
    stop_gtid: str | None = None
    skip_ids: tuple[int, ...] = ()
    skip_gtids: tuple[str | None, ...] = ()
    through_ids: tuple[int, ...] = ()
    end_id: int | None = None  # with no stop: the last indexed transaction when it started
    until_time: float | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RecordedTargets:
        return cls(
            stop_id=data.get("stop_id"),
            stop_gtid=data.get("stop_gtid"),
            skip_ids=tuple(data.get("skip_ids") or ()),
            skip_gtids=tuple(data.get("skip_gtids") or ()),
            through_ids=tuple(data.get("through_ids") or ()),
            end_id=data.get("end_id"),
            until_time=data.get("until_time"),
        )


@dataclass(frozen=True)
class RecoveryState:
    node: str
    description: str
    command: str
    strategy: str
    status: str  # a RecoveryStatus value
    step: int
    steps: int
    started_at: float
    updated_at: float
    pid: int
    message: str = ""
    spec: dict[str, Any] = field(default_factory=dict)  # the targets as typed (RecoverySpec)
    targets: RecordedTargets | None = None
    children: tuple[int, ...] = ()  # pids of tools a step started (archive replay)
    skips_done: tuple[int, ...] = ()  # skipped transactions a run has passed (index ids)
    # The destructive transactions `drkit resume --through` named (index ids), applied on purpose
    # after the delay; None: resumed before drkit recorded them (the alarm infers it then).
    resumed_through: tuple[int, ...] | None = None

    @property
    def in_progress(self) -> bool:
        return self.status == RecoveryStatus.RUNNING

    @property
    def unfinished(self) -> bool:
        """Started and not done: a re-run of the same command continues it."""
        return self.status in (
            RecoveryStatus.RUNNING,
            RecoveryStatus.FAILED,
            RecoveryStatus.INTERRUPTED,
        )

    @property
    def continuable(self) -> bool:
        """Its recorded target still stands (nothing restarted replication since)."""
        return self.targets is not None and self.status not in (
            RecoveryStatus.ABANDONED,
            RecoveryStatus.RESUMED,
        )

    @property
    def owner_alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def moved(self, **changes: Any) -> RecoveryState:
        return replace(self, updated_at=time.time(), **changes)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def state_path(folder: Path) -> Path:
    return folder / STATE_NAME


def load(folder: Path) -> RecoveryState | None:
    try:
        data = json.loads(state_path(folder).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    try:
        targets = data.pop("targets", None)
        children = data.pop("children", ())
        skips_done = data.pop("skips_done", ())
        resumed_through = data.pop("resumed_through", None)
        return RecoveryState(
            **data,
            targets=RecordedTargets.from_json(targets) if isinstance(targets, dict) else None,
            children=tuple(int(pid) for pid in children or ()),
            skips_done=tuple(int(tx_id) for tx_id in skips_done or ()),
            resumed_through=(
                tuple(int(tx_id) for tx_id in resumed_through)
                if resumed_through is not None
                else None
            ),
        )
    except (TypeError, ValueError):
        return None


def save(folder: Path, state: RecoveryState) -> None:
    """Write atomically, readable by its owner only (it names transactions and commands)."""
    path = state_path(folder)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(state.to_json(), indent=2) + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
