"""Pruning on a schedule inside the guard, on a real sandbox: a DROP arriving while a prune is
half done (engine lock held, rows going) is frozen all the same; the prune then finishes under the
same rules as `drkit prune`; and `drkit index --rebuild` afterwards keeps every surviving id."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from drkit.guard.watch import Guard
from drkit.io.lock import current_holder
from drkit.retention.schedule import DONE
from drkit.service import Operations
from tests.support.guard import audit_records
from tests.support.sandbox import Sandbox, wait_for
from tests.support.workload import create_shop, drkit_json, gtid_pos, index

pytestmark = pytest.mark.integration


def _rows(box: Sandbox) -> dict[str, int]:
    with sqlite3.connect(box.config().index.path) as conn:
        return {str(g): int(i) for i, g in conn.execute("SELECT id, gtid FROM transactions")}


def _applied_by_delayed_then_delayed_again(box: Sandbox) -> None:
    """The delayed replica applies what is there now, then runs an hour late again."""
    box.sql("delayed", "STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 0", "START SLAVE")
    target = gtid_pos(box, "primary")
    wait_for(lambda: gtid_pos(box, "delayed") == target, timeout=30, what="delayed to catch up")
    box.sql("delayed", "STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 3600", "START SLAVE")


def test_a_freeze_never_waits_for_a_scheduled_prune(box: Sandbox) -> None:
    with box.config_file.open("a", encoding="utf-8") as handle:
        handle.write('\n[retention]\nkeep = "1s"\ninterval = "1s"\n')
    create_shop(box, orders=50)
    for round_no in range(3):
        box.sql("primary", "FLUSH BINARY LOGS")
        box.sql("primary", f"INSERT INTO shop.audit (what) VALUES ('r{round_no}')", app=True)
    _applied_by_delayed_then_delayed_again(box)
    index(box)
    time.sleep(1.5)  # what is indexed is now older than keep
    config = box.config()
    before = _rows(box)

    pruning, release = threading.Event(), threading.Event()

    def between(_removed: int) -> None:
        # The prune has removed its first chunk of rows and holds the engine lock: it waits
        # here until the test has seen the freeze.
        pruning.set()
        release.wait(60)

    said: list[str] = []
    schedule = Operations(config, command="test guard").prune_schedule(said.append, between)
    guard = Guard(config, report=said.append, command="test guard", pruner=schedule)
    stop = threading.Event()
    runner = threading.Thread(target=guard.run, args=(stop,), daemon=True)
    runner.start()
    try:
        wait_for(pruning.is_set, timeout=30, what="the scheduled prune to start removing rows")
        assert current_holder(config.folder) is not None  # the prune holds the engine lock

        box.sql("primary", "DROP TABLE shop.orders", app=True)
        drop = gtid_pos(box, "primary")
        wait_for(
            lambda: box.replica_status("delayed")["Slave_SQL_Running"] == "No",
            timeout=20,
            what="the delayed applier to stop while the prune is still under way",
        )
        assert not release.is_set() and current_holder(config.folder) is not None
        assert box.value("delayed", "SELECT COUNT(*) FROM shop.orders") == 50  # before the DROP
        freezes = audit_records(box, "guard-freeze")
        assert [(f["gtid"], f["nodes"][0]["action"]) for f in freezes] == [(drop, "frozen")]
    finally:
        release.set()
    wait_for(lambda: schedule.stats().runs.get(DONE, 0) >= 1, timeout=30, what="the prune")
    stop.set()
    runner.join(60)
    assert not runner.is_alive()

    stats = schedule.stats()
    after = _rows(box)
    assert stats.rows_total > 0 and stats.files_total > 0
    assert len(before) - stats.rows_total + 1 == len(after)  # the DROP was indexed meanwhile
    assert set(after) - set(before) == {drop}
    assert all(before[g] == i for g, i in after.items() if g in before)
    assert any(line.startswith("scheduled prune: removed") for line in said)
    prunes = audit_records(box, "prune")
    assert prunes and prunes[0]["rows_removed"] == stats.rows_total

    # A rebuild from what the prune left in the archive keeps every id.
    done, rebuild = drkit_json(box, "index", "--rebuild", "--yes")
    assert done.returncode == 0, done.stderr
    rebuilt = _rows(box)
    assert all(rebuilt[g] == i for g, i in after.items()), "ids changed in the rebuild"
    assert min(rebuilt.values()) > 1 and rebuild["transactions"] == len(rebuilt)
