"""`drkit guard` running in the background on a real sandbox: a destructive transaction on the
primary freezes the delayed replica before it applies it, and the rescued data is checked."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from drkit.config import DAY_NAMES
from tests.support.guard import (
    GuardProcess,
    audit_records,
    guard_state,
    hook_server,
    running_guard,
    set_guard_config,
)
from tests.support.sandbox import Sandbox, wait_for
from tests.support.workload import create_shop, delayed_status, drkit_json, fingerprint, gtid_pos


@pytest.fixture
def box(box: Sandbox) -> Sandbox:
    create_shop(box)
    return box


def applier(box: Sandbox) -> str:
    return str(delayed_status(box)["Slave_SQL_Running"])


def applied(box: Sandbox, gtid: str) -> bool:
    domain, _server, seq = (int(part) for part in gtid.split("-"))
    pos = str(box.value("delayed", "SELECT @@gtid_slave_pos"))
    for item in filter(None, pos.split(",")):
        d, _, s = (int(part) for part in item.split("-"))
        if d == domain:
            return s >= seq
    return False


def recover_restores(box: Sandbox, table: str, expected: tuple[int, int] | None) -> None:
    """`drkit recover --before latest-destructive` brings the table back as it was.

    --parallel 0: with parallel appliers the recovery engine now and then reports the applier
    "stopped before the planned point" one transaction short (seen without the guard too).
    """
    done, report = drkit_json(
        box, "recover", "--before", "latest-destructive", "--yes", "--parallel", "0"
    )
    assert done.returncode == 0, done.stderr
    assert report["verified"] is True
    assert fingerprint(box, "delayed", table) == expected


def wait_frozen(box: Sandbox) -> None:
    # The latency itself is measured by benchmarks/guard_latency, not asserted here.
    wait_for(lambda: applier(box) == "No", timeout=15, what="the delayed applier to stop")


def recording_command(path: Path) -> str:
    """An alert command (TOML) that writes the JSON it gets on stdin to `path`."""
    code = f"import sys; open({str(path)!r}, 'ab').write(sys.stdin.buffer.read() + b'\\n')"
    return json.dumps([sys.executable, "-c", code])


def alerts_in(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_drop_table_freezes_the_delayed_replica_and_recover_restores_it(
    box: Sandbox, tmp_path: Path
) -> None:
    orders = fingerprint(box, "primary", "shop.orders")
    received = tmp_path / "alerts.jsonl"
    failing = json.dumps([sys.executable, "-c", "import sys; sys.exit(7)"])
    with hook_server() as hook:
        set_guard_config(
            box,
            f"""
            [alerts]
            commands = [{failing}, {recording_command(received)}]
            webhooks = ["{hook.url("/hook/TOKEN-abc123")}"]
            timeout = 5
            retries = 1
            """.replace("            ", ""),
        )
        with running_guard(box, tmp_path / "guard.log") as guard:
            assert applier(box) == "Yes"
            box.sql("primary", "DROP TABLE shop.orders", app=True)
            drop_gtid = gtid_pos(box, "primary")
            wait_frozen(box)
            assert not applied(box, drop_gtid)
            wait_for(lambda: hook.received, what="the webhook")
            wait_for(lambda: alerts_in(received), what="the alert command")
            _done, status = drkit_json(box, "status")
            assert status["guard"]["running"] is True, status["guard"]
            assert status["guard"]["state"]["last_action"]["action"] == "frozen"
            assert status["guard"]["state"]["last_finding"]["class"] == "drop_table"
            wait_for(
                lambda: len(audit_records(box, "guard-alert")) == 3, what="every alert outcome"
            )
        assert guard.process.returncode == 0, guard.output()
        (posted,) = hook.received
    body = posted["json"]
    assert posted["path"] == "/hook/TOKEN-abc123"
    assert body == alerts_in(received)[0], "commands and webhooks get the same JSON"
    assert (body["alert"], body["severity"]) == ("frozen", "critical")
    assert body["transaction"]["gtid"] == drop_gtid
    assert "DROP TABLE" in body["transaction"]["statement"]
    assert body["transaction"]["tables"] == ["shop.orders"]
    assert [(f["class"], f["action"]) for f in body["findings"]] == [("drop_table", "freeze")]
    (node,) = body["nodes"]
    assert (node["node"], node["action"]) == ("delayed", "frozen")
    assert 3000 < node["seconds_left"] <= 3600
    assert body["next"].startswith(f"drkit recover --before {drop_gtid} --dry-run")

    # The audit log: the STOP statement, the freeze, then the alerts (the failing one too).
    records = audit_records(box)
    stops = [r for r in records if r["kind"] == "sql" and r["statement"] == "STOP SLAVE SQL_THREAD"]
    assert [(r["node"], r["ok"]) for r in stops] == [("delayed", True)]
    (freeze,) = [r for r in records if r["kind"] == "guard-freeze"]
    assert freeze["gtid"] == drop_gtid and freeze["nodes"][0]["action"] == "frozen"
    alerts = [r for r in records if r["kind"] == "guard-alert"]
    assert records.index(freeze) < min(records.index(a) for a in alerts)
    outcomes = {(a["target"].split()[0], a["ok"]) for a in alerts}
    assert outcomes == {("command", False), ("command", True), ("webhook", True)}
    failed = next(a for a in alerts if not a["ok"])
    assert failed["detail"].startswith("exit 7") and failed["attempts"] == 2
    assert "TOKEN-abc123" not in (box.directory / "drkit-audit.jsonl").read_text()
    assert "TOKEN-abc123" not in guard.output()

    stopped = guard_state(box)
    assert stopped["stopped_at"] is not None and stopped["last_seen_gtid"] == drop_gtid
    recover_restores(box, "shop.orders", orders)


def maintenance_around_now(zone: str = "Asia/Tokyo") -> str:
    """A window from an hour ago to an hour ahead, in a zone that is not the machine's."""
    now = dt.datetime.now(ZoneInfo(zone))
    start, end = now - dt.timedelta(hours=1), now + dt.timedelta(hours=1)
    return (
        "[[guard.maintenance]]\n"
        f'days = ["{DAY_NAMES[start.weekday()]}"]\n'
        f'start = "{start:%H:%M}"\nend = "{end:%H:%M}"\ntimezone = "{zone}"\n'
    )


