"""`drkit flashback` and `drkit history` on a real sandbox: the rows themselves are checked
(count and CHECKSUM TABLE before the disaster, after the flashback), never only exit codes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sandbox import Sandbox, start_sandbox, wait_for
from tests.support.workload import create_shop, drkit_json, fingerprint, index

TYPES = (
    "CREATE TABLE shop.kinds ("
    " id INT PRIMARY KEY, u BIGINT UNSIGNED, s SMALLINT, d DECIMAL(20,6), f FLOAT, g DOUBLE,"
    " dt DATETIME(6), ts TIMESTAMP(3) NULL, tm TIME(2), dy DATE, yr YEAR,"
    " v VARCHAR(40) CHARACTER SET utf8mb4, l VARCHAR(40) CHARACTER SET latin1, b BLOB,"
    " bn BINARY(4), e ENUM('a','b','c'), st SET('x','y','z'), bt BIT(10), j JSON,"
    " gen INT AS (id * 2) VIRTUAL, n INT NULL)"
)


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    sandbox = start_sandbox(tmp_path_factory.mktemp("flashback"), delay=3600)
    try:
        create_shop(sandbox, orders=200)
        sandbox.sql(
            "primary",
            TYPES,
            "INSERT INTO shop.kinds (id, u, s, d, f, g, dt, ts, tm, dy, yr, v, l, b, bn, e, st,"
            " bt, j, n) VALUES "
            "(1, 18446744073709551615, -32768, -12345678901234.123456, 1.1, 2.000000000000001,"
            " '2026-01-02 03:04:05.123456', '2026-06-07 08:09:10.123', '-838:59:59.99',"
            " '2026-12-31', 2026, 'héllo ☃ \\'q\\'', 'café', X'00ff10', X'0102', 'b', 'x,z',"
            " b'1010101010', '{\"a\": [1, 2]}', NULL),"
            "(2, 0, 0, 0, 0, 0, '1970-01-01 00:00:01', NULL, '00:00:00', '2000-02-29', 1901,"
            " '', '', '', X'00000000', 'a', '', b'0', 'null', 7),"
            "(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
            " NULL, NULL, NULL, NULL, NULL, NULL)",
            "CREATE TABLE shop.parents (id INT PRIMARY KEY, name VARCHAR(20))",
            "CREATE TABLE shop.children (id INT PRIMARY KEY, parent_id INT, FOREIGN KEY"
            " (parent_id) REFERENCES shop.parents (id) ON DELETE CASCADE)",
            "INSERT INTO shop.parents VALUES (1, 'p1'), (2, 'p2')",
            "INSERT INTO shop.children VALUES (10, 1), (20, 2)",
            app=True,
        )
        yield sandbox
    finally:
        sandbox.down(purge=True)


def _latest_id(box: Sandbox) -> int:
    done, events = drkit_json(box, "events", "--limit", "1")
    assert done.returncode == 0, done.stderr
    return int(events[0]["id"])


def test_flashback_of_a_delete_without_where_restores_every_row(box: Sandbox) -> None:
    before = fingerprint(box, "primary", "shop.orders")
    box.sql("primary", "DELETE FROM shop.orders", app=True)
    index(box)
    assert fingerprint(box, "primary", "shop.orders") == (0, 0)

    dry, plan = drkit_json(box, "flashback", "latest-destructive", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert plan["plan"]["rows"] == 200
    assert len(plan["statements"]) == 20
    assert fingerprint(box, "primary", "shop.orders") == (0, 0), "the dry run ran nothing"

    unconfirmed = box.drkit("flashback", "latest-destructive")
    assert unconfirmed.returncode == 3, unconfirmed.stderr
    assert fingerprint(box, "primary", "shop.orders") == (0, 0)

    done, report = drkit_json(box, "flashback", "latest-destructive", "--yes")
    assert done.returncode == 0, done.stderr
    assert report["applied"] == 200 and report["verified"] is True
    assert report["checked"] == 200
    assert fingerprint(box, "primary", "shop.orders") == before
    # Ordinary binlogged writes: the replica follows.
    wait_for(
        lambda: fingerprint(box, "replica", "shop.orders") == before,
        what="the replica to receive the restored rows",
    )


def test_every_column_type_comes_back_exactly(box: Sandbox) -> None:
    before = fingerprint(box, "primary", "shop.kinds")
    box.sql("primary", "DELETE FROM shop.kinds", app=True)
    index(box)
    done, report = drkit_json(box, "flashback", str(_latest_id(box)), "--yes")
    assert done.returncode == 0, done.stderr
    assert report["verified"] is True and report["applied"] == 3
    assert fingerprint(box, "primary", "shop.kinds") == before

    box.sql(
        "primary",
        "UPDATE shop.kinds SET u = 5, d = 1.5, dt = NOW(), ts = NULL, l = 'x', b = NULL,"
        " e = 'c', st = 'y', bt = 1, j = '[]', n = 1",
        app=True,
    )
    index(box)
    done, report = drkit_json(box, "flashback", str(_latest_id(box)), "--yes")
    assert done.returncode == 0, done.stderr
    assert report["verified"] is True and report["applied"] == 3
    assert fingerprint(box, "primary", "shop.kinds") == before


def test_a_row_changed_since_is_a_conflict_and_nothing_is_applied(box: Sandbox) -> None:
    before = fingerprint(box, "primary", "shop.orders")
    box.sql("primary", "UPDATE shop.orders SET note = 'oops' WHERE id <= 50", app=True)
    index(box)
    disaster = _latest_id(box)
    # The application kept working: one of the damaged rows changed again.
    box.sql("primary", "UPDATE shop.orders SET total = 999 WHERE id = 7", app=True)
    damaged = fingerprint(box, "primary", "shop.orders")

    refused, error = drkit_json(box, "flashback", str(disaster), "--yes")
    assert refused.returncode == 3, refused.stderr
    assert error["conflict_count"] == 1
    assert error["conflicts"][0]["key"] == {"id": 7}
    assert "nothing was applied" in refused.stderr
    assert fingerprint(box, "primary", "shop.orders") == damaged
    # The hint names the real row, in a command that runs as written.
    shown = "`drkit history --table shop.orders --key id=7`"
    assert error["hint"].startswith(f"look at it with {shown}; "), error["hint"]
    history = box.drkit(*shown.strip("`").split()[1:])
    assert history.returncode == 0, history.stderr
    assert "shop.orders (id=7): " in history.stdout and "UPDATE" in history.stdout

    done, report = drkit_json(box, "flashback", str(disaster), "--on-conflict", "skip", "--yes")
    assert done.returncode == 0, done.stderr
    assert report["applied"] == 49 and report["skipped_count"] == 1
    assert report["verified"] is True
    assert box.value("primary", "SELECT note FROM shop.orders WHERE id = 7") == "oops"
    assert box.value("primary", "SELECT COUNT(*) FROM shop.orders WHERE note = 'oops'") == 1
    box.sql("primary", "UPDATE shop.orders SET note = 'n7', total = 21.07 WHERE id = 7")
    assert fingerprint(box, "primary", "shop.orders") == before


def test_cascading_children_and_ddl_are_refused(box: Sandbox) -> None:
    box.sql("primary", "DELETE FROM shop.parents WHERE id = 1", app=True)
    index(box)
    parents = fingerprint(box, "primary", "shop.parents")
    refused = box.drkit("flashback", str(_latest_id(box)), "--yes")
    assert refused.returncode == 3, refused.stderr
    assert "shop.children (children_ibfk_1): ON DELETE CASCADE" in refused.stderr
    assert fingerprint(box, "primary", "shop.parents") == parents

    box.sql("primary", "CREATE TABLE shop.scratch (id INT PRIMARY KEY)", "DROP TABLE shop.scratch")
    index(box)
    refused = box.drkit("flashback", "latest-destructive", "--yes")
    assert refused.returncode == 3, refused.stderr
    assert "is DDL" in refused.stderr and "drkit recover --before" in refused.stderr


def test_sql_file_holds_the_same_reversal(box: Sandbox, tmp_path: Path) -> None:
    before = fingerprint(box, "primary", "shop.orders")
    box.sql("primary", "DELETE FROM shop.orders WHERE id > 150", app=True)
    index(box)
    out = tmp_path / "undo.sql"
    done = box.drkit("flashback", str(_latest_id(box)), "--sql", str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert text.count("INSERT INTO `shop`.`orders`") == 50
    assert fingerprint(box, "primary", "shop.orders") != before, "--sql changes nothing"
    box.sql("primary", *[s for s in text.split(";\n") if s.strip() and not s.startswith("--")])
    assert fingerprint(box, "primary", "shop.orders") == before


def test_sql_file_of_every_column_type_restores_them_exactly(box: Sandbox, tmp_path: Path) -> None:
    before = fingerprint(box, "primary", "shop.kinds")
    box.sql(
        "primary",
        "UPDATE shop.kinds SET u = 6, d = 0.000001, dt = '2001-02-03 04:05:06.5', l = 'é',"
        " b = X'00', e = 'a', st = 'x,y', bt = 3, j = '{\"b\": null}', n = NULL, tm = '01:02:03'",
        app=True,
    )
    index(box)
    update = tmp_path / "update.sql"
    done = box.drkit("flashback", str(_latest_id(box)), "--sql", str(update))
    assert done.returncode == 0, done.stderr
    box.sql("primary", *_statements(update))
    assert fingerprint(box, "primary", "shop.kinds") == before

    box.sql("primary", "DELETE FROM shop.kinds", app=True)
    index(box)
    delete = tmp_path / "delete.sql"
    done = box.drkit("flashback", str(_latest_id(box)), "--sql", str(delete))
    assert done.returncode == 0, done.stderr
    box.sql("primary", *_statements(delete))
    assert fingerprint(box, "primary", "shop.kinds") == before


def test_sql_file_names_the_rows_changed_since(box: Sandbox, tmp_path: Path) -> None:
    box.sql("primary", "CREATE TABLE shop.late (id INT PRIMARY KEY, v VARCHAR(9))")
    box.sql("primary", "INSERT INTO shop.late VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')")
    box.sql("primary", "UPDATE shop.late SET v = 'oops' WHERE id <= 2", app=True)
    box.sql("primary", "DELETE FROM shop.late WHERE id >= 3", app=True)
    index(box)
    _, events = drkit_json(box, "events", "--limit", "2")
    ids = [str(e["id"]) for e in events]
    # Since then, row 1 changed again and row 4 came back.
    box.sql("primary", "UPDATE shop.late SET v = 'again' WHERE id = 1")
    box.sql("primary", "INSERT INTO shop.late VALUES (4, 'new')")
    out = tmp_path / "late.sql"

    done, report = drkit_json(box, "flashback", *ids, "--sql", str(out))
    assert done.returncode == 0, done.stderr
    assert report["conflicts_checked"] is True and report["skipped_count"] == 2
    assert {(c["operation"], c["key"]["id"]) for c in report["skipped"]} == {
        ("update", 1),
        ("delete", 4),
    }
    assert "shop.late (id=1): changed since the UPDATE" in done.stderr
    assert "shop.late (id=4): deleted by the target" in done.stderr
    box.sql("primary", *_statements(out))
    rows = box.value("primary", "SELECT GROUP_CONCAT(id, v ORDER BY id) FROM shop.late")
    assert rows == "1again,2b,3c,4new", "only the rows unchanged since were put back"


def test_a_big_delete_is_written_in_two_halves_and_both_report_changes(
    box: Sandbox, tmp_path: Path
) -> None:
    box.sql(
        "primary",
        "CREATE TABLE shop.big (id INT PRIMARY KEY, v VARCHAR(200), d DECIMAL(12,2),"
        " at DATETIME(6) NULL)",
        "INSERT INTO shop.big SELECT seq, REPEAT(CHAR(65 + seq % 26), 150), seq / 7,"
        " IF(seq % 5, '2026-01-01' + INTERVAL seq SECOND, NULL) FROM shop.seq_1_to_20000",
    )
    before = fingerprint(box, "primary", "shop.big")
    box.sql("primary", "DELETE FROM shop.big", app=True)
    index(box)
    disaster = str(_latest_id(box))
    _, events = drkit_json(box, "events", "--limit", "1")
    assert events[0]["rows"]["delete"] == 20000
    # Rows come back at both ends of the DELETE: the newest half is drkit's, the oldest the
    # helper's.
    box.sql("primary", "INSERT INTO shop.big (id, v) VALUES (1, 'back'), (20000, 'back')")
    out = tmp_path / "big.sql"

    done, report = drkit_json(box, "flashback", disaster, "--sql", str(out))
    assert done.returncode == 0, done.stderr
    assert report["statements"] == 20000 and report["skipped_count"] == 2
    assert sorted(c["key"]["id"] for c in report["skipped"]) == [1, 20000]
    statements = _statements(out)
    assert statements[2].endswith("`id` <=> 20000)"), "newest first"
    assert statements[-2].endswith("`id` <=> 1)")
    box.sql("primary", "DELETE FROM shop.big WHERE v = 'back'")
    box.sql("primary", *statements)
    assert fingerprint(box, "primary", "shop.big") == before


def _statements(path: Path) -> list[str]:
    """The file's statements, its comment lines left out (SET, START TRANSACTION, ..., COMMIT)."""
    chunks = path.read_text().split(";\n")
    lines = ("\n".join(x for x in c.splitlines() if not x.startswith("--")) for c in chunks)
    return [text.strip() for text in lines if text.strip()]


