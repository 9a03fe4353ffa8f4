"""Gaps recorded in the index: kept once, found exactly between their two ids, and every range
that crosses one refused with the lost files named."""

from __future__ import annotations

from pathlib import Path

import pytest

from drkit.errors import ExitCode
from drkit.index import gaps
from drkit.index.store import IndexStore
from drkit.model.coords import BinlogCoord
from tests.unit.test_index_store import T0, tx

GAP = gaps.Gap(
    after_id=3,
    after_gtid="0-1-3",
    stopped_at="bin.000001:304",
    lost=("bin.000001", "bin.000002", "bin.000003"),
    resumed_from="bin.000004",
    found_at=T0,
)


@pytest.fixture
def store(tmp_path: Path) -> IndexStore:
    made = IndexStore(tmp_path / "index.db")
    made.append([tx(n) for n in range(1, 4)], BinlogCoord("bin.000001", 304))
    gaps.record(made, GAP)
    # After the gap: transactions 4 to 6 from the primary's oldest binlog (ids 4 to 6).
    made.append([tx(n, file="bin.000004") for n in range(4, 7)], BinlogCoord("bin.000004", 604))
    return made


def test_a_gap_is_recorded_once(store: IndexStore) -> None:
    gaps.record(store, GAP)  # a restarted indexer finding it again
    assert gaps.recorded(store) == [GAP]


@pytest.mark.parametrize(
    ("first", "last", "crosses"),
    [(1, 3, False), (4, 6, False), (3, 4, True), (1, 6, True), (3, 3, False), (0, 4, True)],
)
def test_a_range_crosses_a_gap_only_when_it_holds_both_sides(
    store: IndexStore, first: int, last: int, crosses: bool
) -> None:
    assert (gaps.gap_within(store, first, last) is not None) is crosses


def test_a_refusal_names_the_lost_files_and_both_sides(store: IndexStore) -> None:
    with pytest.raises(gaps.GapInRange) as refused:
        gaps.refuse_across(store, 2, 5, "this flashback")
    assert refused.value.exit_code is ExitCode.REFUSED
    message = refused.value.message
    assert "this flashback spans transactions #2 to #5" in message
    assert "bin.000001 to bin.000003 (3 files) purged from the primary" in message
    assert "#3 (0-1-3) at bin.000001:304 and the start of bin.000004" in message
    assert "up to #3, or from #4 on" in (refused.value.hint or "")


def test_a_time_window_is_refused_only_across_the_gap(store: IndexStore) -> None:
    # tx(n) commits at T0 + 60 (n - 1): #3 at T0 + 120, #4 at T0 + 180.
    gaps.refuse_window(store, T0 + 180, None, "history")  # from #4 on: after the gap
    gaps.refuse_window(store, None, T0 + 120, "history")  # up to #3: before it
    with pytest.raises(gaps.GapInRange):
        gaps.refuse_window(store, T0 + 120, T0 + 180, "history")
    with pytest.raises(gaps.GapInRange):
        gaps.refuse_window(store, None, None, "history")
