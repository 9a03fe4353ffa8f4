"""Gaps in the index: binlogs the primary purged before drkit copied them (drkit down for days).

The indexer says exactly which files were lost, goes on from the oldest binlog the primary
still has, and records the gap here (in the index's meta table, as JSON: no schema change). A
gap lies between two index ids: every transaction up to `after_id` was indexed before it, every
later id after it. Whatever must know each transaction of a range (a recovery, which may not
apply an unnamed destructive transaction; flashback, history, asof, which read every change of
a row) refuses a range that holds a gap (exit 3), naming the gap.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from drkit.errors import RefusedError
from drkit.index.store import IndexStore

META_KEY = "gaps"


class GapInRange(RefusedError):
    """A range of transactions crosses a gap in the index: what happened inside it is unknown."""


@dataclass(frozen=True)
class Gap:
    """Binlog files lost between index ids `after_id` and `after_id + 1`."""

    after_id: int  # the last transaction indexed before the gap (0: none)
    after_gtid: str | None
    stopped_at: str  # the checkpoint when the gap was found: "file:pos"
    lost: tuple[str, ...]  # the binlog files never copied
    resumed_from: str  # the oldest binlog the primary still had
    found_at: float  # unix time

    def describe(self) -> str:
        files = _file_range(self.lost)
        after = f"#{self.after_id} ({self.after_gtid})" if self.after_id else "the first one"
        return (
            f"binlog gap: {files} purged from the primary before drkit copied "
            f"{'it' if len(self.lost) == 1 else 'them'}; the index has nothing between "
            f"transaction {after} at {self.stopped_at} and the start of {self.resumed_from}"
        )


def recorded(store: IndexStore) -> list[Gap]:
    """The gaps recorded in this index, oldest first."""
    text = store.meta(META_KEY)
    if not text:
        return []
    return [
        Gap(
            int(item["after_id"]),
            item.get("after_gtid"),
            str(item["stopped_at"]),
            tuple(item["lost"]),
            str(item["resumed_from"]),
            float(item["found_at"]),
        )
        for item in json.loads(text)
    ]


def record(store: IndexStore, gap: Gap) -> None:
    """Add a gap (once: the same gap found again by a restarted indexer is not repeated)."""
    gaps = [g for g in recorded(store) if (g.after_id, g.lost) != (gap.after_id, gap.lost)]
    gaps.append(gap)
    payload = [asdict(g) | {"lost": list(g.lost)} for g in gaps]
    store.set_meta(META_KEY, json.dumps(payload))


def gap_within(store: IndexStore, first_id: int, last_id: int) -> Gap | None:
    """The first gap between two transactions of a range: first_id <= after_id < last_id."""
    for gap in recorded(store):
        if first_id <= gap.after_id < last_id:
            return gap
    return None


def refuse_across(
    store: IndexStore, first_id: int, last_id: int, action: str, way_out: str = ""
) -> None:
    """Refuse (exit 3) when the transactions `first_id`..`last_id` cross a gap (`way_out`: a
    further choice the command offers, said after the usual hint)."""
    gap = gap_within(store, first_id, last_id)
    if gap is None:
        return
    raise GapInRange(
        f"{action} spans transactions #{first_id} to #{last_id}, across a {gap.describe()}: "
        "what happened in between is unknown to drkit; nothing was changed",
        hint=f"keep to one side of the gap (transactions up to #{gap.after_id}, or from "
        f"#{gap.after_id + 1} on); the lost transactions exist only in the primary's backups"
        + (f", {way_out}" if way_out else ""),
    )


def refuse_window(store: IndexStore, since: float | None, until: float | None, action: str) -> None:
    """Refuse (exit 3) when the transactions committed in [since, until] (unbounded where
    None) cross a gap: changes inside the gap would be missed without a word."""
    oldest, latest = store.oldest(), store.latest()
    if oldest is None or latest is None or not recorded(store):
        return
    first = oldest.id
    if since is not None:
        after = store.first_after_time(since - 1)  # committed at or after `since`
        first = after.id if after is not None else latest.id + 1
    last = latest.id
    if until is not None:
        after = store.first_after_time(until)
        last = after.id - 1 if after is not None else latest.id
    if first <= last:
        refuse_across(store, first, last, action)


def _file_range(files: tuple[str, ...]) -> str:
    if len(files) == 1:
        return files[0]
    return f"{files[0]} to {files[-1]} ({len(files)} files)"
