"""`drkit events --table` finds the schema changes of a table, and a DROP's rows read as unknown
(issue 18, item 12), on a real sandbox."""

from __future__ import annotations

from drkit.sandbox.layout import SandboxLayout
from drkit.sandbox.workload import write_sample_data
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