def test_minimal_images_and_dropped_columns_are_refused_added_columns_are_fine(
    box: Sandbox,
) -> None:
    box.sql("primary", "CREATE TABLE shop.notes (id INT PRIMARY KEY, a INT, b VARCHAR(9))")
    box.sql("primary", "INSERT INTO shop.notes VALUES (1, 1, 'x'), (2, 2, 'y'), (3, 3, NULL)")
    before = fingerprint(box, "primary", "shop.notes")
    box.sql(
        "primary", "SET SESSION binlog_row_image = 'MINIMAL'", "DELETE FROM shop.notes WHERE id = 1"
    )
    index(box)
    refused = box.drkit("flashback", str(_latest_id(box)), "--yes")
    assert refused.returncode == 3, refused.stderr
    assert "not full" in refused.stderr and "binlog_row_image" in refused.stderr
    box.sql("primary", "INSERT INTO shop.notes VALUES (1, 1, 'x')")
    assert fingerprint(box, "primary", "shop.notes") == before

    box.sql("primary", "DELETE FROM shop.notes WHERE id >= 2")
    index(box)
    disaster = str(_latest_id(box))
    box.sql("primary", "ALTER TABLE shop.notes ADD COLUMN c INT DEFAULT 5")
    done, report = drkit_json(box, "flashback", disaster, "--yes")
    assert done.returncode == 0, done.stderr
    assert report["verified"] is True and report["applied"] == 2
    assert box.value("primary", "SELECT COUNT(*) FROM shop.notes WHERE c = 5") == 3

    box.sql("primary", "DELETE FROM shop.notes WHERE id >= 2")
    index(box)
    disaster = str(_latest_id(box))
    box.sql("primary", "ALTER TABLE shop.notes DROP COLUMN b")
    refused = box.drkit("flashback", disaster, "--yes")
    assert refused.returncode == 3, refused.stderr
    assert "the binlog's column b no longer exists" in refused.stderr


