"""`drkit index` on a sandbox primary that ran every kind of destructive statement: each is found
with the right class at the GTID and start position the primary itself reports, every transaction
is indexed once, the archive is the primary's binlog byte for byte, and `drkit events` searches it."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest

from tests.support.indexing import archive_differences, index_starts, primary_starts
from tests.support.sandbox import Sandbox

pytestmark = pytest.mark.integration

# (destructive class, the statement) in the order the workload runs them; mass_rows is 1000.
DESTRUCTIVE = [
    ("update_without_where", "UPDATE w1.small SET v = v + 1"),
    ("delete_without_where", "DELETE FROM w1.small"),
    ("mass_update", "UPDATE w1.big SET v = v + 1 WHERE id > 0"),
    ("mass_delete", "DELETE FROM w1.big WHERE id > 200"),
    ("alter_drop", "ALTER TABLE w1.big DROP COLUMN note"),
    ("rename_table", "RENAME TABLE w1.big TO w1.big_old"),
    ("truncate", "TRUNCATE TABLE w1.scratch"),
    ("drop_table", "DROP TABLE w1.scratch"),
    ("drop_database", "DROP DATABASE w2"),
]
SETUP = [
    "CREATE DATABASE w1",
    "CREATE DATABASE w2",
    "CREATE TABLE w2.kept (id INT PRIMARY KEY)",
    "CREATE TABLE w1.small (id INT PRIMARY KEY, v INT)",
    "INSERT INTO w1.small VALUES (1, 1), (2, 2), (3, 3)",
    "CREATE TABLE w1.big (id INT PRIMARY KEY AUTO_INCREMENT, v INT, note VARCHAR(20))",
    "INSERT INTO w1.big (v, note) SELECT seq, 'n' FROM w1.seq_1_to_1500",
    "CREATE TABLE w1.scratch (id INT PRIMARY KEY)",
    "INSERT INTO w1.scratch VALUES (1), (2)",
]
HARMLESS = [
    "UPDATE w1.big_old SET v = 0 WHERE id = 7",
    "DELETE FROM w1.big_old WHERE id = 8",
    "INSERT INTO w1.small VALUES (10, 10)",
]


@pytest.fixture(scope="module")
def box(module_box: Sandbox) -> Sandbox:
    return module_box


@pytest.fixture(scope="module")
def workload(box: Sandbox) -> dict[str, Any]:
    """Run the workload in one session: the GTID of each destructive statement, and the times."""
    conn = box.connect("primary")
    gtids: dict[str, str] = {}
    harmless: list[str] = []
    try:
        cur = conn.cursor()
        for statement in SETUP:
            cur.execute(statement)
        started = time.time()
        for category, statement in DESTRUCTIVE:
            cur.execute(statement)
            cur.execute("SELECT @@last_gtid")
            gtids[category] = str(cur.fetchone()[0])
        cur.execute("FLUSH BINARY LOGS")  # a second file: the scan must follow the rotation
        for statement in HARMLESS:
            cur.execute(statement)
            cur.execute("SELECT @@last_gtid")
            harmless.append(str(cur.fetchone()[0]))
    finally:
        conn.close()
    run = box.drkit("index")
    assert run.returncode == 0, run.stderr
    return {"gtids": gtids, "harmless": harmless, "started": started, "output": run.stdout}


def events(box: Sandbox, *args: str) -> list[dict[str, Any]]:
    run = box.drkit("events", "--json", *args)
    assert run.returncode == 0, run.stderr
    data: list[dict[str, Any]] = json.loads(run.stdout)
    return data


def test_each_destructive_class_is_found_where_the_primary_says_it_starts(
    box: Sandbox, workload: dict[str, Any]
) -> None:
    starts = {gtid: (file, pos) for gtid, file, pos in primary_starts(box)}
    found = {record["gtid"]: record for record in events(box, "--destructive", "--limit", "100")}
    assert set(found) == set(workload["gtids"].values())
    for category, gtid in workload["gtids"].items():
        record = found[gtid]
        assert record["destructive"]["class"] == category, record
        assert (record["file"], record["start_pos"]) == starts[gtid], category


def test_every_transaction_is_indexed_once_in_binlog_order(
    box: Sandbox, workload: dict[str, Any]
) -> None:
    index = box.config().index.path
    listed = index_starts(index)
    assert listed == primary_starts(box)
    assert len({gtid for gtid, _, _ in listed}) == len(listed)
    assert f"({len(listed)} in all)" in workload["output"]


def test_records_carry_tables_rows_and_statement(box: Sandbox, workload: dict[str, Any]) -> None:
    gtids = workload["gtids"]
    by_gtid = {record["gtid"]: record for record in events(box, "--limit", "1000")}
    delete_all = by_gtid[gtids["delete_without_where"]]
    assert delete_all["kind"] == "dml"
    assert delete_all["tables"] == ["w1.small"]
    assert delete_all["rows"] == {"insert": 0, "update": 0, "delete": 3}
    assert delete_all["statement"] == "DELETE FROM w1.small"
    assert delete_all["destructive"]["severity"] == "critical"
    mass = by_gtid[gtids["mass_update"]]
    assert mass["rows"] == {"insert": 0, "update": 1500, "delete": 0}
    assert by_gtid[gtids["mass_delete"]]["rows"]["delete"] == 1300
    dropped = by_gtid[gtids["drop_table"]]
    assert dropped["kind"] == "ddl"
    assert dropped["tables"] == ["w1.scratch"]
    assert dropped["statement"] == "DROP TABLE `w1`.`scratch` /* generated by server */"
    assert by_gtid[gtids["drop_database"]]["tables"] == ["w2.*"]
    harmless = [by_gtid[gtid] for gtid in workload["harmless"]]
    assert [record["destructive"] for record in harmless] == [None, None, None]
    assert [record["rows"] for record in harmless] == [
        {"insert": 0, "update": 1, "delete": 0},
        {"insert": 0, "update": 0, "delete": 1},
        {"insert": 1, "update": 0, "delete": 0},
    ]


def test_json_output_has_the_documented_shape(box: Sandbox, workload: dict[str, Any]) -> None:
    (record,) = events(box, "--destructive", "--limit", "1")
    documented = {"id", "gtid", "file", "start_pos", "end_pos", "timestamp", "kind", "tables"}
    documented |= {"rows", "statement", "destructive"}
    assert documented <= set(record)
    assert record["gtid"] == workload["gtids"]["drop_database"]  # newest first
    assert set(record["rows"]) == {"insert", "update", "delete"}
    assert set(record["destructive"]) >= {"class", "severity", "reason"}
    stamp = dt.datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00"))
    assert stamp.utcoffset() == dt.timedelta(0)
    assert abs(stamp.timestamp() - workload["started"]) < 120
    assert record["end_pos"] > record["start_pos"]


def test_events_filters(box: Sandbox, workload: dict[str, Any]) -> None:
    gtids = workload["gtids"]
    small = events(box, "--table", "w1.small")
    assert [r["gtid"] for r in small][:3] == [
        workload["harmless"][2],
        gtids["delete_without_where"],
        gtids["update_without_where"],
    ]
    assert all("w1.small" in r["tables"] for r in small)
    wildcard = {r["gtid"] for r in events(box, "--table", "w1.big*", "--destructive")}
    assert wildcard == {
        gtids[c] for c in ("mass_update", "mass_delete", "alter_drop", "rename_table")
    }
    # A dropped database counts as touching every table it held.
    assert [r["gtid"] for r in events(box, "--table", "w2.kept", "--destructive")] == [
        gtids["drop_database"]
    ]
    assert len(events(box, "--destructive", "--limit", "3")) == 3
    assert len(events(box, "--since", "-1h", "--destructive")) == len(DESTRUCTIVE)
    assert events(box, "--until", "-1h") == []
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert events(box, "--since", future) == []
    until_now = events(box, "--until", dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert len(until_now) == len(index_starts(box.config().index.path))


def test_human_output_names_each_finding(box: Sandbox, workload: dict[str, Any]) -> None:
    run = box.drkit("events", "--destructive")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].split()[:4] == ["ID", "TIME", "GTID", "START"]
    for category, gtid in workload["gtids"].items():
        (line,) = [line for line in lines if f" {gtid} " in line]
        assert category in line
    bad = box.drkit("events", "--since", "yesterday-ish")
    assert bad.returncode == 2
    assert "not a time" in bad.stderr


def test_archive_is_the_primarys_binlog_byte_for_byte(
    box: Sandbox, workload: dict[str, Any]
) -> None:
    assert archive_differences(box, box.config().index.archive_dir) == {}


def test_a_second_run_adds_only_what_is_new(box: Sandbox, workload: dict[str, Any]) -> None:
    before = index_starts(box.config().index.path)
    box.sql("primary", "INSERT INTO w1.small VALUES (11, 11)")
    run = box.drkit("index")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("indexed 1 new transactions")
    after = index_starts(box.config().index.path)
    assert after[:-1] == before
    assert after == primary_starts(box)
