"""The index behind the delayed replica: what the node applied is unknown, never "nothing".

A trial run froze a delayed replica (delay 5 s) that had applied a row the index did not hold
yet: freeze counted every indexed transaction as pending and named one the node had applied as
the destructive one to recover before; prune said it had applied nothing.
"""

from __future__ import annotations

import time

from tests.support.processes import catch_up_delayed
from tests.support.sandbox import Sandbox
from tests.support.scenario import create_shop
from tests.support.workload import drkit_json, fingerprint

BEHIND = "the index is behind what delayed has applied (its position GTID {} is not indexed yet)"


def test_every_reader_of_the_applied_position_says_the_index_is_behind(box: Sandbox) -> None:
    with box.config_file.open("a", encoding="utf-8") as handle:
        handle.write('\n[retention]\nkeep = "1s"\n')
    create_shop(box, orders=20)
    box.sql("primary", "DELETE FROM shop.orders", app=True)  # destructive, indexed
    assert box.drkit("index").returncode == 0
    box.sql("primary", "INSERT INTO shop.audit (what) VALUES ('not indexed')", app=True)
    catch_up_delayed(box)  # the delayed node applies the DELETE and the row the index lacks
    unindexed = box.value("primary", "SELECT @@gtid_binlog_pos")
    assert box.value("delayed", "SELECT @@gtid_slave_pos") == unindexed
    said = BEHIND.format(unindexed)
    time.sleep(1.5)  # everything indexed is older than keep: only a hold keeps it

    done, report = drkit_json(box, "freeze")
    assert done.returncode == 0, done.stderr
    assert report["pending"] is None and report["first_destructive"] is None
    assert report["index_behind"].startswith(said)
    text = box.drkit("freeze")
    assert said in text.stdout and "recover --before" not in text.stdout, text.stdout
    assert "not applied yet" not in text.stdout

    status = box.drkit("status")
    assert said in status.stderr and "ALARM" not in status.stdout, status.stdout
    done, state = drkit_json(box, "status")
    assert state["alarm"] is None and state["alarm_unknown"].startswith(said), state

    done, pruned = drkit_json(box, "prune", "--dry-run")
    assert done.returncode == 0, done.stderr
    plan = pruned["plan"]
    assert plan["rows"] == 0 and plan["files"] == []
    assert any(reason.startswith(f"everything: {said}") for reason in plan["kept"]), plan

    done, refused = drkit_json(box, "recover", "--until-time", "now", "--yes")
    assert done.returncode == 3 and refused["error"].startswith(said), done.stdout
    done, refused = drkit_json(box, "resume", "--yes")
    assert done.returncode == 3 and refused["error"].startswith(said), done.stdout
    # Nothing changed: still frozen where it was, the DELETE applied, the late row there.
    assert box.replica_status("delayed")["Slave_SQL_Running"] == "No"
    assert box.value("delayed", "SELECT @@gtid_slave_pos") == unindexed
    assert fingerprint(box, "delayed", "shop.orders") == fingerprint(box, "primary", "shop.orders")
    assert box.value("delayed", "SELECT COUNT(*) FROM shop.audit WHERE what = 'not indexed'") == 1

    # Caught up, the index knows the position again: nothing is pending, and resume works.
    assert box.drkit("index").returncode == 0
    done, report = drkit_json(box, "freeze")
    assert report["index_behind"] is None and report["pending"] == 0, report
    assert report["first_destructive"] is None
    done = box.drkit("resume", "--yes")
    assert done.returncode == 0, done.stderr
    assert box.replica_status("delayed")["Slave_SQL_Running"] == "Yes"