def test_a_time_window_of_one_table_is_reversed_newest_first(box: Sandbox) -> None:
    box.sql("primary", "CREATE TABLE shop.window (id INT PRIMARY KEY, v INT)")
    box.sql("primary", "INSERT INTO shop.window VALUES (1, 1), (2, 2), (3, 3)")
    index(box)
    before = fingerprint(box, "primary", "shop.window")
    time.sleep(1.1)  # the index keeps whole seconds: the window starts after the setup
    since = box.value("primary", "SELECT DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%dT%H:%i:%sZ')")
    # Three transactions of the window; the same row changes twice.
    box.sql("primary", "UPDATE shop.window SET v = 10 WHERE id = 1", app=True)
    box.sql("primary", "UPDATE shop.window SET v = 20 WHERE id = 1", app=True)
    box.sql("primary", "DELETE FROM shop.window WHERE id = 2", app=True)
    box.sql("primary", "INSERT INTO shop.window VALUES (4, 4)", app=True)
    box.sql("primary", "UPDATE shop.orders SET note = 'elsewhere' WHERE id = 1", app=True)
    index(box)

    missing = box.drkit("flashback", "--since", since, "--yes")
    assert missing.returncode == 2, missing.stderr
    assert "--since and --until need --table" in missing.stderr

    dry, plan = drkit_json(
        box, "flashback", "--table", "shop.window", "--since", since, "--dry-run"
    )
    assert dry.returncode == 0, dry.stderr
    ids = [t["id"] for t in plan["plan"]["targets"]]
    assert len(ids) == 4 and ids == sorted(ids, reverse=True)
    done, report = drkit_json(box, "flashback", "--table", "shop.window", "--since", since, "--yes")
    assert done.returncode == 0, done.stderr
    assert report["applied"] == 4 and report["verified"] is True
    assert fingerprint(box, "primary", "shop.window") == before
    assert box.value("primary", "SELECT note FROM shop.orders WHERE id = 1") == "elsewhere"


