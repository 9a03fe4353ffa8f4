"""`drkit inspect`: the database as of T on the delayed replica, through the recovery engine.

Commit times are set with `SET timestamp` on the primary, so T is exact and nothing sleeps; the
delayed replica (delay one hour) has applied none of it when a test starts.
"""

from __future__ import annotations

import json
import time

from drkit.timeparse import iso
from tests.support.sandbox import Sandbox
from tests.support.workload import delayed_status, drkit_json, index


def at(box: Sandbox, when: float, *statements: str) -> None:
    """Statements on the primary, committed at `when` as far as the binlog says."""
    box.sql("primary", f"SET timestamp = {when:.0f}", *statements, app=True)


def history(box: Sandbox, now: float) -> dict[str, float]:
    """Order 42's total goes 10 -> 20 -> 30, a minute apart; returns the moments between."""
    at(box, now - 900, "CREATE DATABASE shop")
    at(
        box,
        now - 900,
        "CREATE TABLE shop.orders (id INT PRIMARY KEY, total INT)",
        "INSERT INTO shop.orders VALUES (41, 1), (42, 10), (43, 3)",
    )
    at(box, now - 600, "UPDATE shop.orders SET total = 20 WHERE id = 42")
    at(box, now - 540, "UPDATE shop.orders SET total = 30 WHERE id = 42")
    index(box)
    return {"first": now - 700, "second": now - 570, "third": now - 500}


def inspect(box: Sandbox, when: float, *args: str) -> tuple[int, dict]:
    done, data = drkit_json(
        box,
        "inspect",
        "--at",
        iso(when),
        "-e",
        "SELECT id, total FROM shop.orders ORDER BY id",
        "--yes",
        *args,
    )
    return done.returncode, data or {}


def test_inspect_answers_as_of_t_and_restores_the_delay(box: Sandbox) -> None:
    now = time.time()
    moments = history(box, now)
    # Nothing applied yet on the delayed copy: the table does not even exist there.
    assert (
        box.value(
            "delayed", "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop'"
        )
        == 0
    )
    code, first = inspect(box, moments["first"])
    assert code == 0, first
    assert first["results"][0]["columns"] == ["id", "total"]
    assert first["results"][0]["rows"] == [[41, 1], [42, 10], [43, 3]]
    assert first["resumed"] is True and first["held"] is False
    status = delayed_status(box)
    assert status["SQL_Delay"] == 3600 and status["Slave_SQL_Running"] == "Yes"
    assert status["Using_Gtid"] == "Slave_Pos"
    # status says which past can be seen: forward from the INSERT the replica applied last.
    shown = drkit_json(box, "status")[1]
    (window,) = shown["inspectable"]
    assert window["applied_at"] == round(now - 900) and window["newest"] == round(now - 540)
    # Further forward still works; the answer moves with T.
    code, second = inspect(box, moments["second"])
    assert code == 0, second
    assert second["results"][0]["rows"][1] == [42, 20]
    # Back in time is refused with the window that can be seen, and nothing changes.
    before = box.value("delayed", "SELECT @@gtid_current_pos")
    code, refused = inspect(box, moments["first"])
    assert code == 3 and refused["exit"] == 3
    assert "earlier than what the delayed replica" in refused["error"]
    assert "rolling forward reaches" in refused["hint"] and "asof" in refused["hint"]
    assert box.value("delayed", "SELECT @@gtid_current_pos") == before


def test_hold_keeps_the_replica_at_t_until_resume(box: Sandbox) -> None:
    moments = history(box, time.time())
    code, held = inspect(box, moments["third"], "--hold")
    assert code == 0, held
    assert held["results"][0]["rows"][1] == [42, 30]
    assert held["held"] is True and held["resumed"] is False
    status = delayed_status(box)
    assert status["Slave_SQL_Running"] == "No"
    record = json.loads((box.directory / "drkit-recovery.json").read_text())
    assert record["message"].startswith("held by inspect")
    shown = box.drkit("status")
    assert "held by inspect" in shown.stdout
    resumed = box.drkit("resume", "--yes")
    assert resumed.returncode == 0, resumed.stderr
    assert delayed_status(box)["SQL_Delay"] == 3600


def test_inspect_never_rolls_past_an_unnamed_drop(box: Sandbox) -> None:
    now = time.time()
    moments = history(box, now)
    at(box, now - 450, "DROP TABLE shop.orders")
    at(box, now - 400, "CREATE TABLE shop.other (id INT PRIMARY KEY)")
    index(box)
    untouched = box.value("delayed", "SELECT @@gtid_current_pos")
    code, refused = inspect(box, now - 300)
    assert code == 3 and refused["destructive"], refused
    assert box.value("delayed", "SELECT @@gtid_current_pos") == untouched
    # Before the DROP it answers, and then holds rather than restart towards the DROP unnamed.
    code, answer = inspect(box, moments["third"])
    assert code == 0, answer
    assert answer["results"][0]["rows"][1] == [42, 30]
    assert answer["held"] is True and "nobody named" in answer["held_reason"]
    assert delayed_status(box)["Slave_SQL_Running"] == "No"
    assert box.value("delayed", "SELECT COUNT(*) FROM shop.orders") == 3, "the rescue copy stays"


def test_dry_run_and_usage(box: Sandbox) -> None:
    moments = history(box, time.time())
    dry = box.drkit("inspect", "--at", iso(moments["first"]), "-e", "SELECT 1", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "read-only snapshot" in dry.stdout and "SELECT 1" in dry.stdout
    assert delayed_status(box)["SQL_Delay"] == 3600, "a dry run changes nothing"
    both = box.drkit("inspect", "--at", "-1h", "-e", "SELECT 1", "--shell")
    assert both.returncode == 2 and "exactly one of" in both.stderr


def test_shell_is_the_servers_client_at_t_and_read_only(box: Sandbox) -> None:
    moments = history(box, time.time())
    done = box.drkit(
        "inspect",
        "--at",
        iso(moments["second"]),
        "--shell",
        "--yes",
        input="SELECT total FROM shop.orders WHERE id = 42;\nINSERT INTO shop.orders VALUES (99, 9);\n",
    )
    assert done.returncode == 0, done.stderr
    assert "20" in done.stdout.split(), "the client saw order 42 as of T"
    assert "READ ONLY" in done.stderr.upper(), "writes are refused in the session"
    assert box.value("delayed", "SELECT COUNT(*) FROM shop.orders WHERE id = 99") == 0
    assert delayed_status(box)["SQL_Delay"] == 3600, "the delay is restored after the client"
