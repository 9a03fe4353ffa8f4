"""What a prune removes and what it keeps, decided from gathered facts in pure code.

Everything is decided as one floor: the index rows below the floor transaction and the archived
files wholly before its file go; the floor is the newest transaction older than `keep`, lowered by
every hold (a delayed replica's applied position, a recorded recovery, a running plan). A hold
that cannot be known (a node that does not answer) keeps everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drkit.render import counted, size
from drkit.timeparse import iso


@dataclass(frozen=True)
class Hold:
    """A reason to keep transactions: from `keep_from_id` on, or all of them when it is None."""

    reason: str
    keep_from_id: int | None = None

    def to_json(self) -> dict[str, object]:
        return {"reason": self.reason, "keep_from_id": self.keep_from_id}


@dataclass(frozen=True)
class ArchivedFile:
    name: str
    sequence: int
    size: int

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "size": self.size}


@dataclass(frozen=True)
class IndexSpan:
    """The index as the prune sees it: oldest, newest, and where `keep` cuts it (ids, files)."""

    oldest_id: int
    latest_id: int
    first_young_id: int | None  # the oldest transaction not older than keep; None: all are
    file_of: dict[int, int] = field(default_factory=dict)  # id -> binlog file sequence


@dataclass(frozen=True)
class PrunePlan:
    """The rows and files a prune removes, and every reason something older was kept."""

    keep: float
    cutoff: float  # transactions committed before this are older than keep
    floor_id: int | None  # rows with a lower id go; None: no row goes
    rows: int
    files: tuple[ArchivedFile, ...]
    kept: tuple[str, ...]  # why older rows or files stay, one sentence each
    holds: tuple[Hold, ...] = ()

    @property
    def empty(self) -> bool:
        return self.rows == 0 and not self.files

    @property
    def file_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def render(self) -> str:
        lines = [f"retention: keep {_duration(self.keep)} (older than {iso(self.cutoff)})"]
        if self.empty:
            lines.append("nothing to prune")
        else:
            below = f" (ids below #{self.floor_id})" if self.rows else ""
            lines.append(f"remove {counted(self.rows, 'index row')}{below}")
            lines.append(
                f"remove {counted(len(self.files), 'archived file')} ({size(self.file_bytes)})"
                + (": " + ", ".join(f.name for f in self.files) if self.files else "")
            )
        lines.extend(f"kept: {reason}" for reason in self.kept)
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        return {
            "keep_seconds": self.keep,
            "cutoff": self.cutoff,
            "floor_id": self.floor_id,
            "rows": self.rows,
            "files": [f.to_json() for f in self.files],
            "file_bytes": self.file_bytes,
            "kept": list(self.kept),
            "holds": [hold.to_json() for hold in self.holds],
        }


def decide(
    *,
    now: float,
    keep: float,
    span: IndexSpan | None,
    files: tuple[ArchivedFile, ...],
    holds: tuple[Hold, ...],
    count_below: dict[int, int] | None = None,
    writing: str | None = None,
) -> PrunePlan:
    """The prune of an index `span` and archive `files` under `holds`.

    `count_below` maps a floor id to how many rows lie below it (the caller's count); `writing`
    names the archive file a follower is writing now, if one runs.
    """
    cutoff = now - keep
    kept: list[str] = []
    if span is None:
        kept.append("the index holds no transaction: no archived file can be judged")
        return PrunePlan(keep, cutoff, None, 0, (), tuple(kept), holds)
    floor = span.latest_id
    if span.first_young_id is not None:
        floor = span.first_young_id
    else:
        kept.append(f"#{span.latest_id}, the newest indexed transaction (the next id follows it)")
    unknown = [hold.reason for hold in holds if hold.keep_from_id is None]
    if unknown:
        # Nothing is known to be unneeded: not a row, and not a file (even one older than the
        # index, which a replica far behind may still need).
        return PrunePlan(keep, cutoff, None, 0, (), (*kept, *unknown), holds)
    for hold in holds:
        if hold.keep_from_id is not None and hold.keep_from_id < floor:
            floor = max(hold.keep_from_id, span.oldest_id)
            kept.append(hold.reason)
    floor = max(floor, span.oldest_id)
    rows = (count_below or {}).get(floor, floor - span.oldest_id)
    floor_seq = span.file_of.get(floor)
    gone: list[ArchivedFile] = []
    newest = max((f.sequence for f in files), default=None)
    for item in files:
        if floor_seq is None or item.sequence >= floor_seq:
            continue
        if item.sequence == newest or item.name == writing:
            kept.append(f"{item.name}: the file being written")
            continue
        gone.append(item)
    return PrunePlan(keep, cutoff, floor if rows else None, rows, tuple(gone), tuple(kept), holds)


def narrowed(plan: PrunePlan, shown: PrunePlan) -> PrunePlan:
    """`plan` (decided again under the lock) removing nothing `shown` (confirmed) did not."""
    if shown.floor_id is None or plan.floor_id is None:
        floor = None
    else:
        floor = min(plan.floor_id, shown.floor_id)
    names = {f.name for f in shown.files}
    files = tuple(f for f in plan.files if f.name in names)
    rows = plan.rows if floor == plan.floor_id else min(plan.rows, shown.rows)
    return PrunePlan(
        plan.keep,
        plan.cutoff,
        floor if floor is not None and rows else None,
        rows if floor is not None else 0,
        files,
        plan.kept,
        plan.holds,
    )


def _duration(seconds: float) -> str:
    for unit, length in (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= length and seconds % length == 0:
            return f"{int(seconds // length)}{unit}"
    return f"{seconds:g}s"