# Last: it stops every server of the module's sandbox.
def test_history_reads_the_archive_with_every_server_down(box: Sandbox, tmp_path: Path) -> None:
    for node in ("delayed", "replica", "primary"):
        box.kill(node)
    done, history = drkit_json(box, "history", "--table", "shop.orders", "--key", "id=7")
    assert done.returncode == 0, done.stderr
    operations = [v["operation"] for v in history["versions"]]
    assert operations[0] == "insert"
    assert "delete" in operations and "update" in operations
    times = [v["id"] for v in history["versions"]]
    assert times == sorted(times), "oldest first"
    update = next(v for v in history["versions"] if v["after"] and v["after"]["total"] == "999.00")
    assert update["changed"] == ["total"]
    text = box.drkit("history", "--table", "shop.orders", "--key", "id=7")
    assert "* total" in text.stdout

    # --sql with the primary down: written, and the report says the rows were not looked at.
    out = tmp_path / "later.sql"
    done, report = drkit_json(box, "flashback", str(_latest_id(box)), "--sql", str(out))
    assert done.returncode == 0, done.stderr
    assert report["conflicts_checked"] is False and report["statements"] == 1
    assert "primary did not answer" in done.stderr
    assert out.read_text().count("UPDATE `shop`.`orders` SET `note` = ") == 1
