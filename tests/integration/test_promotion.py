"""`drkit check promotion` and `drkit promote` on a real sandbox behind a real HAProxy.

One sandbox for the module, after DROP TABLE and `recover --skip`; the tests run in file order and
the last one promotes. Each test sets up the state it needs itself (fencing is idempotent).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import mysql.connector
import pytest

from drkit.io.haproxy import HaproxyClient
from tests.support.sandbox import Sandbox, start_sandbox
from tests.support.scenario import drkit_json, drop_orders_and_recover, fingerprint, run_drkit

pytestmark = pytest.mark.haproxy

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NODES = ("primary", "replica", "delayed")


@pytest.fixture(scope="module")
def recovered(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Sandbox, tuple[int, int]]]:
    """DROP TABLE shop.orders, two more writes, then `recover --skip latest-destructive`."""
    box = start_sandbox(tmp_path_factory.mktemp("promote"), delay=3600, haproxy=True)
    try:
        yield box, drop_orders_and_recover(box, "skip")
    finally:
        box.down(purge=True)


def snapshot(box: Sandbox) -> dict[str, Any]:
    """What a promotion would change: read_only, GTIDs, replication, HAProxy's server states."""
    state: dict[str, Any] = {}
    for name in NODES:
        variables = box.sql(
            name,
            "SELECT @@read_only AS ro, @@gtid_binlog_pos AS binlog, @@gtid_slave_pos AS slave",
        )[0]
        status = box.replica_status(name)
        kept = (
            "Master_Host",
            "Master_Port",
            "Slave_IO_Running",
            "Slave_SQL_Running",
            "Relay_Master_Log_File",
            "Exec_Master_Log_Pos",
            "SQL_Delay",
        )
        state[name] = (variables, {key: status.get(key) for key in kept})
    lb = box.config().loadbalancer
    assert lb is not None
    state["haproxy"] = HaproxyClient.from_config(lb).show_servers_state(lb.backend)
    return state


def frontend(box: Sandbox) -> Any:
    """A connection through HAProxy's writers frontend, as an application makes it."""
    lb = box.config().loadbalancer
    assert lb is not None and lb.frontend is not None
    port = int(lb.frontend.rpartition(":")[2])
    return box.connect("primary", port=port)


def query(conn: Any, sql: str) -> Any:
    cur = conn.cursor()
    cur.execute(sql)
    row = cur.fetchone()
    cur.close()
    return row[0] if row else None


def audit_statements(box: Sandbox) -> int:
    path = box.directory / "drkit-audit.jsonl"
    if not path.exists():
        return 0
    return sum('"kind": "sql"' in line for line in path.read_text().splitlines())


def test_promote_dry_run_prints_every_statement_and_changes_nothing(
    recovered: tuple[Sandbox, tuple[int, int]],
) -> None:
    box, _ = recovered
    before = snapshot(box)
    audited = audit_statements(box)
    done, data = drkit_json(box, "promote", "--dry-run")
    assert done.returncode == 0, done.stderr
    statements = data["plan"]["statements"]
    expected_order = [
        "primary: SET GLOBAL read_only = ON",
        "haproxy: set server mysql_primary/db1 state maint",
        "haproxy: shutdown sessions server mysql_primary/db1",
        "delayed: RESET SLAVE ALL",
        "delayed: SET GLOBAL read_only = OFF",
        "haproxy: set server mysql_primary/db3 state ready",
    ]
    assert [s for s in statements if s in expected_order] == expected_order
    text = box.drkit("promote", "--dry-run")
    assert text.returncode == 0, text.stderr
    for statement in statements:
        assert statement.split(": ", 1)[1] in text.stdout, statement
    assert "replica: rebuild from the new primary" in text.stdout
    assert snapshot(box) == before
    assert audit_statements(box) == audited, "a dry run sends no statement"


def test_check_promotion_says_promote_fences_a_writable_old_primary_and_passes_once_fenced(
    recovered: tuple[Sandbox, tuple[int, int]],
) -> None:
    box, _ = recovered
    box.sql("primary", "SET GLOBAL read_only = OFF")
    # One verdict for the CLI and the console: `drkit promote` would go ahead, fencing it first.
    possible, checks = drkit_json(box, "check", "promotion")
    assert possible.returncode == 0, possible.stderr
    assert checks["failed"] == ["old-primary-fenced"]
    assert checks["blocking"] == []  # `drkit promote` would fence it itself
    assert checks["possible"] is True
    assert checks["verdict"] == (
        "promotion is possible: `drkit promote` puts right first: old-primary-fenced"
    )
    text = box.drkit("check", "promotion")
    assert "fix   old-primary-fenced" in text.stdout
    assert "primary is writable (read_only is OFF)" in text.stdout
    assert text.stdout.rstrip().endswith(checks["verdict"])

    box.sql("primary", "SET GLOBAL read_only = ON")
    passed, checks = drkit_json(box, "check", "promotion")
    assert passed.returncode == 0, passed.stdout
    assert checks["ok"] is True and checks["failed"] == []
    by_name = {row["name"]: row for row in checks["results"]}
    assert by_name["recovery-point"]["ok"] and by_name["unapplied"]["ok"]
    assert by_name["lost-transactions"]["ok"], "the skip kept the writes after the DROP"
    assert "applied on primary, replica" in by_name["destructive-applied"]["reason"]
    assert "not applied on delayed (skipped by drkit)" in by_name["destructive-applied"]["reason"]