def test_maintenance_window_and_ignored_tables_log_without_freezing(
    box: Sandbox, tmp_path: Path
) -> None:
    set_guard_config(box, "[guard]\n" + maintenance_around_now())
    with running_guard(box, tmp_path / "guard1.log") as guard:
        box.sql("primary", "DROP TABLE shop.orders", app=True)
        guard.wait_seen(gtid_pos(box, "primary"))
        assert applier(box) == "Yes"
    (logged,) = audit_records(box, "guard-finding")
    assert logged["findings"][0]["class"] == "drop_table"
    assert logged["findings"][0]["excused_by"].startswith("committed inside the maintenance window")
    assert guard_state(box)["last_action"]["action"] == "logged"

    # Outside any window, a table matching ignore_tables is logged, and the next drop freezes.
    set_guard_config(box, '[guard]\nignore_tables = ["scratch.*"]')
    box.sql("primary", "CREATE DATABASE scratch", "CREATE TABLE scratch.tmp (id INT)", app=True)
    with running_guard(box, tmp_path / "guard2.log") as guard:
        conn = box.connect("primary", app=True)
        try:
            cur = conn.cursor()
            cur.execute("USE scratch")
            cur.execute("DROP TABLE tmp")  # unqualified: the finding must still say scratch.tmp
        finally:
            conn.close()
        guard.wait_seen(gtid_pos(box, "primary"))
        assert applier(box) == "Yes"
        box.sql("primary", "DROP TABLE shop.customers", app=True)
        customers_gtid = gtid_pos(box, "primary")
        wait_frozen(box)
    findings = audit_records(box, "guard-finding")
    assert [f["findings"][0]["tables"] for f in findings] == [["shop.orders"], ["scratch.tmp"]]
    assert "matches [guard] ignore_tables" in findings[1]["findings"][0]["excused_by"]
    (freeze,) = audit_records(box, "guard-freeze")
    assert freeze["gtid"] == customers_gtid
    assert not applied(box, customers_gtid)


def crashed_guard(box: Sandbox, tmp_path: Path) -> None:
    """A guard that judged everything so far, then died with kill -9 (its state says so)."""
    guard = GuardProcess(box, tmp_path / "guard1.log")
    guard.wait_ready()
    box.sql("primary", "INSERT INTO shop.audit (what) VALUES ('seen')", app=True)
    guard.wait_seen(gtid_pos(box, "primary"))
    guard.crash()
    _done, status = drkit_json(box, "status")
    assert status["guard"]["running"] is False
    assert f"pid {guard.pid} is gone" in status["guard"]["reason"]


