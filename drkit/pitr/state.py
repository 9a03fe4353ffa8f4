"""The recovery-in-progress file: what drkit was doing, so a killed drkit can be picked up."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

STATE_NAME = "drkit-recovery.json"


@dataclass(frozen=True)
class RecoveryState:
    node: str
    description: str
    command: str
    strategy: str
    status: str  # running | done | failed | interrupted
    step: int
    steps: int
    started_at: float
    updated_at: float
    pid: int
    message: str = ""

    @property
    def in_progress(self) -> bool:
        return self.status == "running"

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


def state_path(folder: Path) -> Path:
    return folder / STATE_NAME


def load(folder: Path) -> RecoveryState | None:
    try:
        data = json.loads(state_path(folder).read_text(encoding="utf-8"))
        return RecoveryState(**data)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError):
        return None


def save(folder: Path, state: RecoveryState) -> None:
    path = state_path(folder)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
