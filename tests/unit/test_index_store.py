"""The index store on a temporary SQLite file: atomic records + checkpoint, lookups, and the search
behind `drkit events` (filters, ordering, paging)."""

from __future__ import annotations

import random
import sqlite3
import stat
from collections.abc import Iterator
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from drkit.index.layout import STATEMENT_LIMIT
from drkit.index.records import Destructive, TableRows
from drkit.index.schema import SCHEMA_VERSION
from drkit.index.store import Filters, IndexStore, IndexStoreError, NewTransaction
from drkit.model.coords import BinlogCoord

T0 = 1_795_000_000  # a commit time; each transaction below is 60 s after the previous one
DROP = Destructive("drop_table", "critical", "DROP TABLE removes shop.orders with all its rows")
MASS = Destructive("mass_delete", "high", "1500 rows deleted from shop.lines in one transaction")
DROP_DB = Destructive("drop_database", "critical", "DROP DATABASE removes database legacy")


def tx(
    n: int,
    tables: tuple[TableRows, ...] = (),
    *,
    destructive: Destructive | None = None,
    statement: str = "",
    file: str = "bin.000001",
    kind: str = "dml",
) -> NewTransaction:
    """The nth transaction of the test binlog: 100 bytes each, starting at 4 + 100 * (n - 1)."""
    start = 4 + 100 * (n - 1)
    return NewTransaction(
        gtid=f"0-1-{n}",
        file=file,
        start_pos=start,
        end_pos=start + 100,
        timestamp=T0 + 60 * (n - 1),
        server_id=1,
        kind=kind,
        tables=tables,
        statement=statement or f"statement {n}",
        destructive=destructive,
        row_events=((start + 40, start + 70),),
    )


ORDERS = TableRows("shop.orders", inserts=1)
LINES = TableRows("shop.lines", inserts=3)