def test_a_guard_killed_before_the_disaster_freezes_when_it_restarts(
    box: Sandbox, tmp_path: Path
) -> None:
    orders = fingerprint(box, "primary", "shop.orders")
    received = tmp_path / "alerts.jsonl"
    set_guard_config(box, f"[alerts]\ncommands = [{recording_command(received)}]")
    crashed_guard(box, tmp_path)
    # While nobody guards: the disaster, and more writes after it.
    box.sql("primary", "DROP TABLE shop.orders", app=True)
    drop_gtid = gtid_pos(box, "primary")
    box.sql("primary", "INSERT INTO shop.audit (what) VALUES ('after')", app=True)
    with running_guard(box, tmp_path / "guard2.log"):
        wait_frozen(box)
        wait_for(lambda: alerts_in(received), what="the alert")
    (alert,) = alerts_in(received)
    assert alert["transaction"]["gtid"] == drop_gtid and alert["alert"] == "frozen"
    assert [r["gtid"] for r in audit_records(box, "guard-freeze")] == [drop_gtid]
    recover_restores(box, "shop.orders", orders)


def test_a_disaster_indexed_while_the_guard_was_down_still_freezes(
    box: Sandbox, tmp_path: Path
) -> None:
    """This time `drkit index` indexes the disaster before the guard returns: the guard finds it
    in the index, after the last transaction it judged."""
    customers = fingerprint(box, "primary", "shop.customers")
    crashed_guard(box, tmp_path)
    box.sql("primary", "DELETE FROM shop.customers", app=True)
    delete_gtid = gtid_pos(box, "primary")
    done = box.drkit("index")
    assert done.returncode == 0, done.stderr
    with running_guard(box, tmp_path / "guard2.log"):
        wait_frozen(box)
    (freeze,) = audit_records(box, "guard-freeze")
    assert freeze["gtid"] == delete_gtid
    assert freeze["findings"][0]["class"] == "delete_without_where"
    recover_restores(box, "shop.customers", customers)


def test_the_freeze_is_decided_from_the_findings_stored_in_the_index(box: Sandbox) -> None:
    """One transaction empties scratch.tmp (ignored by the guard) and changes every row of
    shop.orders. The index stores both findings; the archived binlog holding the transaction is
    then lost, and the guard still freezes, for the UPDATE: it judged every stored finding, not
    the worst alone (which names the ignored table) and not the archive."""
    set_guard_config(box, '[guard]\nignore_tables = ["scratch.*"]')
    box.sql(
        "primary",
        "CREATE DATABASE scratch",
        "CREATE TABLE scratch.tmp (id INT PRIMARY KEY)",
        "INSERT INTO scratch.tmp VALUES (1), (2)",
        app=True,
    )
    orders = fingerprint(box, "primary", "shop.orders")
    box.sql(
        "primary",
        "START TRANSACTION",
        "DELETE FROM scratch.tmp",
        "UPDATE shop.orders SET note = 'gone'",
        "COMMIT",
        app=True,
    )
    disaster = gtid_pos(box, "primary")
    # The disaster's file is closed and indexed, and the checkpoint moves on to the next file.
    box.sql("primary", "FLUSH BINARY LOGS")
    box.sql("primary", "INSERT INTO shop.audit (what) VALUES ('after')", app=True)
    assert box.drkit("index").returncode == 0

    done, events = drkit_json(box, "events", "--destructive", "--limit", "1")
    assert done.returncode == 0, done.stderr
    (event,) = events
    assert (event["gtid"], event["destructive"]["class"]) == (disaster, "delete_without_where")
    assert [(f["class"], f["severity"], f["tables"]) for f in event["findings"]] == [
        ("delete_without_where", "critical", ["scratch.tmp"]),
        ("update_without_where", "high", ["shop.orders"]),
    ]
    archived = box.config().index.archive_dir / event["file"]
    archived.unlink()

    done, report = drkit_json(box, "guard", "--once")
    assert done.returncode == 0, done.stderr
    assert applier(box) == "No"
    (swept,) = report["findings"]
    assert (swept["action"], swept["transaction"]["gtid"]) == ("frozen", disaster)
    assert [(f["class"], f["action"], f["tables"]) for f in swept["findings"]] == [
        ("delete_without_where", "log", ["scratch.tmp"]),
        ("update_without_where", "freeze", ["shop.orders"]),
    ]
    assert "matches [guard] ignore_tables" in swept["findings"][0]["excused_by"]
    assert not archived.exists(), "judged without the archive: nothing fetched it back"
    assert not applied(box, disaster)
    recover_restores(box, "shop.orders", orders)


