"""`drkit guard --metrics` on a real sandbox, scraped over loopback: heartbeat, the delayed
replica's delay and applier, the archive; then a DROP TABLE shows as a finding, a freeze and the
applier stopped, and a failing alert command as an alert failure."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.guard import running_guard, set_guard_config
from tests.support.sandbox import Sandbox, wait_for
from tests.support.workload import create_shop, gtid_pos

pytestmark = pytest.mark.integration

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
NODE = (("node", "delayed"),)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=15) as response:
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_guard_metrics_follow_a_freeze(box: Sandbox, tmp_path: Path) -> None:
    create_shop(box)
    failing = json.dumps([sys.executable, "-c", "import sys; sys.exit(7)"])
    with box.config_file.open("a", encoding="utf-8") as handle:
        handle.write('\n[retention]\ninterval = "1s"\n')
    set_guard_config(box, f"[alerts]\ncommands = [{failing}]\ntimeout = 5\nretries = 0\n")
    port = _free_port()
    args = ("--metrics", f"127.0.0.1:{port}")
    with running_guard(box, tmp_path / "guard.log", args) as guard:
        guard.wait_seen(gtid_pos(box, "primary"))
        got = _scrape(port)
        assert got[("drkit_metrics_collect_ok", ())] == 1
        assert got[("drkit_guard_running", ())] == 1
        assert abs(got[("drkit_guard_heartbeat_timestamp_seconds", ())] - time.time()) < 5
        assert got[("drkit_index_lag_transactions", ())] == 0
        assert got[("drkit_delayed_up", NODE)] == 1
        assert got[("drkit_delayed_delay_seconds", NODE)] == 3600
        assert got[("drkit_delayed_applier_running", NODE)] == 1
        folder = box.config().index.archive_dir
        assert got[("drkit_archive_files", ())] == len(
            [p for p in folder.iterdir() if not p.name.startswith(".")]
        )
        assert got[("drkit_archive_bytes", ())] > 0
        assert got[("drkit_archive_disk_free_bytes", ())] > 0

        box.sql("primary", "DROP TABLE shop.orders", app=True)
        freezes = ("drkit_guard_freezes_total", (("class", "drop_table"), ("node", "delayed")))
        wait_for(lambda: _scrape(port).get(freezes) == 1, timeout=20, what="the freeze metric")
        failures = ("drkit_guard_alert_failures_total", ())
        wait_for(lambda: _scrape(port).get(failures) == 1, timeout=20, what="the alert failure")
        got = _scrape(port)
        assert (
            got[("drkit_guard_findings_total", (("action", "freeze"), ("class", "drop_table")))]
            == 1
        )
        assert got[("drkit_delayed_applier_running", NODE)] == 0
        assert box.replica_status("delayed")["Slave_SQL_Running"] == "No"
        # The scheduled prune runs in the guard: nothing goes (the delayed replica, an hour
        # late, has applied no indexed transaction), but each turn is counted.
        done = ("drkit_retention_prunes_total", (("outcome", "done"),))
        wait_for(lambda: _scrape(port).get(done, 0) >= 1, timeout=20, what="a scheduled prune")
        got = _scrape(port)
        assert got[("drkit_retention_prune_interval_seconds", ())] == 1
        assert got[("drkit_retention_pruned_rows_total", ())] == 0
        assert got[("drkit_retention_last_prune_timestamp_seconds", ())] > 0
    assert guard.process.returncode == 0, guard.output()
    with pytest.raises(OSError):  # the endpoint went with the guard
        _scrape(port)


def test_index_follow_serves_metrics_too(box: Sandbox, tmp_path: Path) -> None:
    with box.config_file.open("a", encoding="utf-8") as handle:
        handle.write('\n[retention]\ninterval = "1s"\n')
    port = _free_port()
    argv = [sys.executable, "-m", "drkit", "--config", str(box.config_file), "index", "--follow"]
    log = (tmp_path / "index.log").open("wb")
    process = subprocess.Popen(
        [*argv, "--metrics", f"127.0.0.1:{port}"],
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    try:

        def answers() -> bool:
            try:
                return _scrape(port).get(("drkit_up", (("command", "index"),))) == 1
            except OSError:
                return False

        wait_for(answers, timeout=30, what="the index follower's metrics")
        box.sql("primary", "CREATE DATABASE IF NOT EXISTS m", "CREATE TABLE m.t (id INT)")
        wait_for(
            lambda: (
                _scrape(port).get(("drkit_index_lag_transactions", ())) == 0
                and _scrape(port).get(("drkit_index_last_id", ()), 0) > 0
            ),
            timeout=30,
            what="the index to catch up",
        )
        done = ("drkit_retention_prunes_total", (("outcome", "done"),))
        wait_for(lambda: _scrape(port).get(done, 0) >= 1, timeout=20, what="a scheduled prune")
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=30)
        log.close()
    output = (tmp_path / "index.log").read_text()
    assert process.returncode == 0, output
    assert "pruning every 1s ([retention])" in output
    assert "scheduled prune: removed 0 index rows" in output
    assert "kept: everything: delayed node delayed has applied no indexed transaction" in output