# Ten transactions: 3 destructive (4, 7, 9), shop.orders in 1, 2, 4, 5, 8, shop.lines in 2, 3, 7, 8.
WORKLOAD = [
    tx(1, (ORDERS,)),
    tx(2, (ORDERS, LINES)),
    tx(3, (LINES,)),
    tx(4, (TableRows("shop.orders"),), destructive=DROP, kind="ddl"),
    tx(5, (ORDERS,)),
    tx(6, (TableRows("crm.contacts", updates=2),)),
    tx(7, (TableRows("shop.lines", deletes=1500),), destructive=MASS),
    tx(8, (ORDERS, LINES)),
    tx(9, (TableRows("legacy.*"),), destructive=DROP_DB, kind="ddl"),
    tx(10, (TableRows("crm.contacts", inserts=1),)),
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[IndexStore]:
    opened = IndexStore(tmp_path / "index.db")
    opened.append(WORKLOAD, BinlogCoord("bin.000001", 1004))
    try:
        yield opened
    finally:
        opened.close()


def gtids(found: list) -> list[int]:  # type: ignore[type-arg]
    return [int(record.gtid.rsplit("-", 1)[1]) for record in found]


def test_a_new_store_is_empty_private_and_at_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "index.db"
    fresh = IndexStore(path)
    try:
        assert fresh.checkpoint() is None
        assert fresh.count() == 0
        assert fresh.latest() is None
        assert fresh.search(Filters()) == []
        assert fresh.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        fresh.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_records_and_checkpoint_commit_together(store: IndexStore) -> None:
    assert store.count() == 10
    assert store.checkpoint() == BinlogCoord("bin.000001", 1004)
    ids = store.append([tx(11)], BinlogCoord("bin.000001", 1104))
    assert store.get(ids[0]) is not None
    # A batch that fails part-way (transaction 3 again: same coordinates) changes nothing at all.
    with pytest.raises(IndexStoreError, match="UNIQUE constraint failed"):
        store.append([tx(12), tx(3)], BinlogCoord("bin.000001", 1204))
    assert store.count() == 11
    assert store.checkpoint() == BinlogCoord("bin.000001", 1104)
    assert store.by_gtid("0-1-12") is None


def test_an_empty_batch_only_moves_the_checkpoint(store: IndexStore) -> None:
    assert store.append([], BinlogCoord("bin.000002", 4)) == []
    assert store.count() == 10
    assert store.checkpoint() == BinlogCoord("bin.000002", 4)


def test_a_record_reads_back_as_written(store: IndexStore) -> None:
    record = store.by_gtid("0-1-7")
    assert record is not None
    assert (record.file, record.start_pos, record.end_pos) == ("bin.000001", 604, 704)
    assert record.start == BinlogCoord("bin.000001", 604)
    assert record.timestamp == T0 + 360
    assert record.tables == (TableRows("shop.lines", deletes=1500),)
    assert record.rows == (0, 0, 1500)
    assert record.destructive == MASS
    assert record.kind == "dml"
    assert store.row_events(record.id) == [(644, 674)]
    data = record.to_json()
    assert data["timestamp"] == "2026-11-18T11:12:40Z"
    assert data["tables"] == ["shop.lines"]
    assert data["rows"] == {"insert": 0, "update": 0, "delete": 1500}
    assert data["destructive"] == {
        "class": "mass_delete",
        "severity": "high",
        "reason": MASS.reason,
    }
    assert store.get(999) is None


def test_lookups_by_coordinate(store: IndexStore) -> None:
    found = store.at_start(BinlogCoord("bin.000001", 304))
    assert found is not None and found.gtid == "0-1-4"
    assert store.at_start(BinlogCoord("bin.000001", 305)) is None
    after = store.first_after(BinlogCoord("bin.000001", 305))
    assert after is not None and after.gtid == "0-1-5"
    assert gtids(store.between(BinlogCoord("bin.000001", 304), BinlogCoord("bin.000001", 604))) == [
        4,
        5,
        6,
    ]
    assert store.count_between(BinlogCoord("bin.000001", 304), None) == 7
    latest = store.latest_destructive()
    assert latest is not None and latest.gtid == "0-1-9"
    first = store.first_after_time(T0 + 90)
    assert first is not None and first.gtid == "0-1-3"


def test_coordinates_order_by_file_number_not_by_name(tmp_path: Path) -> None:
    store = IndexStore(tmp_path / "index.db")
    try:
        store.append([tx(1, file="bin.999999")], BinlogCoord("bin.999999", 104))
        store.append([tx(1, file="bin.1000000")], BinlogCoord("bin.1000000", 104))
        found = store.first_after(BinlogCoord("bin.999999", 5))
        assert found is not None and found.file == "bin.1000000"
    finally:
        store.close()


def test_search_is_newest_first_and_limited(store: IndexStore) -> None:
    assert gtids(store.search(Filters())) == [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]
    assert gtids(store.search(Filters(limit=3))) == [10, 9, 8]
    assert gtids(store.search(Filters(limit=3, newest_first=False))) == [1, 2, 3]
    assert gtids(store.search(Filters(limit=None))) == list(range(10, 0, -1))


def test_paging_continues_where_the_last_page_ended(store: IndexStore) -> None:
    pages: list[list[int]] = []
    before: int | None = None
    while True:
        page = store.search(Filters(limit=4, before_id=before))
        if not page:
            break
        pages.append(gtids(page))
        before = page[-1].id
    assert pages == [[10, 9, 8, 7], [6, 5, 4, 3], [2, 1]]
    first = store.search(Filters(limit=4, newest_first=False))
    second = store.search(Filters(limit=4, newest_first=False, before_id=first[-1].id))
    assert gtids(second) == [5, 6, 7, 8]


def test_time_window_bounds_are_inclusive(store: IndexStore) -> None:
    window = Filters(since=T0 + 120, until=T0 + 240)
    assert gtids(store.search(window)) == [5, 4, 3]
    assert gtids(store.search(Filters(since=T0 + 121))) == [10, 9, 8, 7, 6, 5, 4]
    assert gtids(store.search(Filters(until=T0 - 1))) == []
    # Commit times have whole seconds: one stamped :00 may have committed any time in that second.
    assert gtids(store.search(Filters(since=T0 + 120.9, until=T0 + 120.9))) == [3]


def test_destructive_only(store: IndexStore) -> None:
    assert gtids(store.search(Filters(destructive=True))) == [9, 7, 4]
    assert gtids(store.search(Filters(destructive=True, since=T0 + 200))) == [9, 7]
    assert gtids(store.search(Filters(destructive=True, limit=1))) == [9]


def test_table_filter(store: IndexStore) -> None:
    assert gtids(store.search(Filters(table="shop.orders"))) == [8, 5, 4, 2, 1]
    assert gtids(store.search(Filters(table="shop.orders", destructive=True))) == [4]
    assert gtids(store.search(Filters(table="shop.*"))) == [8, 7, 5, 4, 3, 2, 1]
    assert gtids(store.search(Filters(table="*.contacts"))) == [10, 6]
    assert gtids(store.search(Filters(table="contacts"))) == [10, 6]  # any schema
    assert gtids(store.search(Filters(table="shop.line*", until=T0 + 200))) == [3, 2]
    assert gtids(store.search(Filters(table="shop.nothing"))) == []
    # A dropped database touched every table it held.
    assert gtids(store.search(Filters(table="legacy.invoices"))) == [9]
    assert gtids(store.search(Filters(table="legacy.*"))) == [9]
    # Each matching transaction once, even when it touched several matching tables.
    assert gtids(store.search(Filters(table="shop.*", since=T0 + 420))) == [8]


def test_each_transaction_lists_its_tables(store: IndexStore) -> None:
    (record,) = store.search(Filters(table="shop.lines", since=T0 + 420, until=T0 + 420))
    assert sorted(record.tables, key=lambda t: t.table) == [LINES, ORDERS]
    assert record.rows == (4, 0, 0)


def test_long_statements_are_clipped_for_reading(tmp_path: Path) -> None:
    store = IndexStore(tmp_path / "index.db")
    try:
        store.append([tx(1, statement="x" * (STATEMENT_LIMIT * 2))], BinlogCoord("bin.000001", 104))
        record = store.by_gtid("0-1-1")
        assert record is not None
        assert len(record.statement) == STATEMENT_LIMIT
        assert record.statement.endswith("…")
    finally:
        store.close()


def test_meta_values(store: IndexStore) -> None:
    assert store.meta("source") is None
    store.set_meta("source", "mariadb server_id=1 domain=0")
    store.set_meta("source", "mariadb server_id=1 domain=7")
    assert store.meta("source") == "mariadb server_id=1 domain=7"


def test_read_only_opening(tmp_path: Path, store: IndexStore) -> None:
    with pytest.raises(IndexStoreError) as missing:
        IndexStore(tmp_path / "nothing.db", readonly=True)
    assert "no index at" in missing.value.message
    assert missing.value.hint is not None and "drkit index" in missing.value.hint
    reader = IndexStore(store.path, readonly=True)
    try:
        assert reader.count() == 10
        with pytest.raises(IndexStoreError, match="attempt to write a readonly database"):
            reader.append([tx(11)], BinlogCoord("bin.000001", 1104))
    finally:
        reader.close()


def test_an_index_from_a_newer_drkit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(IndexStoreError, match="newer than this drkit understands"):
        IndexStore(path)


def test_row_event_offsets_read_back_in_either_stored_form(store: IndexStore) -> None:
    record = store.by_gtid("0-1-2")
    assert record is not None
    assert store.row_events(record.id) == [(144, 174)]
    # The first indexer stored them as JSON text.
    store.conn.execute(
        "UPDATE transactions SET row_events = '[[10,20],[20,35]]' WHERE id = ?", (record.id,)
    )
    assert store.row_events(record.id) == [(10, 20), (20, 35)]
    assert store.row_events(999) == []


def test_search_agrees_with_a_plain_reading_of_the_filters(tmp_path: Path) -> None:
    """Random records and filter combinations: the store returns what a list filter would."""
    rng = random.Random(7)
    names = ["shop.orders", "shop.order_lines", "shop.stock", "crm.orders", "crm.contacts"]
    records = []
    for n in range(1, 401):
        if n % 37 == 0:
            tables: tuple[TableRows, ...] = (TableRows(rng.choice(["shop.*", "crm.*"])),)
        else:
            tables = tuple(TableRows(name, 1) for name in rng.sample(names, rng.randint(0, 3)))
        finding = DROP if n % 11 == 0 else None
        # Commit times mostly rise with the binlog position, sometimes step back a little.
        record = tx(n, tables, destructive=finding)
        records.append(record._replace(timestamp=T0 + 10 * n - rng.choice([0, 0, 0, 25])))
    store = IndexStore(tmp_path / "index.db")
    try:
        ids = store.append(records, BinlogCoord("bin.000001", 4 + 100 * 400))
        by_id = dict(zip(ids, records, strict=True))
        patterns = [None, "shop.orders", "orders", "shop.order*", "*.orders", "crm.*", "*.*", "x.y"]
        for _ in range(400):
            filters = Filters(
                since=rng.choice([None, T0 + rng.randint(0, 4000)]),
                until=rng.choice([None, T0 + rng.randint(0, 4000)]),
                table=rng.choice(patterns),
                destructive=rng.random() < 0.3,
                limit=rng.choice([None, 1, 5, 50]),
                before_id=rng.choice([None, rng.randint(1, 400)]),
                newest_first=rng.random() < 0.7,
            )
            expected = [
                f"0-1-{ids.index(tx_id) + 1}"
                for tx_id in sorted(by_id, reverse=filters.newest_first)
                if _matches(by_id[tx_id], tx_id, filters)
            ][: filters.limit]
            assert [r.gtid for r in store.search(filters)] == expected, filters
    finally:
        store.close()


def _matches(record: NewTransaction, tx_id: int, filters: Filters) -> bool:
    checks = [
        filters.since is None or record.timestamp >= int(filters.since),
        filters.until is None or record.timestamp <= int(filters.until),
        not filters.destructive or record.destructive is not None,
        filters.before_id is None
        or (tx_id < filters.before_id if filters.newest_first else tx_id > filters.before_id),
    ]
    return all(checks) and (filters.table is None or _touches(record, filters.table))


def _touches(record: NewTransaction, pattern: str) -> bool:
    schema, _, name = pattern.rpartition(".")
    schema = schema or "*"
    for table in record.tables:
        t_schema, t_name = table.table.split(".")
        dropped = t_name == "*" and "*" not in schema
        if fnmatchcase(t_schema, schema) and (dropped or fnmatchcase(t_name, name)):
            return True
    return False
