"""`drkit events --table` finds the schema changes of a table, and a DROP's rows read as unknown
(issue 18, item 12), on a real sandbox."""

from __future__ import annotations

import time

from drkit.sandbox.layout import SandboxLayout
from drkit.sandbox.workload import write_sample_data
from drkit.timeparse import iso
from tests.support.sandbox import Sandbox
from tests.support.workload import drkit_json


def test_create_alter_rename_and_drop_are_found_by_table(box: Sandbox) -> None:
    write_sample_data(SandboxLayout(box.directory.resolve()), box.state)
    box.sql("primary", "CREATE TABLE shop.notes (id INT PRIMARY KEY)")
    box.sql("primary", "ALTER TABLE shop.notes ADD COLUMN body TEXT")
    box.sql("primary", "RENAME TABLE shop.notes TO shop.memos")
    box.sql("primary", "DROP TABLE shop.memos")
    assert box.drkit("index").returncode == 0

    done, notes = drkit_json(box, "events", "--table", "shop.notes")
    assert done.returncode == 0, done.stderr
    statements = [e["statement"].split()[0].upper() for e in notes]
    assert statements == ["RENAME", "ALTER", "CREATE"], statements
    _, memos = drkit_json(box, "events", "--table", "shop.memos")
    assert [e["statement"].split()[0].upper() for e in memos] == ["DROP", "RENAME"]
    assert set(memos[1]["tables"]) == {"shop.notes", "shop.memos"}

    text = box.drkit("events", "--table", "shop.memos")
    drop_line = next(line for line in text.stdout.splitlines() if "DROP" in line)
    assert "rows ?" in drop_line and "+0 ~0 -0" not in drop_line


def test_a_drop_says_the_rows_it_took_while_the_delayed_copy_holds_them(box: Sandbox) -> None:
    write_sample_data(SandboxLayout(box.directory.resolve()), box.state)
    assert box.drkit("index").returncode == 0
    # The delayed replica holds shop.orders as it is now, and stays there (recovered, frozen).
    caught_up = box.drkit("recover", "--until-time", iso(time.time() + 60), "--yes")
    assert caught_up.returncode == 0, caught_up.stderr
    assert box.value("delayed", "SELECT COUNT(*) FROM shop.orders") == 100
    # Changes the delayed copy has not applied, counted by the index, then the DROP.
    box.sql("primary", "INSERT INTO shop.orders (customer_id, total) VALUES (1, 1), (2, 2), (3, 3)")
    box.sql("primary", "DELETE FROM shop.orders WHERE id IN (1, 2)")
    box.sql("primary", "INSERT INTO shop.orders (customer_id, total) VALUES (4, 4)")
    held = box.value("primary", "SELECT COUNT(*) FROM shop.orders")
    assert held == 102
    box.sql("primary", "DROP TABLE shop.orders")
    # A table created after the replica's position: its rows at the DROP cannot be known.
    box.sql("primary", "CREATE TABLE shop.scratch (id INT PRIMARY KEY)")
    box.sql("primary", "INSERT INTO shop.scratch VALUES (1), (2)")
    box.sql("primary", "DROP TABLE shop.scratch")
    assert box.drkit("index").returncode == 0

    done, found = drkit_json(box, "events", "--destructive")
    assert done.returncode == 0, done.stderr
    by_table = {e["tables"][0]: e for e in found}
    (orders,) = by_table["shop.orders"]["rows_taken"]
    assert orders["rows"] == held, orders
    assert orders["how"].startswith("100 on delayed at #") and "+2 by 3 later" in orders["how"]
    (scratch,) = by_table["shop.scratch"]["rows_taken"]
    assert scratch["rows"] is None and "by DDL" in scratch["how"], scratch
    text = box.drkit("events", "--destructive")
    drop_line = next(line for line in text.stdout.splitlines() if "`orders`" in line)
    assert f"took {held}" in drop_line, drop_line

    # Once the delayed replica applied the DROP it no longer holds the rows: unknown, never a guess.
    drop_id = str(by_table["shop.orders"]["id"])
    scratch_id = str(by_table["shop.scratch"]["id"])
    rolled = box.drkit(
        "recover",
        "--until-time",
        iso(time.time() + 60),
        "--through",
        drop_id,
        "--through",
        scratch_id,
        "--yes",
    )
    assert rolled.returncode == 0, rolled.stderr
    _, again = drkit_json(box, "events", "--destructive", "--table", "shop.orders")
    (after,) = again[0]["rows_taken"]
    assert after["rows"] is None and "applied" in after["how"] and drop_id in after["how"]
