"""Two guards for one topology, as on two hosts: each with its own config folder (index, archive,
state, audit log), both following the same primary. A DROP is frozen once, before the delayed
replica applies it; both guards report it without an error, with the same deduplication key; and
a second guard on the same folder is refused while the first writes its archive."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.integration.test_guard import alerts_in, applied, recording_command
from tests.support.guard import audit_records, running_guard, set_guard_config
from tests.support.sandbox import Sandbox, wait_for
from tests.support.workload import create_shop, delayed_status, gtid_pos

pytestmark = pytest.mark.integration


def second_host(box: Sandbox, folder: Path, alerts: Path) -> Path:
    """The sandbox's config for a guard on another host: its own folder, its own alert sink;
    the sandbox's own paths made absolute (they were relative to the sandbox's folder)."""
    folder.mkdir()
    text = box.config_file.read_text(encoding="utf-8")
    text = text.replace('dir = "."', f'dir = "{box.directory}"')
    text = re.sub(
        r'relay_log_dir = "([^"/][^"]*)"',
        lambda m: f'relay_log_dir = "{box.directory / m[1]}"',
        text,
    )
    text = text.replace(str(alerts.with_name("alerts-a.jsonl")), str(alerts))
    config = folder / "drkit.toml"
    config.write_text(text, encoding="utf-8")
    config.chmod(0o600)
    return config


def test_two_guards_freeze_once_and_page_with_one_key(box: Sandbox, tmp_path: Path) -> None:
    create_shop(box)
    sink_a, sink_b = tmp_path / "alerts-a.jsonl", tmp_path / "alerts-b.jsonl"
    set_guard_config(box, f"[alerts]\ncommands = [{recording_command(sink_a)}]\n")
    other = second_host(box, tmp_path / "host-b", sink_b)
    assert str(sink_b) in other.read_text() and str(sink_a) not in other.read_text()

    with (
        running_guard(box, tmp_path / "guard-a.log") as guard_a,
        running_guard(box, tmp_path / "guard-b.log", config=other) as guard_b,
    ):
        # The same folder twice (one host, one archive) is refused, naming the guard that has it.
        third = box.drkit("guard", "--once")
        assert third.returncode != 0 and f"pid {guard_a.pid}" in third.stderr + third.stdout

        assert delayed_status(box)["Slave_SQL_Running"] == "Yes"
        box.sql("primary", "DROP TABLE shop.orders", app=True)
        drop = gtid_pos(box, "primary")
        wait_for(
            lambda: delayed_status(box)["Slave_SQL_Running"] == "No",
            timeout=15,
            what="the delayed applier to stop",
        )
        assert not applied(box, drop)
        wait_for(lambda: alerts_in(sink_a) and alerts_in(sink_b), what="both guards' alerts")
        guard_a.wait_seen(drop)
        guard_b.wait_seen(drop)
    assert guard_a.process.returncode == 0, guard_a.output()
    assert guard_b.process.returncode == 0, guard_b.output()

    # One frozen replica: the applier stopped, the receiver still fetching.
    status = delayed_status(box)
    assert (status["Slave_SQL_Running"], status["Slave_IO_Running"]) == ("No", "Yes")
    # Each guard paged once, about the same transaction, under the same key.
    [alert_a], [alert_b] = alerts_in(sink_a), alerts_in(sink_b)
    assert alert_a["transaction"]["gtid"] == alert_b["transaction"]["gtid"] == drop
    assert alert_a["dedup_key"] == alert_b["dedup_key"]
    assert alert_a["alert"] == alert_b["alert"] == "frozen"
    actions = {alert_a["nodes"][0]["action"], alert_b["nodes"][0]["action"]}
    assert actions <= {"frozen", "already_frozen"} and "frozen" in actions
    # Each audit log: one freeze for the DROP, with the key; no error.
    for folder in (box.directory, other.parent):
        [freeze] = audit_records(box, "guard-freeze", folder)
        assert freeze["gtid"] == drop and freeze["dedup_key"] == alert_a["dedup_key"]
        assert audit_records(box, "guard-error", folder) == []
        stops = [
            r
            for r in audit_records(box, "sql", folder)
            if r["statement"] == "STOP SLAVE SQL_THREAD"
        ]
        assert all(r["ok"] for r in stops) and len(stops) <= 1
