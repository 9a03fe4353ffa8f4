"""`drkit prune` on a real sandbox: index rows and archived binlog files are checked on disk,
removed only when older than keep and applied by the delayed replica; a delayed replica that does
not answer keeps everything; after a prune the indexer carries on with the next id."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drkit.render import counted
from tests.support.sandbox import Sandbox, start_sandbox, wait_for
from tests.support.workload import create_shop, drkit_json, gtid_pos, index

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    sandbox = start_sandbox(tmp_path_factory.mktemp("prune"), delay=3600)
    try:
        with sandbox.config_file.open("a", encoding="utf-8") as handle:
            handle.write('\n[retention]\nkeep = "1s"\n')
        create_shop(sandbox, orders=50)
        for round_no in range(4):
            sandbox.sql("primary", "FLUSH BINARY LOGS")
            sandbox.sql(
                "primary", f"INSERT INTO shop.audit (what) VALUES ('round {round_no}')", app=True
            )
        index(sandbox)
        time.sleep(2)  # everything indexed is now older than keep
        yield sandbox
    finally:
        sandbox.down(purge=True)


def _rows(box: Sandbox) -> list[tuple[int, str, str]]:
    with sqlite3.connect(box.config().index.path) as conn:
        return [
            (int(i), str(g), str(f))
            for i, g, f in conn.execute("SELECT id, gtid, file FROM transactions ORDER BY id")
        ]


def _table_rows_orphans(box: Sandbox) -> int:
    """Rows of transaction_tables and findings whose transaction was pruned."""
    with sqlite3.connect(box.config().index.path) as conn:
        return sum(
            int(
                conn.execute(
                    f"SELECT COUNT(*) FROM {table} WHERE tx_id NOT IN (SELECT id FROM transactions)"
                ).fetchone()[0]
            )
            for table in ("transaction_tables", "findings")
        )


def _archive(box: Sandbox) -> list[str]:
    folder: Path = box.config().index.archive_dir
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def _prune(box: Sandbox, *args: str) -> dict[str, Any]:
    done, data = drkit_json(box, "prune", *args)
    assert done.returncode == 0, done.stderr
    assert isinstance(data, dict), done.stdout
    return data


def _applied_seq(box: Sandbox) -> int:
    pos = gtid_pos(box, "delayed")
    return max((int(g.split("-")[2]) for g in pos.split(",") if g), default=0)


def test_prune_keeps_what_the_delayed_replica_has_not_applied(box: Sandbox) -> None:
    rows, files = _rows(box), _archive(box)
    assert len(files) >= 5 and len(rows) > 5
    applied = _applied_seq(box)
    unapplied = [r for r in rows if int(r[1].split("-")[2]) > applied]
    assert unapplied, "the delayed replica (delay 3600) has not applied the workload"

    report = _prune(box, "--yes")
    after = _rows(box)
    # Every transaction the delayed replica lacks is still indexed, and so is its file.
    assert set(unapplied) <= set(after)
    assert {r[2] for r in unapplied} <= set(_archive(box))
    assert report["rows_removed"] == len(rows) - len(after)
    assert any("delayed node delayed" in reason for reason in report["plan"]["kept"])
    assert _table_rows_orphans(box) == 0


def test_a_delayed_replica_that_does_not_answer_keeps_everything(box: Sandbox) -> None:
    rows, files = _rows(box), _archive(box)
    box.kill("delayed")
    try:
        report = _prune(box, "--yes")
    finally:
        box.start("delayed")
    assert report["plan"]["rows"] == 0 and report["plan"]["files"] == []
    assert any("does not answer" in reason for reason in report["plan"]["kept"])
    assert _rows(box) == rows and _archive(box) == files


def test_prune_removes_what_is_old_and_applied_and_the_indexer_carries_on(box: Sandbox) -> None:
    box.sql("delayed", "STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 0", "START SLAVE")
    target = gtid_pos(box, "primary")
    wait_for(lambda: gtid_pos(box, "delayed") == target, timeout=30, what="delayed to catch up")
    time.sleep(1.5)
    rows, files = _rows(box), _archive(box)
    latest = rows[-1]

    dry = _prune(box, "--dry-run")
    assert dry["dry_run"] is True and dry["plan"]["floor_id"] == latest[0]
    assert _rows(box) == rows and _archive(box) == files  # the dry run changed nothing

    report = _prune(box, "--yes")
    after, kept_files = _rows(box), _archive(box)
    assert after == [latest]  # only the newest row stays (the next id follows it)
    assert report["rows_removed"] == len(rows) - 1
    assert latest[2] in kept_files and files[-1] in kept_files  # its file, the newest file
    assert set(report["files_removed"]) == set(files) - set(kept_files)
    assert all(name < latest[2] for name in report["files_removed"])
    assert _table_rows_orphans(box) == 0

    box.sql("primary", "INSERT INTO shop.customers VALUES (99, 'after the prune')", app=True)
    index(box)
    newest = _rows(box)[-1]
    assert newest[0] == latest[0] + 1 and newest[1] != latest[1]
    done, events = drkit_json(box, "events", "--table", "shop.customers", "--limit", "1")
    assert done.returncode == 0 and events[0]["id"] == newest[0]


def test_status_shows_the_archive(box: Sandbox) -> None:
    done, report = drkit_json(box, "status")
    assert done.returncode == 0, done.stderr
    archive = report["archive"]
    folder = box.config().index.archive_dir
    on_disk = [p for p in folder.iterdir() if not p.name.startswith(".")]
    assert archive["files"] == len(on_disk)
    assert archive["bytes"] == sum(p.stat().st_size for p in on_disk)
    rows = _rows(box)
    assert (archive["oldest_id"], archive["oldest_gtid"]) == rows[0][:2]
    assert (archive["newest_id"], archive["newest_gtid"]) == rows[-1][:2]
    assert archive["disk_total"] > 0 and 0 <= archive["free_fraction"] <= 1
    text = box.drkit("status")
    assert f"ARCHIVE {folder}: {counted(len(on_disk), 'file')}, " in text.stdout
