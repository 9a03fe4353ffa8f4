"""The dashboard's index line for a damaged index: what is wrong and the way out."""

from __future__ import annotations

from drkit.service import IndexSummary
from tui.format import index_text


def test_a_damaged_index_says_so_and_the_way_out() -> None:
    problem = "the index /x/index.db is damaged (database disk image is malformed)"
    summary = IndexSummary("/x/index.db", True, problem=problem, damaged=True)
    assert index_text(summary, 0.0) == (
        f"INDEX DAMAGED: {problem}; way out: `drkit index --rebuild`"
    )
    unreadable = IndexSummary("/x/index.db", True, problem="cannot open the index /x/index.db: x")
    assert index_text(unreadable, 0.0) == "index /x/index.db: cannot open the index /x/index.db: x"
