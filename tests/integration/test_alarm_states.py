"""The alarm follows what the servers hold (issue 18, items 3 and 4), on a real sandbox: a delayed
replica whose delay ran out is the loudest line of `drkit status`."""

from __future__ import annotations

import json
from pathlib import Path

from drkit.sandbox.layout import SandboxLayout
from drkit.sandbox.workload import write_sample_data
from tests.support.sandbox import Sandbox, start_sandbox, wait_for
from tests.support.workload import drkit_json


def test_status_says_the_delay_ran_out_once_the_delayed_replica_applied_the_drop(
    tmp_path: Path,
) -> None:
    box = start_sandbox(tmp_path / "short", delay=1)
    try:
        write_sample_data(SandboxLayout(box.directory.resolve()), box.state)
        assert box.drkit("index").returncode == 0
        box.sql("primary", "DROP TABLE shop.orders")
        assert box.drkit("index").returncode == 0
        drop = box.value("primary", "SELECT @@gtid_binlog_pos")
        # Applied means its GTID position says so (the table goes a moment before it moves).
        wait_for(
            lambda: box.value("delayed", "SELECT @@gtid_slave_pos") == drop,
            timeout=30,
            interval=0.3,
            what="the delayed replica to apply the DROP",
        )
        done, status = drkit_json(box, "status")
        assert done.returncode == 0, done.stderr
        assert status["alarm"]["state"] == "missed"
        text = box.drkit("status").stdout.splitlines()
        assert text[0] == "!" * 78
        assert text[1].startswith("DELAY RAN OUT: delayed applied #")
    finally:
        box.down(purge=True)


def test_a_resume_records_what_it_named_so_the_alarm_says_named_exactly(box: Sandbox) -> None:
    write_sample_data(SandboxLayout(box.directory.resolve()), box.state)
    box.sql("primary", "DROP TABLE shop.orders")
    box.sql("primary", "DROP TABLE shop.customers")
    assert box.drkit("index").returncode == 0
    _, drops = drkit_json(box, "events", "--destructive")
    customers, orders = drops[0]["id"], drops[1]["id"]
    # Frozen, no recovery: a resume that names only one of the two DROPs is refused.
    assert box.drkit("freeze").returncode == 0
    refused = box.drkit("resume", "--through", str(orders), "--yes")
    assert refused.returncode == 3, refused.stderr
    done = box.drkit("resume", "--through", str(orders), "--through", str(customers), "--yes")
    assert done.returncode == 0, done.stderr
    record = json.loads((box.directory / "drkit-recovery.json").read_text())
    assert record["status"] == "resumed"
    assert sorted(record["resumed_through"]) == sorted([orders, customers])
    _, status = drkit_json(box, "status")
    assert status["alarm"]["state"] == "named", status["alarm"]
    assert status["alarm"]["transaction"] == orders  # the first of them the replica will apply
    assert box.replica_status("delayed")["SQL_Delay"] == 3600
