"""The index summary the console shows: its newest transaction and its lag behind the primary."""

from __future__ import annotations

from pathlib import Path

import pytest

from drkit.index.store import IndexStore, NewTransaction
from drkit.index.summary import IndexSummary, summarize
from drkit.model.coords import BinlogCoord


def at(text: str) -> BinlogCoord:
    return BinlogCoord.parse(text)


@pytest.mark.parametrize(
    ("checkpoint", "primary", "behind"),
    [
        (None, "bin.000003:400", "nothing indexed yet"),
        ("bin.000003:400", None, "primary position unknown"),
        ("bin.000003:400", "bin.000003:400", "caught up"),
        ("bin.000003:400", "bin.000003:1400", "1000 bytes behind"),
        ("bin.000003:400", "bin.000004:120", "1 binlog file behind"),
        ("bin.000003:400", "bin.000006:120", "3 binlog files behind"),
    ],
)
def test_behind(checkpoint: str | None, primary: str | None, behind: str) -> None:
    summary = IndexSummary(
        Path("index.db"),
        exists=True,
        checkpoint=at(checkpoint) if checkpoint else None,
        primary_at=at(primary) if primary else None,
    )
    assert summary.behind == behind


def test_no_index_file_is_said_not_raised(tmp_path: Path) -> None:
    summary = summarize(tmp_path / "index.db", at("bin.000001:4"))
    assert not summary.exists
    assert summary.behind == "no index yet"
    assert summary.to_json()["latest"] is None


def test_summary_of_a_real_index(tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    store = IndexStore(path)
    records = [
        NewTransaction(
            f"0-1-{n}",
            "bin.000001",
            100 * n,
            100 * n + 90,
            1_700_000_000 + n,
            1,
            "dml",
            (),
            f"INSERT {n}",
            None,
        )
        for n in range(1, 4)
    ]
    store.append(records, at("bin.000001:390"))
    store.close()
    summary = summarize(path, at("bin.000001:500"))
    assert summary.latest is not None and summary.latest.gtid == "0-1-3"
    assert summary.checkpoint == at("bin.000001:390")
    assert summary.behind == "110 bytes behind"
    assert summary.problem == ""


def test_an_unreadable_index_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    path.write_bytes(b"not a database at all" * 100)
    summary = summarize(path, None)
    assert summary.exists and summary.problem
    assert summary.latest is None