def stand_in_drbdsetup(folder: Path, fixture: str) -> dict[str, str]:
    """A `drbdsetup` first on PATH that prints a fixture; the environment that finds it."""
    folder.mkdir(exist_ok=True)
    script = folder / "drbdsetup"
    script.write_text(f"#!/bin/sh\nexec cat '{FIXTURES / fixture}'\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return {"PATH": f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_stand_in_drbdsetup_drives_the_drbd_checks(
    recovered: tuple[Sandbox, tuple[int, int]], tmp_path: Path
) -> None:
    box, _ = recovered
    box.sql("primary", "SET GLOBAL read_only = ON")
    config = box.directory / "drkit-drbd.toml"
    config.write_text(
        box.config_file.read_text(encoding="utf-8")
        + '\n[[drbd]]\nresource = "some-resource"\n'
        + 'command = ["drbdsetup", "status", "--json", "some-resource"]\n',
        encoding="utf-8",
    )
    try:
        healthy = stand_in_drbdsetup(tmp_path / "healthy", "drbd/drbdsetup-status-9.json")
        done = run_drkit(config, "check", "promotion", "--json", env=healthy)
        assert done.returncode == 0, done.stdout
        rows = {row["name"]: row for row in json.loads(done.stdout)["results"]}
        assert rows["drbd"]["ok"]
        assert rows["drbd"]["reason"] == (
            "some-resource: Secondary, disk UpToDate, 1 peer connected and up to date"
        )
        assert not rows["drbd-failover"]["ok"] and not rows["drbd-failover"]["critical"]

        split = stand_in_drbdsetup(
            tmp_path / "split", "drbd-derived/drbdsetup-status-9-split-brain.json"
        )
        refused = run_drkit(config, "check", "promotion", "--json", env=split)
        assert refused.returncode == 3
        data = json.loads(refused.stdout)
        assert data["failed"] == ["drbd"]
        drbd = next(row for row in data["results"] if row["name"] == "drbd")
        assert "the connection to peer some-peer is StandAlone" in drbd["reason"]

        before = snapshot(box)
        promote = run_drkit(config, "promote", "--yes", env=split)
        assert promote.returncode == 3, promote.stderr
        assert "promotion refused, nothing was changed: drbd:" in promote.stderr
        assert snapshot(box) == before
    finally:
        config.unlink(missing_ok=True)


def test_app_cnf_goes_through_the_haproxy_frontend(
    recovered: tuple[Sandbox, tuple[int, int]],
) -> None:
    """Issue 18 item 19: application traffic must not bypass the load balancer."""
    box, _ = recovered
    text = (box.directory / "app.cnf").read_text()
    haproxy = box.state.haproxy
    assert haproxy is not None
    assert f"port={haproxy.frontend_port}" in text.replace(" ", ""), text.split("password")[0]
    assert f'frontend = "127.0.0.1:{haproxy.frontend_port}"' in box.config_file.read_text()


def test_promote_makes_the_delayed_node_the_writer_behind_haproxy(
    recovered: tuple[Sandbox, tuple[int, int]],
) -> None:
    box, orders = recovered
    box.sql("primary", "SET GLOBAL read_only = OFF")  # promote fences it itself
    primary_id = box.value("primary", "SELECT @@server_id")
    delayed_id = box.value("delayed", "SELECT @@server_id")
    assert primary_id != delayed_id
    old_client = frontend(box)
    assert query(old_client, "SELECT @@server_id") == primary_id

    done, report = drkit_json(box, "promote", "--yes")
    assert done.returncode == 0, done.stderr
    assert report["ok"] is True
    assert report["new_primary"] == "delayed" and report["server_id"] == delayed_id
    assert report["loadbalancer_writers"] == ["db3"]
    fates = {fate["node"]: fate for fate in report["fates"]}
    assert fates["delayed"]["fate"] == "new-primary"
    assert fates["primary"]["fate"] == "rebuild" and fates["primary"]["applied_destructive"]
    assert fates["replica"]["fate"] == "rebuild" and fates["replica"]["applied_destructive"]
    assert any("mariadb-dump" in command for command in fates["replica"]["commands"])

    with closing(frontend(box)) as client:
        assert query(client, "SELECT @@server_id") == delayed_id
        assert query(client, "SELECT @@read_only") == 0
        cur = client.cursor()
        cur.execute("INSERT INTO shop.audit (what) VALUES ('through haproxy after promotion')")
        cur.close()
    assert (
        box.value(
            "delayed",
            "SELECT COUNT(*) FROM shop.audit WHERE what = 'through haproxy after promotion'",
        )
        == 1
    )
    assert fingerprint(box, "delayed", "shop.orders") == orders, "the rescued table is served"
    assert box.value("delayed", "SELECT COUNT(*) FROM shop.audit") == 3
    assert box.replica_status("delayed") == {}, "replication reset"
    assert box.value("primary", "SELECT @@read_only") == 1, "the old primary is fenced"
    with pytest.raises(mysql.connector.Error, match="read-only"):
        box.sql("primary", "INSERT INTO shop.audit (what) VALUES ('too late')", app=True)
    assert box.replica_status("replica")["Master_Port"] == box.port("primary"), "never repointed"
    # The session opened through HAProxy before the switch was cut, not left writing to db1.
    with pytest.raises(mysql.connector.Error):
        query(old_client, "SELECT @@server_id")
    old_client.close()