def test_a_window_already_missed_alerts_loudly_and_freezes_nothing(
    box: Sandbox, tmp_path: Path
) -> None:
    received = tmp_path / "alerts.jsonl"
    set_guard_config(box, f"[alerts]\ncommands = [{recording_command(received)}]")
    with running_guard(box, tmp_path / "guard1.log") as guard:
        box.sql("primary", "INSERT INTO shop.audit (what) VALUES ('seen')", app=True)
        guard.wait_seen(gtid_pos(box, "primary"))
    # While the guard is down the delay runs out (here: is taken away) and the drop is applied.
    box.sql("delayed", "STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 0", "START SLAVE")
    box.sql("primary", "DROP TABLE shop.orders", app=True)
    drop_gtid = gtid_pos(box, "primary")
    wait_for(lambda: applied(box, drop_gtid), what="the delayed replica to apply the drop")
    assert fingerprint(box, "delayed", "shop.orders") is None
    with running_guard(box, tmp_path / "guard2.log"):
        wait_for(lambda: alerts_in(received), what="the alert")
        assert applier(box) == "Yes", "nothing left to save there: it is not frozen"
        done = box.drkit("status")
    (alert,) = alerts_in(received)
    assert (alert["alert"], alert["severity"]) == ("window_missed", "window_missed")
    assert alert["transaction"]["gtid"] == drop_gtid
    assert alert["nodes"][0]["action"] == "window_missed"
    assert "WINDOW MISSED on delayed" in alert["summary"]
    assert "restore from a backup" in alert["next"]
    (missed,) = guard_state(box)["missed"]
    assert (missed["gtid"], missed["node"]) == (drop_gtid, "delayed")
    assert "WINDOWS MISSED: 1" in done.stdout
    assert not [r for r in audit_records(box, "sql") if "STOP SLAVE" in r["statement"]]


def test_once_judges_what_is_there_and_exits(box: Sandbox) -> None:
    done, first = drkit_json(box, "guard", "--once")
    assert done.returncode == 0, done.stderr
    assert first["judged"] > 0 and first["findings"] == [], "create_shop destroys nothing"
    box.sql("primary", "TRUNCATE TABLE shop.orders", app=True)
    done, second = drkit_json(box, "guard", "--once")
    assert done.returncode == 0, done.stderr
    assert second["judged"] == 1
    (finding,) = second["findings"]
    assert finding["action"] == "frozen" and finding["findings"][0]["class"] == "truncate"
    assert applier(box) == "No"
    _done, status = drkit_json(box, "status")
    assert status["guard"]["running"] is False
    assert status["guard"]["reason"].startswith("not running: ran once at")


def test_the_guard_rides_out_a_primary_restart(box: Sandbox, tmp_path: Path) -> None:
    orders = fingerprint(box, "primary", "shop.orders")
    with running_guard(box, tmp_path / "guard.log"):
        box.kill("primary")
        wait_for(
            lambda: str(guard_state(box).get("primary", "")).startswith("reconnecting"),
            what="the guard to notice the primary is gone",
        )
        _done, status = drkit_json(box, "status")
        assert status["guard"]["running"] is True, "a lost primary does not stop the guard"
        box.start("primary")
        wait_for(
            lambda: str(guard_state(box).get("primary", "")).startswith("following"),
            timeout=30,
            what="the guard to follow the restarted primary",
        )
        box.sql("primary", "DROP TABLE shop.orders", app=True)
        drop_gtid = gtid_pos(box, "primary")
        wait_frozen(box)
        # The guard freezes first and writes its state file after: wait for the record too.
        wait_for(
            lambda: (guard_state(box).get("last_finding") or {}).get("gtid") == drop_gtid,
            what="the guard's state to name the DROP as its last finding",
        )
    recover_restores(box, "shop.orders", orders)


