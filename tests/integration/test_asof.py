"""`drkit asof`: a table as it was at an earlier T, from the delayed replica's rows and the
archive's row images, with no server rewound.

The delayed replica runs without delay here, so it has applied everything the tests write; the
commit times are set with `SET timestamp` on the primary, so every moment T is exact and nothing
sleeps. Each moment's rows and CHECKSUM TABLE are recorded on the primary when it is current,
then asked back.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drkit.timeparse import iso
from tests.support.sandbox import Sandbox, start_sandbox, wait_for
from tests.support.workload import drkit_json, fingerprint, gtid_pos, index

ITEMS = (
    "CREATE TABLE shop.items (id INT PRIMARY KEY, qty INT NULL, price DECIMAL(10,2) NOT NULL, "
    "name VARCHAR(40) NULL, tags SET('red','green','blue') NULL, seen TIMESTAMP(3) NULL, "
    "born DATE NULL, ratio FLOAT NULL, raw VARBINARY(16) NULL, doc JSON NULL, flags BIT(4) NULL, "
    "at_time TIME(2) NULL)"
)

# Each moment: the statements committed then (seconds before `now`), in order.
MOMENTS: list[tuple[int, list[str]]] = [
    (
        1000,
        [
            "CREATE DATABASE shop",
            ITEMS,
            "CREATE TABLE shop.bag (colour VARCHAR(10), n INT)",  # no primary key
            "CREATE TABLE shop.pairs (a INT, b VARCHAR(5), v INT, PRIMARY KEY (a, b))",
            "INSERT INTO shop.pairs VALUES (1, 'x', 1), (1, 'y', 2), (2, 'x', 3)",
            "INSERT INTO shop.items VALUES "
            "(1, 5, 9.99, 'one', 'red,blue', '2026-01-02 03:04:05.678', '2001-02-03', 1.1, "
            "0x00ff10, '{\"a\": 1}', b'1010', '12:00:01.50'), "
            "(2, NULL, 0.00, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), "
            "(3, 7, 3.50, 'thr''ee', 'green', '2026-06-30 23:59:59.000', '1999-12-31', -2.25, "
            "X'', '[]', b'0001', '-01:02:03.25'), "
            "(42, 10, 42.00, 'answer', 'red', '2026-01-01 00:00:00', '2000-01-01', 0.5, 0x2a, "
            "'{}', b'1111', '00:00:00'), "
            "(7, 8, 7.00, 'seven', 'green', '2026-05-05 05:05:05', NULL, NULL, NULL, NULL, NULL, "
            "NULL)",
            "INSERT INTO shop.bag VALUES ('red', 1), ('red', 1), ('blue', 2)",
        ],
    ),
    (
        900,
        [
            "UPDATE shop.items SET qty = 20, name = NULL, tags = 'blue' WHERE id = 42",
            "DELETE FROM shop.items WHERE id = 3",
            "INSERT INTO shop.items VALUES (4, 1, 1.00, 'four', 'red,green,blue', "
            "'2026-03-03 03:03:03.300', NULL, 3.75, 0xdeadbeef, '{\"b\": [1, 2]}', b'0110', NULL)",
            "DELETE FROM shop.bag WHERE colour = 'blue'",
            "UPDATE shop.pairs SET b = 'z', v = 20 WHERE a = 1 AND b = 'y'",
            "DELETE FROM shop.pairs WHERE a = 2",
            "UPDATE shop.bag SET n = 5 WHERE colour = 'red' LIMIT 1",
        ],
    ),
    (
        800,
        [
            "UPDATE shop.items SET qty = qty + 1 WHERE id IN (1, 4)",
            "UPDATE shop.items SET id = 43, qty = NULL WHERE id = 42",  # the key changes
            "INSERT INTO shop.items VALUES (3, 70, 35.00, 'three again', NULL, NULL, '2026-12-03', "
            "NULL, NULL, NULL, NULL, '838:59:59')",
            "INSERT INTO shop.bag VALUES ('green', 3), ('red', 1)",
            "INSERT INTO shop.pairs VALUES (2, 'x', 30), (3, 'q', NULL)",
        ],
    ),
    (
        700,
        [
            "DELETE FROM shop.items WHERE id = 1",
            "UPDATE shop.items SET price = price * 2, seen = '2026-12-01 12:00:00.001' WHERE id <> 7",
            "DELETE FROM shop.bag WHERE colour = 'red' AND n = 1 LIMIT 1",
        ],
    ),
]


def commit_at(box: Sandbox, when: float, *statements: str) -> None:
    """Statements on the primary, committed at `when` as far as the binlog says."""
    box.sql("primary", f"SET timestamp = {when:.0f}", *statements, app=True)


def table_rows(box: Sandbox, node: str, table: str, order: str = "id") -> list[dict[str, Any]]:
    return box.sql(node, f"SELECT * FROM {table} ORDER BY {order}")


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    sandbox = start_sandbox(tmp_path_factory.mktemp("asof") / "sb", delay=0)
    try:
        yield sandbox
    finally:
        sandbox.down(purge=True)


@pytest.fixture(scope="module")
def recorded(box: Sandbox) -> dict[float, dict[str, Any]]:
    """T -> the rows and fingerprints of shop.items and shop.bag at T, taken on the primary."""
    now = time.time()
    moments: dict[float, dict[str, Any]] = {}
    for ago, statements in MOMENTS:
        commit_at(box, now - ago, *statements)
        moments[now - ago + 50] = {  # T: 50 s after the moment's commits, before the next ones
            "items": table_rows(box, "primary", "shop.items"),
            "items_print": fingerprint(box, "primary", "shop.items"),
            "bag": table_rows(box, "primary", "shop.bag", "colour, n"),
            "bag_print": fingerprint(box, "primary", "shop.bag"),
            "pairs": table_rows(box, "primary", "shop.pairs", "a, b"),
            "pairs_print": fingerprint(box, "primary", "shop.pairs"),
        }
    wait_for(
        lambda: gtid_pos(box, "delayed") == gtid_pos(box, "primary"),
        what="the delayed replica (no delay) to apply everything",
    )
    index(box)
    return moments


def settle(box: Sandbox) -> None:
    """The delayed replica (no delay) applies everything, and the index covers it."""
    wait_for(
        lambda: gtid_pos(box, "delayed") == gtid_pos(box, "primary"), what="the replica to apply"
    )
    index(box)


def asof(box: Sandbox, table: str, when: float, *args: str) -> tuple[int, Any]:
    done, data = drkit_json(box, "asof", "--table", table, "--at", iso(when), *args)
    assert data is not None, done.stderr
    return done.returncode, data


def test_every_moment_comes_back_row_for_row(
    box: Sandbox, recorded: dict[float, dict[str, Any]]
) -> None:
    for number, (when, expected) in enumerate(sorted(recorded.items())):
        for table, key in (("items", "items"), ("bag", "bag"), ("pairs", "pairs")):
            target = f"shop.{table}_t{number}"
            code, report = asof(box, f"shop.{table}", when, "--into", target, "--yes")
            assert code == 0, report
            assert report["verified"] is True and report["written"] == len(expected[key])
            # With a primary key the unchanged rows are streamed by the servers' tools and
            # compared by their digests; without one every row goes through drkit.
            assert report["checked"].startswith("every row" if table == "bag" else "digests")
            assert ("streamed" in report["checked"]) is (table != "bag"), report["checked"]
            order = {"items": "id", "bag": "colour, n", "pairs": "a, b"}[table]
            assert table_rows(box, "primary", target, order) == expected[key], (number, table)
            assert fingerprint(box, "primary", target) == expected[f"{key}_print"], (number, table)
            settle(box)  # the copy reached the replica too: the index must place it
    # The last moment is the replica's own position: nothing to undo.
    last = max(recorded)
    code, report = asof(box, "shop.items", last)
    assert code == 0 and report["transactions"] == 0 and report["undone"]["update"] == 0


def test_status_says_which_command_reaches_which_past(
    box: Sandbox, recorded: dict[float, dict[str, Any]]
) -> None:
    _, status = drkit_json(box, "status")
    (window,) = status["inspectable"]
    forward, rewind = window["reach"]
    assert forward["command"].startswith("inspect") and rewind["command"].startswith("asof")
    assert rewind["to"] == forward["from"] == iso(window["applied_at"])
    assert rewind["from"] == iso(window["oldest"]) and window["oldest"] < min(recorded)
    shown = box.drkit("status").stdout
    assert "asof --table S.T --at T:" in shown and "inspect --at T:" in shown


def test_json_rows_carry_nulls_and_the_values_of_t(
    box: Sandbox, recorded: dict[float, dict[str, Any]]
) -> None:
    first, second = sorted(recorded)[:2]
    code, report = asof(box, "shop.items", first)
    assert code == 0, report
    assert report["key"] == ["id"] and report["columns"][:4] == ["id", "qty", "price", "name"]
    rows = {row[0]: row for row in report["rows"]}
    assert sorted(rows) == [1, 2, 3, 7, 42]
    assert rows[2][1:5] == [None, "0.00", None, None], "NULLs stay NULL"
    assert rows[42][1:5] == [10, "42.00", "answer", "red"]
    assert rows[1][5] == "2026-01-02 03:04:05.678000" and rows[1][4] == "red,blue"
    assert report["undone"] == {"insert": 2, "update": 8, "delete": 2}
    code, later = asof(box, "shop.items", second)
    assert code == 0, later
    assert {row[0]: row[1] for row in later["rows"]} == {1: 5, 2: None, 4: 1, 7: 8, 42: 20}


def test_where_sees_rows_as_they_were_at_t(
    box: Sandbox, recorded: dict[float, dict[str, Any]]
) -> None:
    first = min(recorded)
    # Row 42 (now 43) had qty 10 at T; row 4 did not exist yet; row 3 was the old 'thr'ee';
    # row 7 never changed (the server judges it on the table itself).
    code, report = asof(box, "shop.items", first, "--where", "qty >= 7 OR name LIKE 'f%'")
    assert code == 0, report
    assert [row[0] for row in report["rows"]] == [3, 7, 42]
    code, report = asof(box, "shop.items", first, "--where", "seen < '2026-02-01'")
    assert code == 0, report
    assert [row[0] for row in report["rows"]] == [1, 42]
    code, refused = asof(box, "shop.items", first, "--where", "no_such_column = 1")
    assert code == 2 and "refused the condition" in refused["error"], refused


def test_csv_file_holds_the_rows(
    box: Sandbox, recorded: dict[float, dict[str, Any]], tmp_path: Path
) -> None:
    second = sorted(recorded)[1]
    target = tmp_path / "bag.csv"
    done = box.drkit("asof", "--table", "shop.bag", "--at", iso(second), "--csv", str(target))
    assert done.returncode == 0, done.stderr
    lines = target.read_text().splitlines()
    assert lines[0] == "colour,n"
    assert sorted(lines[1:]) == ["red,1", "red,5"]
    # --dry-run prints the plan and writes nothing; --csv goes with neither --json nor --into.
    dry = box.drkit(
        "asof", "--table", "shop.bag", "--at", iso(second), "--into", "shop.x", "--dry-run"
    )
    assert dry.returncode == 0, dry.stderr
    assert "create shop.x_drkit_merge on primary" in dry.stdout, dry.stdout
    assert "RENAME it to shop.x" in dry.stdout and "undo newest first" in dry.stdout
    assert (
        box.value(
            "primary",
            "SELECT COUNT(*) FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'x'",
        )
        == 0
    )
    both = box.drkit("asof", "--table", "shop.bag", "--at", "-1h", "--csv", "f", "--json")
    assert both.returncode == 2 and "--csv FILE takes neither" in both.stdout


def test_the_position_is_pinned_with_the_rows(
    box: Sandbox, recorded: dict[float, dict[str, Any]]
) -> None:
    """The replica applies more between the position read and the rows read: the snapshot still
    gives the rows of the position it pinned, and the live position has moved on."""
    from drkit.asof.snapshot import describe_table, read_snapshot
    from drkit.io.mysql import session as open_session

    config = box.config()
    before_count = box.value("delayed", "SELECT COUNT(*) FROM shop.items")
    seen: list[str] = []

    def apply_more(position: str) -> None:
        seen.append(position)
        box.sql(
            "primary", "INSERT INTO shop.items (id, qty, price) VALUES (900, 1, 1.00)", app=True
        )
        wait_for(
            lambda: box.value("delayed", "SELECT COUNT(*) FROM shop.items WHERE id = 900") == 1,
            what="the delayed replica to apply the insert",
        )

    with open_session(config.node("delayed")) as session:
        shape = describe_table(session, "shop.items")
        snapshot = read_snapshot(session, "shop.items", shape, pinned=apply_more)
    assert seen == [snapshot.position]
    assert len(snapshot.rows) == before_count and 900 not in {row[0] for row in snapshot.rows}
    assert gtid_pos(box, "delayed") != snapshot.position, "the replica moved on meanwhile"
    # The replica is now ahead of the index: asof refuses rather than guess.
    code, refused = asof(box, "shop.items", min(recorded))
    behind = "the index is behind what delayed has applied (its position GTID "
    assert code == 3 and refused["error"].startswith(behind), refused
    box.sql("primary", "DELETE FROM shop.items WHERE id = 900", app=True)
    wait_for(
        lambda: gtid_pos(box, "delayed") == gtid_pos(box, "primary"), what="the replica to apply"
    )
    index(box)
    code, report = asof(box, "shop.items", min(recorded))
    assert code == 0, report
    assert {row[0] for row in report["rows"]} == {r["id"] for r in recorded[min(recorded)]["items"]}


def test_refusals_say_why_and_change_nothing(
    box: Sandbox, recorded: dict[float, dict[str, Any]]
) -> None:
    first = min(recorded)
    oldest = first - 50 - 100  # before the CREATE DATABASE, the oldest indexed transaction
    code, refused = asof(box, "shop.items", oldest)
    assert code == 3 and "before the oldest archived transaction" in refused["error"]
    # An archive file gone: the row images to undo are not there.
    archive = box.directory / "binlogs"
    files = sorted(p for p in archive.iterdir() if p.suffix[1:].isdigit())
    aside = box.directory / "aside"
    aside.mkdir()
    for path in files:
        path.rename(aside / path.name)
    try:
        code, refused = asof(box, "shop.items", first)
        assert code == 3 and "is not in the archive" in refused["error"], refused
    finally:
        for path in files:
            (aside / path.name).rename(path)
    # A refused login is a configuration problem (exit 2), not a replica that is gone.
    text = box.config_file.read_text()
    head, _, tail = text.partition("[nodes.delayed]")
    wrong = box.directory / "wrong-password.toml"
    wrong.write_text(
        head + "[nodes.delayed]" + re.sub(r'password = "[^"]*"', 'password = "nope"', tail, count=1)
    )
    done = box.drkit("--config", str(wrong), "asof", "--table", "shop.items", "--at", iso(first))
    assert done.returncode == 2 and "refused drkit's login" in done.stderr, done.stderr
    wrong.unlink()
    # A table that exists on the primary already is never overwritten.
    code, refused = asof(box, "shop.items", first, "--into", "shop.bag", "--yes")
    assert code == 3 and "never overwrites" in refused["error"]
    # The replica frozen, T later than its position: rewinding cannot reach forward.
    assert box.drkit("freeze").returncode == 0
    try:
        later = time.time() + 50  # after every commit so far, whatever time it was given
        commit_at(box, later, "UPDATE shop.bag SET n = n + 1 WHERE colour = 'green'")
        index(box)
        code, refused = asof(box, "shop.bag", later + 10)
        assert code == 3 and "rewinding cannot reach forward" in refused["error"]
        assert "drkit inspect --at" in refused["hint"]
    finally:
        assert box.drkit("resume", "--yes").returncode == 0
    wait_for(
        lambda: gtid_pos(box, "delayed") == gtid_pos(box, "primary"), what="the replica to apply"
    )


def test_schema_change_and_partial_images_are_refused(
    box: Sandbox, recorded: dict[float, dict[str, Any]]
) -> None:
    now = time.time() + 100  # after the commits the refusal test gave a later time
    box.sql("primary", "CREATE TABLE shop.plain (id INT PRIMARY KEY, v INT, w INT)", app=True)
    box.sql("primary", "INSERT INTO shop.plain VALUES (1, 1, 1), (2, 2, 2)", app=True)
    commit_at(box, now + 100, "UPDATE shop.plain SET v = 10 WHERE id = 1")
    box.sql(
        "primary",
        f"SET timestamp = {now + 200:.0f}",
        "SET SESSION binlog_row_image = 'MINIMAL'",
        "UPDATE shop.plain SET w = 20 WHERE id = 2",
    )
    commit_at(box, now + 300, "ALTER TABLE shop.bag ADD COLUMN extra INT NULL")
    wait_for(
        lambda: gtid_pos(box, "delayed") == gtid_pos(box, "primary"), what="the replica to apply"
    )
    index(box)
    code, answer = asof(box, "shop.plain", now + 150)
    assert code == 3 and "not FULL" in answer["error"], answer
    code, refused = asof(box, "shop.bag", now + 250)
    assert code == 3 and "schema change of shop.bag" in refused["error"], refused
    code, answer = asof(box, "shop.bag", now + 350)
    assert code == 0 and answer["transactions"] == 0, "after the change: the rows as they are"
    # A schema change the index ties to no table refuses only when it names the schema as a
    # whole word: `shop` does, `items_archive` (or a bare `items`) does not.
    commit_at(box, now + 400, "CREATE DATABASE IF NOT EXISTS shop")
    commit_at(box, now + 500, "CREATE DATABASE items_archive", "CREATE DATABASE items")
    settle(box)
    code, answer = asof(box, "shop.items", now + 450)
    assert code == 0 and answer["transactions"] == 0, answer
    code, refused = asof(box, "shop.items", now + 350)
    assert code == 3 and "names the schema shop" in refused["error"], refused


def test_random_changes_rewind_to_every_moment(
    box: Sandbox, recorded: dict[float, dict[str, Any]]
) -> None:
    """A seeded random history (inserts, updates that move keys, deletes, NULLs) of a table
    with a two-column key: every moment asked back equals what the primary held then."""
    seed = int(time.time()) % 100_000
    rng = random.Random(seed)
    base = time.time() + 2000  # after every commit the other tests gave a time
    box.sql(
        "primary",
        "CREATE TABLE shop.rnd (k1 INT, k2 CHAR(2), v DECIMAL(8,2) NULL, s VARCHAR(20) NULL, "
        "d DATETIME(3) NULL, PRIMARY KEY (k1, k2))",
        app=True,
    )
    keys: set[tuple[int, str]] = set()
    moments: dict[float, list[dict[str, Any]]] = {}
    for moment in range(5):
        statements = []
        for _ in range(rng.randint(5, 25)):
            pick = rng.random()
            if pick < 0.4 or not keys:
                key = (rng.randint(1, 30), rng.choice(["aa", "bb", "cc"]))
                if key in keys:
                    continue
                keys.add(key)
                value = "NULL" if rng.random() < 0.2 else f"{rng.randint(0, 99999) / 100:.2f}"
                statements.append(
                    f"INSERT INTO shop.rnd VALUES ({key[0]}, '{key[1]}', {value}, "
                    f"'s{rng.randint(0, 9)}', '2026-01-01 00:00:00.{rng.randint(0, 999):03d}')"
                )
            elif pick < 0.75:
                key = rng.choice(sorted(keys))
                moved = (key[0] + 100, key[1]) if rng.random() < 0.2 else key
                if moved != key and moved in keys:
                    continue
                keys.discard(key)
                keys.add(moved)
                statements.append(
                    f"UPDATE shop.rnd SET k1 = {moved[0]}, s = "
                    f"{'NULL' if rng.random() < 0.3 else repr('u' + str(rng.randint(0, 99)))}, "
                    f"d = NULL WHERE k1 = {key[0]} AND k2 = '{key[1]}'"
                )
            else:
                key = rng.choice(sorted(keys))
                keys.discard(key)
                statements.append(f"DELETE FROM shop.rnd WHERE k1 = {key[0]} AND k2 = '{key[1]}'")
        commit_at(box, base + 100 * moment, *statements)
        moments[base + 100 * moment + 50] = table_rows(box, "primary", "shop.rnd", "k1, k2")
    settle(box)
    for when, expected in moments.items():
        code, report = asof(box, "shop.rnd", when)
        assert code == 0, (seed, report)
        found = [tuple(row) for row in report["rows"]]
        wanted = [
            (
                r["k1"],
                r["k2"],
                None if r["v"] is None else str(r["v"]),
                r["s"],
                None if r["d"] is None else r["d"].isoformat(sep=" "),
            )
            for r in expected
        ]
        assert found == wanted, f"seed {seed}, moment {when - base:.0f}"


def test_a_compressed_archive_file_rewinds_the_same(
    box: Sandbox, recorded: dict[float, dict[str, Any]]
) -> None:
    """`[retention] compress = "zstd"` turns an archived binlog into NAME.zst: asof reads the
    same images at the same offsets from it."""
    from drkit.compression import compress_file

    base = time.time() + 5000  # after every commit the other tests gave a time
    box.sql("primary", "CREATE TABLE shop.zipped (id INT PRIMARY KEY, v VARCHAR(10))", app=True)
    commit_at(box, base, "INSERT INTO shop.zipped VALUES (1, 'one'), (2, 'two'), (3, NULL)")
    commit_at(
        box,
        base + 100,
        "UPDATE shop.zipped SET v = 'changed'",
        "DELETE FROM shop.zipped WHERE id = 2",
    )
    box.sql("primary", "FLUSH BINARY LOGS")  # the file holding those changes is complete now
    settle(box)
    archive = box.directory / "binlogs"
    complete = sorted(p for p in archive.iterdir() if p.suffix[1:].isdigit())[:-1]
    assert complete, "no complete binlog file in the archive"
    for path in complete:
        compress_file(path)
    assert not any(path.exists() for path in complete)
    code, report = asof(box, "shop.zipped", base + 50)
    assert code == 0, report
    assert report["rows"] == [[1, "one"], [2, "two"], [3, None]]
    assert report["undone"] == {"insert": 0, "update": 3, "delete": 1}


@pytest.fixture(scope="module")
def streamed_moment(box: Sandbox, recorded: dict[float, dict[str, Any]]) -> dict[str, Any]:
    """shop.streamed at a T after every other test's commits: T, its rows and fingerprint."""
    base = time.time() + 8000
    box.sql(
        "primary",
        "CREATE TABLE shop.streamed (id INT PRIMARY KEY, v VARCHAR(20) NULL, "
        "d DECIMAL(8,2) NULL, ratio FLOAT NULL, at DATETIME(3) NULL)",
        app=True,
    )
    rows = ", ".join(
        f"({i}, 'row {i}', {i}.25, {i / 8}, '2026-01-01 00:00:00.{i % 1000:03d}')"
        for i in range(1, 301)
    )
    commit_at(box, base, f"INSERT INTO shop.streamed VALUES {rows}")
    at_t = {
        "at": base + 50,
        "rows": table_rows(box, "primary", "shop.streamed"),
        "print": fingerprint(box, "primary", "shop.streamed"),
    }
    commit_at(
        box,
        base + 100,
        "UPDATE shop.streamed SET v = NULL, ratio = ratio * 3 WHERE id % 7 = 0",
        "DELETE FROM shop.streamed WHERE id % 11 = 0",
        "INSERT INTO shop.streamed (id, v) VALUES (1000, 'new'), (1001, NULL)",
        "UPDATE shop.streamed SET id = id + 2000 WHERE id IN (5, 6)",  # keys that move
    )
    settle(box)
    return at_t


