"""How far the index has got: its newest transaction and how far it trails the primary's binlog."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from drkit.errors import DrkitError
from drkit.index.records import IndexedTransaction
from drkit.model.coords import BinlogCoord


@dataclass(frozen=True)
class IndexSummary:
    """The index at one moment; `problem` says why it could not be read, if it could not."""

    path: Path
    exists: bool
    latest: IndexedTransaction | None = None
    checkpoint: BinlogCoord | None = None
    primary_at: BinlogCoord | None = None  # the primary's current binlog position, when known
    problem: str = ""

    @property
    def behind(self) -> str:
        """One phrase on the lag behind the primary, in the units the binlog allows."""
        if not self.exists:
            return "no index yet"
        if self.checkpoint is None:
            return "nothing indexed yet"
        if self.primary_at is None:
            return "primary position unknown"
        if self.checkpoint >= self.primary_at:
            return "caught up"
        if self.checkpoint.sequence == self.primary_at.sequence:
            return f"{self.primary_at.pos - self.checkpoint.pos} bytes behind"
        files = self.primary_at.sequence - self.checkpoint.sequence
        return f"{files} binlog file{'s' if files > 1 else ''} behind"

    def to_json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "exists": self.exists,
            "latest": self.latest.to_json() if self.latest else None,
            "checkpoint": str(self.checkpoint) if self.checkpoint else None,
            "primary_at": str(self.primary_at) if self.primary_at else None,
            "behind": self.behind,
            "problem": self.problem or None,
        }


def summarize(path: Path, primary_at: BinlogCoord | None) -> IndexSummary:
    """Read the index's size, newest transaction and checkpoint (never raises)."""
    from drkit.index.store import IndexStore

    if not path.exists():
        return IndexSummary(path, exists=False, primary_at=primary_at)
    try:
        store = IndexStore(path, readonly=True)
    except DrkitError as exc:
        return IndexSummary(path, exists=True, primary_at=primary_at, problem=exc.message)
    try:
        latest = store.latest()
        return IndexSummary(
            path,
            exists=True,
            latest=latest,
            checkpoint=store.checkpoint(),
            primary_at=primary_at,
        )
    except Exception as exc:  # sqlite errors of a damaged or foreign file
        return IndexSummary(path, exists=True, primary_at=primary_at, problem=str(exc))
    finally:
        store.close()
