"""drkit down while the primary purged binlogs it never copied: the follower names the lost files,
goes on from the primary's oldest binlog, records the gap, and what would cross it refuses."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import mysql.connector

from tests.support.indexing import following, index_starts, primary_starts, wait_indexed
from tests.support.sandbox import Sandbox, wait_for
from tests.support.workload import create_shop, drkit_json, index


def _purge_all_but_last(box: Sandbox) -> str:
    newest = box.sql("primary", "SHOW BINARY LOGS")[-1]["Log_name"]

    def purged() -> bool:
        try:
            box.sql("primary", f"PURGE BINARY LOGS TO '{newest}'")
        except mysql.connector.Error:
            return False  # a replica's dump thread still reads an older file
        return box.sql("primary", "SHOW BINARY LOGS")[0]["Log_name"] == newest

    wait_for(purged, timeout=20, interval=0.1, what=f"the primary to purge up to {newest}")
    return str(newest)


def test_follow_after_a_purge_records_the_gap_and_crossing_it_is_refused(
    box: Sandbox, tmp_path: Path
) -> None:
    create_shop(box)
    index(box)
    had = index_starts(box.config().index.path)
    first_file = box.sql("primary", "SHOW BINARY LOGS")[-1]["Log_name"]
    # drkit is down: the primary rotates twice and writes, then purges what drkit never copied.
    box.sql("primary", "FLUSH BINARY LOGS")
    box.sql("primary", "UPDATE shop.orders SET total = 0 WHERE id = 1", app=True)  # lost
    lost_file = box.sql("primary", "SHOW BINARY LOGS")[-1]["Log_name"]
    box.sql("primary", "FLUSH BINARY LOGS")
    oldest = _purge_all_but_last(box)
    box.sql("primary", "UPDATE shop.orders SET total = 1 WHERE id = 1", app=True)
    after = primary_starts(box)

    log = tmp_path / "follow.log"
    with following(box, log):
        wait_indexed(box.config().index.path, {gtid for gtid, _, _ in after})
    output = log.read_text()
    assert f"binlog gap: {first_file} (archived copy cut short), {lost_file} purged" in output
    assert f"the primary's oldest binlog is {oldest}" in output
    assert index_starts(box.config().index.path) == had + after

    # `drkit status` keeps saying it.
    _, status = drkit_json(box, "status")
    (described,) = status["archive"]["gaps"]
    assert described.startswith(f"binlog gap: {first_file} to {lost_file} (2 files) purged")
    text = box.drkit("status").stdout
    assert f"GAP binlog gap: {first_file} to {lost_file}" in text

    # A rebuild from the archive alone finds the same hole and records the same gap.
    recorded = _gaps(box.config().index.path)
    done = box.drkit("index", "--rebuild", "--yes")
    assert done.returncode == 0, done.stderr
    assert f"binlog gap: {first_file} (archived copy cut short), {lost_file} purged" in done.stderr
    assert "the archive's next binlog is" in done.stderr
    assert index_starts(box.config().index.path) == had + after
    rebuilt = _gaps(box.config().index.path)
    assert [(g["after_id"], g["lost"]) for g in rebuilt] == [
        (g["after_id"], g["lost"]) for g in recorded
    ]

    # The update after the gap, and the last one before it.
    _, events = drkit_json(box, "events", "--table", "shop.orders")
    newest = max(e["id"] for e in events)
    before_gap = len(had)  # ids count from 1: the last one indexed before the gap
    assert newest == before_gap + len(after)

    done, error = drkit_json(box, "history", "--table", "shop.orders", "--key", "id=1")
    assert done.returncode == 3, done.stdout
    assert f"binlog gap: {first_file} to {lost_file}" in error["error"]

    done, error = drkit_json(
        box, "flashback", str(before_gap), str(newest), "--sql", str(tmp_path / "r.sql"), "--yes"
    )
    assert done.returncode == 3, done.stdout
    assert "across a binlog gap" in error["error"]
    assert not (tmp_path / "r.sql").exists()

    done, error = drkit_json(box, "recover", "--before", str(newest), "--dry-run")
    assert done.returncode == 3, done.stdout
    assert f"this recovery spans transactions #0 to #{newest}" in error["error"]
    assert "binlog gap" in error["error"]

    # Resuming would let the delayed replica apply the lost transactions, never judged.
    done, error = drkit_json(box, "resume", "--dry-run")
    assert done.returncode == 3, done.stdout
    assert f"resuming replication spans transactions #0 to #{newest}" in error["error"]
    assert f"binlog gap: {first_file} to {lost_file}" in error["error"]
    assert "--across-gap" in error["hint"]
    done, report = drkit_json(box, "resume", "--dry-run", "--across-gap")
    assert done.returncode == 0, done.stdout
    assert report["plan"]["node"] == "delayed"

    # A recovery that stays before the gap is planned as usual.
    done, report = drkit_json(box, "recover", "--before", str(before_gap), "--dry-run")
    assert done.returncode == 0, done.stdout
    assert report["plan"]["title"].startswith(
        f"Recovery on delayed: stop just before #{before_gap}"
    )


def _gaps(index: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(index)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'gaps'").fetchone()
    finally:
        conn.close()
    return list(json.loads(row[0])) if row else []