def test_into_streams_the_unchanged_rows_from_the_pinned_position(
    box: Sandbox, streamed_moment: dict[str, Any]
) -> None:
    """--into copies the rows no change touched with mariadb-dump | mariadb. The primary
    changes an untouched row while the copy is being pinned: the replica's applier waits for
    asof's read lock, so the dump holds the row as the pinned position has it, and the copy
    equals the moment row for row (without the lock the dump would hold the new value and the
    digests would disagree)."""
    from drkit.asof.streamed import run_streamed
    from drkit.service import Operations

    ops = Operations(box.config())
    plan = ops.plan_asof("shop.streamed", iso(streamed_moment["at"]), into="shop.streamed_at_t")
    waited: list[str] = []

    def change_untouched_row(position: str) -> None:
        waited.append(position)
        box.sql("primary", "UPDATE shop.streamed SET v = 'later' WHERE id = 1", app=True)
        wait_for(
            lambda: box.value(
                "delayed",
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                "WHERE STATE = 'Waiting for table metadata lock'",
            ),
            what="the delayed replica's applier to wait for asof's read lock",
        )

    with ops.store() as store:
        result = run_streamed(
            ops.config, store, plan, ops.audit, timeout=60, pinned=change_untouched_row
        )
    assert result is not None and waited == [result.position]
    assert result.verified is True, result.checked
    assert result.checked is not None and "streamed" in result.checked
    assert result.undone.total > 0 and not result.rows_kept
    assert result.written == len(streamed_moment["rows"]) == result.count
    assert table_rows(box, "primary", "shop.streamed_at_t") == streamed_moment["rows"]
    assert fingerprint(box, "primary", "shop.streamed_at_t") == streamed_moment["print"]
    # The lock is gone: the replica applied the change it held back.
    wait_for(
        lambda: box.value("delayed", "SELECT v FROM shop.streamed WHERE id = 1") == "later",
        what="the replica to apply the change held back",
    )
    settle(box)


