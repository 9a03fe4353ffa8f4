"""drkit.binlog against a live throwaway MariaDB: its records must match SHOW BINLOG EVENTS and
mariadb-binlog, decoded row images must equal the rows selected from the tables, and a file still
being written must be scanned incrementally without loss or repetition."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drkit.binlog import Transaction, decode_rows, scan_file
from tests.fixtures.binlog.workload import (
    TYPES_COLUMNS,
    run_workload,
    server_view,
    sql_text_of,
)
from tests.support.scan_modes import scan_mode  # noqa: F401 - a fixture: each test runs on both walks
from tests.support.throwaway_server import (
    ThrowawayServer,
    throwaway_server,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThrowawayServer]:
    with throwaway_server(tmp_path_factory.mktemp("binlog-server")) as running:
        run_workload(running.sql)
        yield running


@pytest.fixture(scope="module")
def closed_files(server: ThrowawayServer) -> list[Path]:
    return server.binlog_files()[:-1]


@pytest.fixture(scope="module")
def view(server: ThrowawayServer, closed_files: list[Path]) -> dict[str, Any]:
    return server_view(server.rows, closed_files)


# Read-only, so on both walks; the tests after the next change the module's server: run once.
@pytest.mark.usefixtures("scan_mode")
def test_every_transaction_matches_the_servers_binlog_events(
    closed_files: list[Path], view: dict[str, Any]
) -> None:
    for path in closed_files:
        expected = view["files"][path.name]
        scanned = list(scan_file(path))
        assert [(t.gtid, t.start_pos, t.end_pos) for t in scanned] == [
            (s["gtid"], s["start"], s["end"]) for s in expected["transactions"]
        ]
        # end_pos is the End_log_pos of the transaction's last event.
        assert [t.end_pos for t in scanned] == [s["last_end"] for s in expected["transactions"]]
        counts = {
            t.gtid: {c.name: [c.inserts, c.updates, c.deletes] for c in t.tables} for t in scanned
        }
        assert counts == expected["rows"]


@pytest.mark.usefixtures("scan_mode")
def test_decoded_images_equal_the_selected_rows(
    closed_files: list[Path], view: dict[str, Any]
) -> None:
    creation = next(t for t in scan_file(closed_files[0]) if "app.types_demo" in _tables(t))
    images = decode_rows(closed_files[0], creation.row_events)
    first = images[0].after
    assert first is not None
    assert [sql_text_of(c, first[c]) for c in TYPES_COLUMNS] == view["types_rows"][0]


def test_flashback_images_of_a_delete_without_where(server: ThrowawayServer) -> None:
    before = server.rows(
        "SELECT id, name, balance, IFNULL(city, 'NULL') FROM app.customers ORDER BY id"
    )
    server.sql("FLUSH BINARY LOGS")
    server.sql("DELETE FROM app.customers")
    current = server.binlog_files()[-1]
    (deletion,) = [t for t in scan_file(current) if t.tables]
    assert deletion.rows == (0, 0, len(before))
    assert deletion.statements == ("DELETE FROM app.customers",)
    images = decode_rows(current, deletion.row_events)
    restored = [
        [
            str(i.before["id"]),
            i.before["name"],
            str(i.before["balance"]),
            i.before["city"] or "NULL",
        ]
        for i in images
        if i.before is not None
    ]
    assert restored == before


def test_a_file_being_written_is_scanned_incrementally(server: ThrowawayServer) -> None:
    server.sql("FLUSH BINARY LOGS")
    current = server.binlog_files()[-1]
    server.sql("CREATE TABLE app.live (id INT PRIMARY KEY, v VARCHAR(20))")
    seen: list[Transaction] = []
    position: int | None = None
    for batch in range(5):
        server.sql(
            f"INSERT INTO app.live VALUES ({batch * 10 + 1}, 'a'), ({batch * 10 + 2}, NULL); "
            f"UPDATE app.live SET v = 'b{batch}' WHERE id = {batch * 10 + 1}"
        )
        scan = scan_file(current, position)
        seen += list(scan)
        assert scan.stop_reason == "end of file"
        assert not scan.finished  # the server keeps the file open
        position = scan.position
    full = list(scan_file(current))
    assert seen == full
    assert sum(t.rows[0] for t in full) == 10
    assert sum(t.rows[1] for t in full) == 5
    assert position == current.stat().st_size
    # What the server reports as the start of each GTID group is where each record starts.
    events = server.rows(f"SHOW BINLOG EVENTS IN '{current.name}'")
    assert [t.start_pos for t in full] == [int(e[1]) for e in events if e[2] == "Gtid"]


def test_multiple_files_chain_through_rotate_events(closed_files: list[Path]) -> None:
    gtids: list[str | None] = []
    expected_next = [path.name for path in closed_files[1:]]
    names: list[str | None] = []
    for path in closed_files:
        scan = scan_file(path)
        gtids += [t.gtid for t in scan]
        names.append(scan.next_file)
    assert names[:-1] == expected_next
    sequence = [int(g.rsplit("-", 1)[1]) for g in gtids if g]
    assert sequence == list(range(1, len(sequence) + 1))


def _tables(transaction: Transaction) -> set[str]:
    return {table.name for table in transaction.tables}


def test_legacy_hires_temporal_columns_are_flagged_not_miscounted(server: ThrowawayServer) -> None:
    server.sql("FLUSH BINARY LOGS")
    server.sql("SET GLOBAL mysql56_temporal_format = OFF")
    try:
        server.sql(
            "CREATE TABLE app.legacy (id INT PRIMARY KEY, t TIME(3) NULL); "
            "INSERT INTO app.legacy VALUES (1, '12:34:56.789'), (2, NULL)"
        )
    finally:
        server.sql("SET GLOBAL mysql56_temporal_format = ON")
    current = server.binlog_files()[-1]
    insert = [t for t in scan_file(current) if t.kind == "dml"]
    assert len(insert) == 1
    assert "rows_uncounted" in insert[0].flags
    assert [(t.name, t.inserts) for t in insert[0].tables] == [("app.legacy", 0)]