def test_a_delayed_replica_down_at_the_disaster_is_frozen_when_it_returns(
    box: Sandbox, tmp_path: Path
) -> None:
    received = tmp_path / "alerts.jsonl"
    set_guard_config(box, f"[alerts]\ncommands = [{recording_command(received)}]\nretries = 0")
    with running_guard(box, tmp_path / "guard.log"):
        box.kill("delayed")
        box.sql("primary", "DROP TABLE shop.orders", app=True)
        drop_gtid = gtid_pos(box, "primary")
        wait_for(lambda: alerts_in(received), what="the first alert")
        (failed,) = alerts_in(received)
        assert (failed["alert"], failed["nodes"][0]["action"]) == ("freeze_failed", "failed")
        (pending,) = guard_state(box)["pending"]
        assert (pending["node"], pending["gtid"]) == ("delayed", drop_gtid)
        box.start("delayed")  # replication restarts with its delay: the drop is an hour away
        wait_frozen(box)
        wait_for(lambda: len(alerts_in(received)) == 2, what="the alert after the retry")
    retried = alerts_in(received)[1]
    assert (retried["alert"], retried["nodes"][0]["action"]) == ("frozen", "frozen")
    assert retried["transaction"]["gtid"] == drop_gtid
    assert not applied(box, drop_gtid)
    assert guard_state(box)["pending"] == []


def in_current_pos(box: Sandbox, gtid: str) -> bool:
    """Whether the delayed node's gtid_current_pos covers `gtid` (its domain at that seq or past)."""
    domain, _server, seq = (int(part) for part in gtid.split("-"))
    pos = str(box.value("delayed", "SELECT @@gtid_current_pos"))
    return any(
        int(d) == domain and int(s) >= seq
        for d, _, s in (item.split("-") for item in filter(None, pos.split(",")))
    )


def delayed_catches_up(box: Sandbox) -> None:
    """Let the delayed node apply everything so far, then give it its hour of delay back."""
    target = gtid_pos(box, "primary")
    box.sql("delayed", "STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 0", "START SLAVE")
    wait_for(lambda: gtid_pos(box, "delayed") == target, what="the delayed node to catch up")
    box.sql("delayed", "STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 3600", "START SLAVE")


def test_a_failed_freeze_survives_a_guard_restart_and_holds_when_the_node_returns(
    box: Sandbox, tmp_path: Path
) -> None:
    """The fault-injection trial of issue #12: the delayed node is down when a DROP arrives, the
    guard is restarted, then the delayed node comes back: the restarted guard must freeze it."""
    orders = fingerprint(box, "primary", "shop.orders")
    delayed_catches_up(box)  # so that the delayed node holds the rows the DROP removes
    assert fingerprint(box, "delayed", "shop.orders") == orders
    received = tmp_path / "alerts.jsonl"
    set_guard_config(box, f"[alerts]\ncommands = [{recording_command(received)}]\nretries = 0")
    with running_guard(box, tmp_path / "guard1.log"):
        box.kill("delayed")
        box.sql("primary", "DROP TABLE shop.orders", app=True)
        drop_gtid = gtid_pos(box, "primary")
        wait_for(lambda: alerts_in(received), what="the COULD NOT FREEZE alert")
    (failed,) = alerts_in(received)
    assert (failed["alert"], failed["transaction"]["gtid"]) == ("freeze_failed", drop_gtid)
    assert "COULD NOT FREEZE delayed" in failed["summary"]
    assert failed["nodes"][0]["detail"].startswith("state unknown")
    (pending,) = guard_state(box)["pending"]  # kept in the state file of the stopped guard
    assert (pending["node"], pending["id"], pending["gtid"]) == (
        "delayed",
        failed["transaction"]["id"],
        drop_gtid,
    )
    assert pending["attempts"] >= 1 and pending["reason"].startswith("state unknown")
    assert oct((box.directory / "drkit-guard.json").stat().st_mode & 0o777) == "0o600"

    with running_guard(box, tmp_path / "guard2.log") as guard:
        # Retried first, still down: paged again, and `drkit status` shows it pending.
        wait_for(lambda: len(alerts_in(received)) == 2, what="the alert after the restart")
        again = alerts_in(received)[1]
        assert (again["alert"], again["transaction"]["gtid"]) == ("freeze_failed", drop_gtid)
        done = box.drkit("status")
        assert f"FREEZE PENDING on delayed for #{pending['id']} {drop_gtid}" in done.stdout
        _done, status = drkit_json(box, "status")
        assert [p["gtid"] for p in status["guard"]["state"]["pending"]] == [drop_gtid]

        box.start("delayed")  # replication restarts with its delay: the drop is an hour away
        wait_frozen(box)
        wait_for(lambda: len(alerts_in(received)) == 3, what="the alert once the freeze held")
        wait_for(lambda: guard_state(box)["pending"] == [], what="the pending freeze to clear")
    assert guard.process.returncode == 0, guard.output()
    held = alerts_in(received)[2]
    assert (held["alert"], held["nodes"][0]["action"]) == ("frozen", "frozen")
    assert held["transaction"]["gtid"] == drop_gtid
    assert applier(box) == "No"
    assert not in_current_pos(box, drop_gtid), "the delayed replica never applied the DROP"
    assert fingerprint(box, "delayed", "shop.orders") == orders, "its rows are all still there"
    stopped = guard_state(box)
    assert stopped["pending"] == [] and stopped["last_action"]["nodes"] == {"delayed": "frozen"}
    retries = [r for r in audit_records(box, "guard-freeze") if r.get("retry")]
    assert [r["alert"] for r in retries] == ["freeze_failed", "frozen"]
    recover_restores(box, "shop.orders", orders)


