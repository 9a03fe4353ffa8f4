"""`[retention]` and `drkit prune` without a server: the floor decided from holds (pure), then a
prune of a real index file and archive folder, rows and files checked on disk."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from drkit import config as config_module
from drkit.config import Config, NodeConfig, Role
from drkit.errors import ConfigError, RefusedError
from drkit.index.store import IndexStore, NewTransaction
from drkit.io.lock import engine_lock
from drkit.model.coords import BinlogCoord
from drkit.model.facts import NodeFacts, Unreachable
from drkit.model.version import ServerVersion
from drkit.pitr import state as recovery_state
from drkit.retention.plan import ArchivedFile, Hold, IndexSpan, decide
from drkit.retention.run import plan_prune, prune
from tests.support.configs import TWO_NODES

NOW = 1_795_000_000.0
DAY = 86400.0

CONFIG = TWO_NODES


# -- configuration ------------------------------------------------------------------------------


def _parse(text: str) -> Config:
    import tomllib

    return config_module.parse(tomllib.loads(CONFIG + text), Path("/etc/drkit/drkit.toml"))


@pytest.mark.parametrize(
    ("text", "keep", "min_free"),
    [
        ("", 7 * DAY, 0.10),
        ('[retention]\nkeep = "36h"\n', 36 * 3600.0, 0.10),
        ('[retention]\nkeep = "2w"\nmin_free = "25%"\n', 14 * DAY, 0.25),
        ('[retention]\nkeep = "90m"\nmin_free = "0%"\n', 5400.0, 0.0),
        ('[retention]\nkeep = "45s"\n', 45.0, 0.10),
    ],
)
def test_retention_config(text: str, keep: float, min_free: float) -> None:
    retention = _parse(text).retention
    assert (retention.keep, retention.min_free) == (keep, min_free)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[retention]\nkeep = "7"\n', "retention.keep"),
        ('[retention]\nkeep = "0d"\n', "not a duration"),
        ('[retention]\nkeep = "week"\n', "not a duration"),
        ('[retention]\nmin_free = "10"\n', "retention.min_free"),
        ('[retention]\nmin_free = "100%"\n', "not a percentage"),
        ('[retention]\nkeeps = "7d"\n', "keeps"),
        ('[retention]\ninterval = "hourly"\n', "retention.interval"),
        ('[retention]\ninterval = "0m"\n', "not a duration"),
        ('[retention]\ncompress = "lz4"\n', "'lz4' is not one of 'none', 'zstd'"),
        ("[retention]\ncompress_level = 22\n", "between 1 and 19"),
    ],
)
def test_retention_config_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _parse(text)


@pytest.mark.parametrize(
    ("text", "interval"),
    [
        ("", 3600.0),
        ('[retention]\ninterval = "15m"\n', 900.0),
        ('[retention]\ninterval = "2s"\n', 2.0),
        ('[retention]\ninterval = "off"\n', 0.0),
        ('[retention]\ninterval = "0"\n', 0.0),
    ],
)
def test_retention_interval(text: str, interval: float) -> None:
    assert _parse(text).retention.interval == interval


def test_compression_config() -> None:
    assert (_parse("").retention.compress, _parse("").retention.compress_level) == ("none", 3)
    retention = _parse('[retention]\ncompress = "zstd"\ncompress_level = 9\n').retention
    assert (retention.compress, retention.compress_level) == ("zstd", 9)


# -- the pure decision ----------------------------------------------------------------------------

FILES = tuple(ArchivedFile(f"bin.00000{n}", n, 1000 * n) for n in (1, 2, 3, 4))
# Ids 1..40: ten per file (file n holds ids 10n-9 .. 10n).
FILE_OF = {i: (i - 1) // 10 + 1 for i in range(1, 41)}


def _span(first_young: int | None) -> IndexSpan:
    return IndexSpan(1, 40, first_young, FILE_OF)


def test_age_alone_removes_rows_and_whole_files_before_the_first_young_one() -> None:
    plan = decide(now=NOW, keep=DAY, span=_span(25), files=FILES, holds=())
    assert plan.floor_id == 25 and plan.rows == 24
    assert [f.name for f in plan.files] == ["bin.000001", "bin.000002"]
    assert plan.kept == ()


def test_a_hold_lowers_the_floor_and_says_why() -> None:
    holds = (Hold("#12 onwards: delayed node delayed has applied up to #12", 12),)
    plan = decide(now=NOW, keep=DAY, span=_span(25), files=FILES, holds=holds)
    assert plan.floor_id == 12 and plan.rows == 11
    assert [f.name for f in plan.files] == ["bin.000001"]
    assert plan.kept == (holds[0].reason,)


def test_a_hold_above_the_age_floor_changes_nothing() -> None:
    plan = decide(now=NOW, keep=DAY, span=_span(25), files=FILES, holds=(Hold("later", 33),))
    assert plan.floor_id == 25 and plan.kept == ()


def test_an_unknown_hold_keeps_everything() -> None:
    holds = (Hold("#30 onwards", 30), Hold("everything: delayed node d does not answer"))
    plan = decide(now=NOW, keep=DAY, span=_span(25), files=FILES, holds=holds)
    assert plan.empty and plan.floor_id is None and plan.files == ()
    assert "everything: delayed node d does not answer" in plan.kept


def test_all_old_keeps_the_newest_row_and_the_file_being_written() -> None:
    plan = decide(now=NOW, keep=DAY, span=_span(None), files=FILES, holds=(), writing="bin.000004")
    assert plan.floor_id == 40 and plan.rows == 39
    # bin.000004 holds the floor (and is the newest, being written): kept.
    assert [f.name for f in plan.files] == ["bin.000001", "bin.000002", "bin.000003"]
    assert any("newest indexed transaction" in reason for reason in plan.kept)


def test_the_newest_archive_file_is_never_removed() -> None:
    files = (*FILES, ArchivedFile("bin.000005", 5, 10))
    span = IndexSpan(1, 40, None, {**FILE_OF, 40: 6})  # the floor's file beyond the archive
    plan = decide(now=NOW, keep=DAY, span=span, files=files, holds=())
    assert "bin.000005" not in [f.name for f in plan.files]
    assert "bin.000005: the file being written" in plan.kept


def test_an_unknown_hold_keeps_even_files_older_than_the_index() -> None:
    span = IndexSpan(11, 40, 25, FILE_OF)  # bin.000001 holds nothing indexed any more
    assert [f.name for f in decide(now=NOW, keep=DAY, span=span, files=FILES, holds=()).files] == [
        "bin.000001",
        "bin.000002",
    ]
    plan = decide(now=NOW, keep=DAY, span=span, files=FILES, holds=(Hold("everything: d"),))
    assert plan.empty and plan.files == () and plan.kept == ("everything: d",)


def test_an_empty_index_removes_no_file() -> None:
    plan = decide(now=NOW, keep=DAY, span=None, files=FILES, holds=())
    assert plan.empty and "no transaction" in plan.kept[0]


# -- a prune on disk ------------------------------------------------------------------------------


def _tx(n: int, file_no: int, start: int, ts: float) -> NewTransaction:
    return NewTransaction(
        gtid=f"0-1-{n}",
        file=f"bin.{file_no:06d}",
        start_pos=start,
        end_pos=start + 100,
        timestamp=int(ts),
        server_id=1,
        kind="dml",
        tables=(),
        statement=f"statement {n}",
        destructive=None,
        row_events=(),
    )


@pytest.fixture
def topology(tmp_path: Path) -> Config:
    """Twelve transactions, four per file in bin.000001..3, the first eight ten days old; the
    archive holds those three files and an empty bin.000004."""
    (tmp_path / "drkit.toml").write_text(CONFIG + '\n[retention]\nkeep = "7d"\n')
    config = config_module.load(tmp_path / "drkit.toml")
    records = [
        _tx(n, (n - 1) // 4 + 1, 4 + 100 * ((n - 1) % 4), NOW - (10 * DAY if n <= 8 else 60))
        for n in range(1, 13)
    ]
    with IndexStore(config.index.path) as store:
        store.append(records, BinlogCoord("bin.000004", 4))
    archive = config.index.archive_dir
    archive.mkdir()
    for n in range(1, 5):
        (archive / f"bin.{n:06d}").write_bytes(b"\xfebin" + b"x" * 400 * n)
    return config


def _delayed(executed: str | None) -> NodeFacts:
    node = NodeConfig(
        "delayed", Role.DELAYED, "127.0.0.1", 13308, "drkit", config_module.PasswordSource()
    )
    if executed is None:
        return NodeFacts.unreachable(node, Unreachable.NETWORK, "connection refused", NOW)
    return NodeFacts(
        name="delayed",
        role=Role.DELAYED,
        address="127.0.0.1:13308",
        configured_delay=3600,
        gathered_at=NOW,
        reachable=True,
        version=ServerVersion.parse("10.11.6-MariaDB", ""),
        gtid_executed_text=executed,
    )


def _gather(executed: str | None):  # type: ignore[no-untyped-def]
    def gather(nodes: Iterable[NodeConfig]) -> tuple[NodeFacts, ...]:
        assert [n.name for n in nodes] == ["delayed"]
        return (_delayed(executed),)

    return gather


def _ids(config: Config) -> list[int]:
    with sqlite3.connect(config.index.path) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM transactions ORDER BY id")]
    return ids


def _files(config: Config) -> list[str]:
    return sorted(p.name for p in config.index.archive_dir.iterdir() if p.name.startswith("bin"))


def test_prune_removes_what_the_delayed_node_applied_and_keep_allows(topology: Config) -> None:
    plan = plan_prune(topology, now=NOW, gather=_gather("0-1-12"))
    assert (plan.floor_id, plan.rows) == (9, 8)
    report = prune(topology, plan, now=NOW, gather=_gather("0-1-12"))
    assert report.rows_removed == 8 and report.files_removed == ("bin.000001", "bin.000002")
    assert _ids(topology) == list(range(9, 13))
    assert _files(topology) == ["bin.000003", "bin.000004"]
    with IndexStore(topology.index.path) as store:
        assert store.next_id() == 13  # ids continue after a prune


def test_rows_go_a_chunk_at_a_time_each_committed_before_the_next(topology: Config) -> None:
    from drkit.index.prune import delete_before

    seen: list[tuple[int, list[int]]] = []

    def between(removed: int) -> None:
        seen.append((removed, _ids(topology)))  # another connection sees the chunk committed

    with IndexStore(topology.index.path) as store:
        assert delete_before(store, 9, chunk=3, between=between) == 8
    assert seen == [
        (3, list(range(4, 13))),
        (6, list(range(7, 13))),
        (8, list(range(9, 13))),
    ]


def test_a_prune_records_the_first_id_of_the_oldest_file_it_keeps(topology: Config) -> None:
    from drkit.index import first_ids

    prune(topology, now=NOW, gather=_gather("0-1-6"))  # keeps #6 on: bin.000002 holds #5..#8
    recorded = first_ids.load(topology.index.archive_dir)
    assert [(e.file, e.id, e.gtid) for e in recorded.values()] == [("bin.000002", 5, "0-1-5")]
    assert (topology.index.archive_dir / first_ids.FILE_NAME).stat().st_mode & 0o777 == 0o600
    # A later prune within the same file keeps the record (#5 is no longer indexed by then).
    prune(topology, now=NOW, gather=_gather("0-1-7"))
    assert first_ids.load(topology.index.archive_dir)[2].id == 5
    prune(topology, now=NOW, gather=_gather("0-1-12"))  # bin.000003 from now on: #9 first
    assert [(e.file, e.id) for e in first_ids.load(topology.index.archive_dir).values()] == [
        ("bin.000003", 9)
    ]
    assert _files(topology) == ["bin.000003", "bin.000004"]  # the record is no binlog file


def test_prune_removes_compressed_files_and_a_plain_copy_being_compressed(
    topology: Config,
) -> None:
    from drkit.compression import compress_file

    archive = topology.index.archive_dir
    size_1 = (archive / "bin.000001").stat().st_size
    compress_file(archive / "bin.000001")
    packed_1 = (archive / "bin.000001.zst").stat().st_size
    # bin.000002 as a follower leaves it mid-compression: NAME.zst in place, NAME not gone yet.
    (archive / "bin.000002.zst").write_bytes(b"x" * 10)
    size_2 = (archive / "bin.000002").stat().st_size
    report = prune(topology, now=NOW, gather=_gather("0-1-12"))
    assert report.files_removed == ("bin.000001", "bin.000002")
    assert report.bytes_freed == packed_1 + size_2 + 10 != size_1 + size_2
    assert _files(topology) == ["bin.000003", "bin.000004"]


def test_prune_keeps_what_the_delayed_node_has_not_applied(topology: Config) -> None:
    report = prune(topology, now=NOW, gather=_gather("0-1-6"))
    assert report.rows_removed == 5 and report.files_removed == ("bin.000001",)
    assert _ids(topology) == list(range(6, 13))
    assert _files(topology) == ["bin.000002", "bin.000003", "bin.000004"]
    assert any("delayed node delayed has applied up to #6" in r for r in report.plan.kept)


@pytest.mark.parametrize(
    ("executed", "reason"),
    [
        (None, "delayed node delayed does not answer (connection refused)"),
        ("5-1-1", "delayed node delayed has applied no indexed transaction"),
        # Beyond the index is unknown, not "applied nothing": the reason says which.
        (
            "0-1-999",
            "everything: the index is behind what delayed has applied (its position GTID "
            "0-1-999 is not indexed yet): run `drkit index`",
        ),
    ],
)
def test_an_unknown_delayed_node_keeps_everything(
    topology: Config, executed: str | None, reason: str
) -> None:
    report = prune(topology, now=NOW, gather=_gather(executed))
    assert report.rows_removed == 0 and report.files_removed == ()
    assert _ids(topology) == list(range(1, 13))
    assert _files(topology) == ["bin.000001", "bin.000002", "bin.000003", "bin.000004"]
    assert any(reason in r for r in report.plan.kept)


def test_a_recorded_recovery_keeps_its_targets(topology: Config) -> None:
    recorded = recovery_state.RecoveryState(
        node="delayed",
        description="recover --before 3",
        command="drkit recover --before 3",
        strategy="upstream",
        status="interrupted",
        step=1,
        steps=4,
        started_at=NOW,
        updated_at=NOW,
        pid=os.getpid(),
        targets=recovery_state.RecordedTargets(stop_id=3, stop_gtid="0-1-3"),
    )
    recovery_state.save(topology.folder, recorded)
    report = prune(topology, now=NOW, gather=_gather("0-1-12"))
    assert report.rows_removed == 2 and report.files_removed == ()
    assert _ids(topology) == list(range(3, 13))
    assert any("targets of the recovery recorded" in r for r in report.plan.kept)
    # Once resumed, the recorded target no longer applies.
    recovery_state.save(topology.folder, recorded.moved(status="resumed"))
    assert prune(topology, now=NOW, gather=_gather("0-1-12")).rows_removed == 6


def test_a_running_plan_refuses_the_prune_and_the_dry_run_keeps_everything(
    topology: Config,
) -> None:
    with engine_lock(topology.folder, what="a recovery", command="drkit recover"):
        plan = plan_prune(topology, now=NOW, gather=_gather("0-1-12"))
        assert plan.empty and any("a plan is running" in r for r in plan.kept)
        with pytest.raises(RefusedError, match="a plan is running"):
            prune(topology, plan, now=NOW, gather=_gather("0-1-12"))
    assert _ids(topology) == list(range(1, 13))
    assert len(_files(topology)) == 4


def test_prune_never_removes_more_than_was_shown(topology: Config) -> None:
    shown = plan_prune(topology, now=NOW, gather=_gather("0-1-6"))
    # The node applied more since: the prune still stops where the confirmed plan did.
    report = prune(topology, shown, now=NOW, gather=_gather("0-1-12"))
    assert report.rows_removed == 5 and report.files_removed == ("bin.000001",)
    assert _ids(topology)[0] == 6


def test_prune_without_old_rows_removes_nothing(topology: Config) -> None:
    report = prune(topology, now=NOW - 9 * DAY, gather=_gather("0-1-12"))
    assert report.rows_removed == 0 and report.files_removed == ()
    assert time.time() > 0 and len(_ids(topology)) == 12


# -- the archive in `drkit status` -------------------------------------------------------------


def test_archive_summary_counts_files_bytes_and_reach(topology: Config) -> None:
    from drkit.retention.summary import archive_summary

    summary = archive_summary(topology)
    sizes = [p.stat().st_size for p in topology.index.archive_dir.iterdir()]
    assert (summary.files, summary.bytes) == (4, sum(sizes))
    assert (summary.oldest_id, summary.oldest_gtid) == (1, "0-1-1")
    assert (summary.newest_id, summary.newest_gtid) == (12, "0-1-12")
    assert summary.disk_total and summary.free_fraction is not None
    text = summary.describe()
    assert "4 files" in text and "oldest #1 0-1-1" in text and "newest #12 0-1-12" in text
    assert summary.to_json()["disk_low"] == summary.disk_low
    prune(topology, now=NOW, gather=_gather("0-1-12"))
    after = archive_summary(topology)
    assert (after.files, after.oldest_id, after.newest_id) == (2, 9, 12)


def test_archive_summary_of_nothing_yet(tmp_path: Path) -> None:
    from drkit.retention.summary import ArchiveSummary, archive_summary

    (tmp_path / "drkit.toml").write_text(CONFIG)
    summary = archive_summary(config_module.load(tmp_path / "drkit.toml"))
    assert (summary.files, summary.bytes, summary.oldest_id) == (0, 0, None)
    assert summary.disk_total  # the nearest existing folder's filesystem
    low = ArchiveSummary("/a", 0, 0, disk_free=5, disk_total=100, min_free=0.10)
    assert low.disk_low and "5% free LOW (min_free 10%)" in low.describe()
