"""What `drkit asof` must answer in a torture run: the model's rows of a table at T, or the
refusals the model predicts (pure code, no server)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.torture.model import Model, Row, state_of

WHERE_LIMIT = 500  # the runner's --where is "v < 500"


@dataclass(frozen=True)
class AsofCase:
    """One asof command: the table, T (an index timestamp), how the rows come back, and the
    refusals due (reason -> words the refusal must hold to name it; empty: it must answer)."""

    table: str
    at: str
    how: str  # json | where | csv | into
    refusals: dict[str, str]

    def expected(self, model: Model) -> dict[int, Row]:
        """The table at T: every transaction the delayed replica applied, committed at or
        before T (index timestamps are ISO-8601 UTC strings of one shape: they sort as text)."""
        at_t = [n for n in model.applied() if (model.log[n].timestamp or "") <= self.at]
        rows = state_of(model.log, at_t).get(self.table) or {}
        if self.how == "where":
            return {k: row for k, row in rows.items() if row[1] < WHERE_LIMIT}
        return dict(rows)


def expected_refusals(model: Model, table: str, at: str) -> dict[str, str]:
    """Why asof of `table` at `at` must be refused, each reason with the words that name it."""
    log = model.log
    reasons: dict[str, str] = {}
    if model.first_indexed >= len(log):
        return {"the index holds nothing": "the index is empty"}
    oldest = log[model.first_indexed].timestamp
    if oldest is not None and at < oldest:
        reasons["T before the oldest indexed transaction"] = "before the oldest archived"
    ahead = [
        n
        for n in range(model.frontier, model.indexed)
        if (log[n].timestamp or "") and (log[n].timestamp or "") <= at
    ]
    if ahead:
        reasons["T after the delayed replica's position"] = "rewinding cannot reach forward"
    for n in range(model.frontier):
        tx = log[n]
        if not tx.timestamp or tx.timestamp <= at or tx.index_id is None:
            continue
        touching = [e for e in tx.effects if e.table == table]
        if n in model.skipped and touching:
            reasons[f"skipped {tx.label()} touches it after T"] = f"#{tx.index_id} ({tx.gtid})"
        elif any(e.kind in ("truncate", "drop", "create") for e in touching):
            reasons[f"{tx.label()} has no row images of it"] = f"#{tx.index_id} ({tx.gtid})"
    return reasons


def rows_of_json(rows: Sequence[Sequence[object]]) -> dict[int, Row]:
    return {int(str(r[0])): (int(str(r[0])), int(str(r[1])), str(r[2])) for r in rows}


def rows_of_csv(path: Path) -> dict[int, Row]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        if header != ["id", "v", "note"]:
            raise AssertionError(f"asof --csv header {header}")
        return rows_of_json(list(reader))