def test_once_reports_a_window_missed_for_a_pending_freeze_the_node_applied(
    box: Sandbox, tmp_path: Path
) -> None:
    """`drkit guard --once`: a first start freezes for a destructive transaction already indexed
    (and a later run does not freeze for it again once resumed); a freeze that cannot be done
    is exit 1 and stays pending; when the node has applied it by the next run, that run says
    window_missed, with the way back."""
    received = tmp_path / "alerts.jsonl"
    set_guard_config(box, f"[alerts]\ncommands = [{recording_command(received)}]\nretries = 0")
    box.sql("primary", "DELETE FROM shop.customers", app=True)
    delete_gtid = gtid_pos(box, "primary")
    assert box.drkit("index").returncode == 0
    done, first = drkit_json(box, "guard", "--once")
    assert done.returncode == 0, done.stderr
    assert applier(box) == "No", "indexed before any guard ran, not applied yet: frozen"
    (swept,) = first["findings"]
    assert (swept["transaction"]["gtid"], swept["action"]) == (delete_gtid, "frozen")
    assert first["pending"] == []
    # Resuming applies the DELETE after the delay: named on purpose (invariant 1).
    through = str(swept["transaction"]["id"])
    assert box.drkit("resume", "--yes", "--through", through).returncode == 0
    assert applier(box) == "Yes"
    done, second = drkit_json(box, "guard", "--once")
    assert done.returncode == 0, done.stderr
    assert (second["findings"], applier(box)) == ([], "Yes"), "judged once is enough"

    box.kill("delayed")
    box.sql("primary", "DROP TABLE shop.orders", app=True)
    drop_gtid = gtid_pos(box, "primary")
    done, third = drkit_json(box, "guard", "--once")
    assert done.returncode == 1, "a freeze it could not do is not done"
    (finding,) = third["findings"]
    assert (finding["action"], finding["nodes"][0]["action"]) == ("freeze_failed", "failed")
    (pending,) = third["pending"]
    assert (pending["node"], pending["gtid"]) == ("delayed", drop_gtid)

    # While no guard runs, the node returns without its delay and applies the DROP.
    box.start("delayed")
    box.sql("delayed", "STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 0", "START SLAVE")
    wait_for(lambda: in_current_pos(box, drop_gtid), what="the delayed replica to apply the drop")
    done, fourth = drkit_json(box, "guard", "--once")
    assert done.returncode == 0, done.stderr
    assert fourth["pending"] == []
    (missed,) = fourth["findings"]
    assert (missed["action"], missed["transaction"]["gtid"]) == ("window_missed", drop_gtid)
    assert applier(box) == "Yes", "nothing left to save there: it is not frozen"
    alerts = alerts_in(received)
    assert [(a["alert"], a["transaction"]["gtid"]) for a in alerts] == [
        ("frozen", delete_gtid),
        ("freeze_failed", drop_gtid),
        ("window_missed", drop_gtid),
    ]
    last = alerts[-1]
    assert "WINDOW MISSED on delayed" in last["summary"]
    assert last["next"].startswith(
        f"no delayed replica holds the data from before #{last['transaction']['id']} ({drop_gtid})"
    )
    assert "restore from a backup taken before" in last["next"]
    state = guard_state(box)
    assert [(m["gtid"], m["node"]) for m in state["missed"]] == [(drop_gtid, "delayed")]
    assert "WINDOWS MISSED: 1" in box.drkit("status").stdout