def test_a_refused_streamed_copy_leaves_no_table(
    box: Sandbox, streamed_moment: dict[str, Any]
) -> None:
    """The replica's row disagrees with the archive (written on the replica itself): the rewind
    refuses, and the target the dump was filling is dropped, not left holding the present."""
    quiet = "SET SESSION sql_log_bin = 0"
    box.sql("delayed", quiet, "UPDATE shop.streamed SET v = 'x' WHERE id = 14")
    try:
        code, refused = asof(
            box, "shop.streamed", streamed_moment["at"], "--into", "shop.refused", "--yes"
        )
    finally:
        box.sql("delayed", quiet, "UPDATE shop.streamed SET v = NULL WHERE id = 14")
    assert code == 3 and "disagree" in refused["error"], refused
    exists = box.value(
        "primary",
        "SELECT COUNT(*) FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'refused'",
    )
    assert exists == 0
    settle(box)


def test_a_streamed_copy_whose_digests_disagree_is_compared_row_by_row(
    box: Sandbox, streamed_moment: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Servers of two versions may print a value apart, so digests that disagree are not yet a
    wrong copy: every row of the copy is compared with the pinned snapshot's rows at T."""
    from drkit.asof import streamed
    from drkit.service import Operations

    monkeypatch.setattr(streamed, "digests_agree", lambda *args: (False, -1))
    ops = Operations(box.config())
    plan = ops.plan_asof("shop.streamed", iso(streamed_moment["at"]), into="shop.compared")
    with ops.store() as store:
        result = streamed.run_streamed(ops.config, store, plan, ops.audit, timeout=60)
    assert result is not None and result.verified is True
    assert result.checked == "every row read back"
    assert result.written == len(streamed_moment["rows"])
    assert fingerprint(box, "primary", "shop.compared") == streamed_moment["print"]
    # A copy that really lacks a rewound row is not verified, by digests nor row by row.
    monkeypatch.undo()
    real_insert = streamed.insert_rows
    monkeypatch.setattr(
        streamed,
        "insert_rows",
        lambda session, target, rows, *rest: real_insert(session, target, rows[:-1], *rest),
    )
    settle(box)
    plan = ops.plan_asof("shop.streamed", iso(streamed_moment["at"]), into="shop.compared_2")
    with ops.store() as store:
        result = streamed.run_streamed(ops.config, store, plan, ops.audit, timeout=60)
    assert result is not None and result.verified is False
    assert result.checked == "every row read back; dropped, shop.compared_2 was not created"
    assert result.written == len(streamed_moment["rows"]) - 1
    # Not verified: neither the asked name nor the staging table is left holding it.
    assert tables_named(box, "primary", "shop", "compared_2") == []
    settle(box)


def test_a_table_emptied_since_t_streams_nothing_and_comes_back_whole(box: Sandbox) -> None:
    """The replica's table is empty: the dump gives no row (its snapshot is known taken only
    when it ends), and every row at T comes from the rewind."""
    base = time.time() + 9000
    box.sql("primary", "CREATE TABLE shop.emptied (id INT PRIMARY KEY, v INT NULL)", app=True)
    commit_at(box, base, "INSERT INTO shop.emptied VALUES (1, 10), (2, NULL), (3, 30)")
    expected = table_rows(box, "primary", "shop.emptied")
    commit_at(box, base + 100, "DELETE FROM shop.emptied")
    settle(box)
    assert box.value("delayed", "SELECT COUNT(*) FROM shop.emptied") == 0
    code, report = asof(box, "shop.emptied", base + 50, "--into", "shop.refilled", "--yes")
    assert code == 0 and report["verified"] is True, report
    assert "streamed" in report["checked"] and report["undone"]["delete"] == 3
    assert table_rows(box, "primary", "shop.refilled") == expected
    settle(box)


def tables_named(box: Sandbox, node: str, schema: str, prefix: str) -> list[str]:
    rows = box.sql(
        node,
        "SELECT TABLE_NAME AS name FROM information_schema.TABLES "
        f"WHERE TABLE_SCHEMA = '{schema}' AND TABLE_NAME LIKE '{prefix}%' ORDER BY 1",
    )
    return [str(r["name"]) for r in rows]


@pytest.mark.parametrize("path", ["streamed", "driver"])
def test_into_fills_a_staging_table_and_names_it_only_once_verified(
    box: Sandbox,
    streamed_moment: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    path: str,
) -> None:
    """While the rows are written and checked, nothing holds the asked name (a reader would see
    the present there); the staging table takes it in one RENAME, which the index does not flag."""
    from drkit.asof import copy, streamed
    from drkit.service import Operations

    target = f"staged_{path}"
    seen: list[list[str]] = []
    module: Any = streamed if path == "streamed" else copy
    real_digests_agree = module.digests_agree if path == "streamed" else module._verify

    def look_then_check(*args: Any) -> Any:
        seen.append(tables_named(box, "primary", "shop", target))
        return real_digests_agree(*args)

    monkeypatch.setattr(
        module, "digests_agree" if path == "streamed" else "_verify", look_then_check
    )
    ops = Operations(box.config())
    # --where takes the driver path (every row through drkit); "1 = 1" keeps every row.
    where = None if path == "streamed" else "1 = 1"
    plan = ops.plan_asof(
        "shop.streamed", iso(streamed_moment["at"]), into=f"shop.{target}", where=where
    )
    result = ops.asof(plan, timeout=60)
    assert result.verified is True, result.checked
    assert seen == [[f"{target}_drkit_merge"]], "the asked name was empty until verified"
    assert tables_named(box, "primary", "shop", target) == [target]
    assert table_rows(box, "primary", f"shop.{target}") == streamed_moment["rows"]
    settle(box)
    done, events = drkit_json(box, "events", "--limit", "100000")
    assert done.returncode == 0, done.stderr
    renamed = [e for e in events if "RENAME" in (e["statement"] or "") and target in e["statement"]]
    assert len(renamed) == 1 and renamed[0]["destructive"] is None, renamed


@pytest.mark.parametrize("path", ["streamed", "driver"])
def test_an_into_that_fails_midway_leaves_no_table(
    box: Sandbox, streamed_moment: dict[str, Any], monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """The fix-up (streamed) or the insert (driver) fails once the staging table holds rows:
    neither the asked name nor the staging table is left on the primary."""
    from drkit.asof import copy, streamed
    from drkit.errors import NodeError
    from drkit.service import Operations

    module: Any = streamed if path == "streamed" else copy
    real_insert = module.insert_rows
    held: list[list[str]] = []

    def fail_after_writing(session: Any, target: str, *rest: Any) -> None:
        real_insert(session, target, *rest)
        held.append(tables_named(box, "primary", "shop", "midway"))
        raise NodeError("node primary: the connection dropped (a test's failure)")

    monkeypatch.setattr(module, "insert_rows", fail_after_writing)
    ops = Operations(box.config())
    where = None if path == "streamed" else "1 = 1"
    plan = ops.plan_asof(
        "shop.streamed", iso(streamed_moment["at"]), into=f"shop.midway_{path}", where=where
    )
    with pytest.raises(NodeError, match="a test's failure"):
        ops.asof(plan, timeout=60)
    assert held == [[f"midway_{path}_drkit_merge"]]
    assert tables_named(box, "primary", "shop", "midway") == []
    settle(box)


def test_a_staging_table_left_behind_is_named_and_refused(
    box: Sandbox, streamed_moment: dict[str, Any]
) -> None:
    """What a kill -9 mid-copy leaves: the staging table, never the asked name. The next run
    refuses (exit 3) naming it, and writes nothing."""
    box.sql("primary", "CREATE TABLE shop.leftover_drkit_merge (id INT PRIMARY KEY)", app=True)
    settle(box)
    try:
        code, refused = asof(
            box, "shop.streamed", streamed_moment["at"], "--into", "shop.leftover", "--yes"
        )
        assert code == 3 and "shop.leftover_drkit_merge exists" in refused["error"], refused
        assert "DROP TABLE shop.leftover_drkit_merge" in refused["hint"]
        assert tables_named(box, "primary", "shop", "leftover") == ["leftover_drkit_merge"]
    finally:
        box.sql("primary", "DROP TABLE shop.leftover_drkit_merge", app=True)
    settle(box)


def test_a_table_drkit_may_not_read_is_refused_before_anything_is_read(
    box: Sandbox, recorded: dict[float, dict[str, Any]]
) -> None:
    """Without SELECT on the table, asof says so in one sentence with its GRANT (exit 2),
    and reads nothing; a SELECT granted on the table alone (and the position table) suffices."""
    settle(box)
    when = time.time() + 20000  # after every commit the tests gave a time: nothing to undo
    items = table_rows(box, "primary", "shop.items")
    quiet = "SET SESSION sql_log_bin = 0"
    box.sql("delayed", quiet, "REVOKE SELECT ON *.* FROM 'drkit'@'%'")
    granted = False
    try:
        status = box.replica_status("delayed")
        code, refused = asof(box, "shop.items", when)
        assert code == 2, refused
        assert refused["error"] == (
            "asof needs SELECT on shop.items and mysql.gtid_slave_pos on delayed, which drkit's "
            "account (drkit@%) lacks; nothing was read or changed"
        )
        assert "GRANT SELECT ON `shop`.`items` TO 'drkit'@'%'" in refused["hint"]
        after = box.replica_status("delayed")
        assert (after["Relay_Log_Pos"], after["SQL_Delay"], after["Slave_SQL_Running"]) == (
            status["Relay_Log_Pos"],
            status["SQL_Delay"],
            status["Slave_SQL_Running"],
        )
        box.sql(
            "delayed",
            quiet,
            "GRANT SELECT ON shop.items TO 'drkit'@'%'",
            "GRANT SELECT ON mysql.gtid_slave_pos TO 'drkit'@'%'",
        )
        granted = True
        code, report = asof(box, "shop.items", when)
        assert code == 0, report
        assert [row[0] for row in report["rows"]] == [r["id"] for r in items] != []
    finally:
        box.sql("delayed", quiet, "GRANT SELECT ON *.* TO 'drkit'@'%'")
        if granted:
            box.sql(
                "delayed",
                quiet,
                "REVOKE SELECT ON shop.items FROM 'drkit'@'%'",
                "REVOKE SELECT ON mysql.gtid_slave_pos FROM 'drkit'@'%'",
            )


def test_a_transaction_skipped_on_the_replica_after_t_is_refused_by_name(
    box: Sandbox, recorded: dict[float, dict[str, Any]]
) -> None:
    """`recover --skip` left a DELETE of a table without a primary key unapplied on the
    replica: undoing it would put back rows the replica still holds (twice over, no key to
    notice it). asof refuses naming it; a T after it is answered with the replica's rows."""
    base = time.time() + 10000
    box.sql("primary", "CREATE TABLE shop.heap (colour VARCHAR(10), n INT)", app=True)
    commit_at(box, base, "INSERT INTO shop.heap VALUES ('red', 1), ('blue', 2), ('blue', 2)")
    settle(box)
    assert box.drkit("freeze").returncode == 0
    try:
        commit_at(box, base + 100, "DELETE FROM shop.heap WHERE colour = 'blue'")
        commit_at(box, base + 200, "INSERT INTO shop.heap VALUES ('green', 3)")
        index(box)
        _, events = drkit_json(box, "events", "--table", "shop.heap")
        deleted = next(e for e in events if e["rows"]["delete"] == 2)
        skipped = box.drkit("recover", "--skip", str(deleted["id"]), "--yes")
        assert skipped.returncode == 0, skipped.stderr
    finally:
        assert box.drkit("resume", "--yes").returncode == 0
    wait_for(
        lambda: box.value("delayed", "SELECT COUNT(*) FROM shop.heap") == 4,
        what="the replica to apply the insert after the skipped delete",
    )
    code, refused = asof(box, "shop.heap", base + 50)
    assert code == 3, refused
    assert f"#{deleted['id']} ({deleted['gtid']})" in refused["error"], refused
    assert "skipped" in refused["error"], refused
    code, answer = asof(box, "shop.heap", base + 150)
    assert code == 0, answer
    assert sorted(map(tuple, answer["rows"])) == [("blue", 2), ("blue", 2), ("red", 1)]
    settle(box)


def test_a_copy_killed_midway_leaves_the_asked_name_empty_or_whole(
    box: Sandbox, streamed_moment: dict[str, Any]
) -> None:
    """kill -9 once the staging table exists: the asked name is absent, or (the RENAME was
    already sent) holds exactly the table at T; a staging table left is refused by name."""
    import os
    import signal

    from tests.support.processes import drkit_popen

    target = "killed"
    args = ("asof", "--table", "shop.streamed", "--at", iso(streamed_moment["at"]))
    proc = drkit_popen(box, *args, "--into", f"shop.{target}", "--yes")
    try:
        wait_for(
            lambda: tables_named(box, "primary", "shop", target) or proc.poll() is not None,
            timeout=60,
            interval=0.01,
            what="the staging table to appear",
        )
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
    wait_for(
        lambda: (
            not box.sql(
                "primary",
                "SELECT ID FROM information_schema.PROCESSLIST "
                f"WHERE INFO LIKE '%{target}%' AND ID <> CONNECTION_ID()",
            )
        ),
        what="the killed run's statements to end on the primary",
    )
    left = tables_named(box, "primary", "shop", target)
    if target in left:
        assert left == [target], "renamed: the staging table is gone"
        assert table_rows(box, "primary", f"shop.{target}") == streamed_moment["rows"]
        return
    if left:
        assert left == [f"{target}_drkit_merge"]
        settle(box)
        code, refused = asof(
            box, "shop.streamed", streamed_moment["at"], "--into", f"shop.{target}", "--yes"
        )
        assert code == 3 and f"shop.{target}_drkit_merge exists" in refused["error"], refused
        box.sql("primary", f"DROP TABLE shop.{target}_drkit_merge", app=True)
    settle(box)
