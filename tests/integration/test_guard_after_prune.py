"""A guard restarted after a prune removed the last transaction it judged: it says the index was
pruned (a trial run read "it was rebuilt") and judges what the index still holds after it."""

from __future__ import annotations

import time

from tests.support.guard import guard_state
from tests.support.processes import catch_up_delayed
from tests.support.sandbox import Sandbox
from tests.support.scenario import create_shop
from tests.support.workload import drkit_json


def test_a_pruned_last_seen_is_said_as_pruned_and_what_follows_is_judged(box: Sandbox) -> None:
    with box.config_file.open("a", encoding="utf-8") as handle:
        handle.write('\n[retention]\nkeep = "1s"\n')
    create_shop(box, orders=10)
    done, first = drkit_json(box, "guard", "--once")
    assert done.returncode == 0 and first["findings"] == [], done.stderr
    state = guard_state(box)
    seen, seen_gtid = state["last_seen_id"], state["last_seen_gtid"]
    for i in range(3):
        box.sql("primary", f"INSERT INTO shop.audit (what) VALUES ('later {i}')", app=True)
    assert box.drkit("index").returncode == 0
    catch_up_delayed(box)
    time.sleep(1.5)  # older than keep, and applied: a prune may take all but the newest
    done, pruned = drkit_json(box, "prune", "--yes")
    assert done.returncode == 0 and pruned["rows_removed"] > 0, done.stdout
    _, events = drkit_json(box, "events", "--limit", "1000")
    oldest = min(e["id"] for e in events)
    assert oldest > seen, "the guard's last judged transaction is pruned"

    # Indexed by someone else while the guard was stopped: it must still be judged.
    box.sql("primary", "TRUNCATE TABLE shop.orders", app=True)
    assert box.drkit("index").returncode == 0
    done, second = drkit_json(box, "guard", "--once")
    assert done.returncode == 0, done.stderr
    said = (
        f"the index no longer holds #{seen} ({seen_gtid}): it was pruned "
        f"(the index starts at #{oldest} now); the guard judges from there"
    )
    assert said in done.stderr and "rebuilt" not in done.stderr, done.stderr
    (finding,) = second["findings"]
    assert finding["findings"][0]["class"] == "truncate" and finding["action"] == "frozen"
    assert box.replica_status("delayed")["Slave_SQL_Running"] == "No"
    assert box.value("delayed", "SELECT COUNT(*) FROM shop.orders") == 10  # still there
