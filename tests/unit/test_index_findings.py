"""Every finding of a transaction in the index: written by the recorder, read back in order, kept
out of failed batches, removed by a prune, and carried over from indexes of the first schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from drkit.classify import ClassifyRules
from drkit.guard.findings import guard_findings
from drkit.index.layout import Scanned
from drkit.index.prune import delete_before
from drkit.index.recording import Recorder
from drkit.index.records import Destructive, TableRows
from drkit.index.schema import MIGRATIONS, SCHEMA_VERSION
from drkit.index.store import IndexStore, IndexStoreError, NewTransaction
from drkit.model.coords import BinlogCoord

# One transaction, two destructive statements, in the default schema `shop`; then a harmless one.
TWO_FINDINGS: Scanned = (
    "0-1-1",
    "bin.000001",
    4,
    400,
    1_795_000_000,
    1,
    "dml",
    (("shop", "scratch", 0, 0, 3), ("shop", "orders", 0, 4, 0)),
    ("DELETE FROM scratch", "UPDATE orders SET status = 'x'"),
    "shop",
    (),
)
HARMLESS: Scanned = (
    "0-1-2",
    "bin.000001",
    400,
    500,
    1_795_000_060,
    1,
    "dml",
    (("shop", "orders", 1, 0, 0),),
    ("INSERT INTO orders VALUES (1)",),
    "shop",
    (),
)


def write(store: IndexStore, batch: list[Scanned], checkpoint: int) -> None:
    rows, table_rows, finding_rows = Recorder(ClassifyRules()).rows(batch, store.next_id())
    store.append_rows(rows, table_rows, BinlogCoord("bin.000001", checkpoint), finding_rows)


def test_every_finding_is_stored_in_order_and_the_worst_stays_the_transactions(
    tmp_path: Path,
) -> None:
    with IndexStore(tmp_path / "index.db") as store:
        write(store, [TWO_FINDINGS, HARMLESS], 500)
        flagged, harmless = store.get(1), store.get(2)
    assert flagged is not None and harmless is not None
    assert flagged.destructive is not None
    assert (flagged.destructive.category, flagged.destructive.severity) == (
        "delete_without_where",
        "critical",
    )
    assert [(f.category, f.severity, f.tables) for f in flagged.findings] == [
        ("delete_without_where", "critical", ("shop.scratch",)),
        ("update_without_where", "high", ("shop.orders",)),
    ]
    assert flagged.findings[0].reason == flagged.destructive.reason
    assert (harmless.destructive, harmless.findings) == (None, ())
    data = flagged.to_json()
    assert [(f["class"], f["tables"]) for f in data["findings"]] == [  # type: ignore[attr-defined]
        ("delete_without_where", ["shop.scratch"]),
        ("update_without_where", ["shop.orders"]),
    ]
    assert harmless.to_json()["findings"] == []


def test_a_failed_batch_leaves_no_finding_and_a_prune_takes_them_with_their_transactions(
    tmp_path: Path,
) -> None:
    with IndexStore(tmp_path / "index.db") as store:
        write(store, [HARMLESS], 500)
        # The flagged transaction comes with one at the coordinates already stored: all or nothing.
        with pytest.raises(IndexStoreError, match="UNIQUE constraint failed"):
            write(store, [TWO_FINDINGS, HARMLESS], 600)
        assert store.conn.execute("SELECT COUNT(*) FROM findings").fetchone()[0] == 0
        write(store, [TWO_FINDINGS], 600)
        assert store.conn.execute("SELECT tx_id, seq FROM findings").fetchall() == [(2, 0), (2, 1)]
        write(store, [(*HARMLESS[:2], 600, 700, *HARMLESS[4:])], 700)  # type: ignore[list-item]
        assert delete_before(store, 3) == 2
        assert store.conn.execute("SELECT COUNT(*) FROM findings").fetchone()[0] == 0


def test_a_record_made_in_python_stores_its_finding_on_every_table(tmp_path: Path) -> None:
    flagged = Destructive("drop_table", "critical", "DROP TABLE shop.a")
    record = NewTransaction(
        "0-1-1", "bin.000001", 4, 100, 1, 1, "ddl", (TableRows("shop.a"),), "DROP TABLE a", flagged
    )
    with IndexStore(tmp_path / "index.db") as store:
        (tx_id,) = store.append([record], BinlogCoord("bin.000001", 100))
        found = store.get(tx_id)
    assert found is not None
    assert found.findings == (
        Destructive("drop_table", "critical", "DROP TABLE shop.a", ("shop.a",)),
    )


def schema_1_index(path: Path) -> None:
    """An index as drkit wrote it before findings were stored (schema 1): the worst finding only."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(f"BEGIN; {MIGRATIONS[0]}; PRAGMA user_version = 1; COMMIT;")
    conn.executemany(
        "INSERT INTO transactions (id, gtid, file, file_seq, start_pos, end_pos, ts, server_id, "
        "kind, statement, rows_insert, rows_update, rows_delete, destructive_class, severity, "
        "reason, row_events) VALUES (?, ?, 'bin.000001', 1, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, x'')",
        [
            (1, "0-1-1", 4, 100, 1_795_000_000, "dml", "INSERT", 1, 0, 0, None, None, None),
            (2, "0-1-2", 100, 400, 1_795_000_060, "dml", "DELETE FROM scratch; UPDATE orders",
             0, 4, 3, "delete_without_where", 4, "DELETE without WHERE removes every row of scratch"),
            (3, "0-1-3", 400, 500, 1_795_000_120, "ddl", "DROP DATABASE legacy", 0, 0, 0,
             "drop_database", 4, "DROP DATABASE removes database legacy with every table in it"),
        ],
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO transaction_tables VALUES (?, ?, ?, ?, ?, ?)",
        [
            (1, "shop", "orders", 1, 0, 0),
            (2, "shop", "orders", 0, 4, 0),
            (2, "shop", "scratch", 0, 0, 3),
            (3, "legacy", "*", 0, 0, 0),
        ],
    )
    conn.execute("INSERT INTO checkpoint VALUES (1, 'bin.000001', 500, 0)")
    conn.close()


def test_an_index_of_the_first_schema_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    schema_1_index(path)
    before = sqlite3.connect(path).execute("SELECT * FROM transactions ORDER BY id").fetchall()
    # A reader cannot migrate: it reads the worst finding, and the guard takes it for every table.
    with IndexStore(path, readonly=True) as reader:
        unmigrated = reader.get(2)
        assert reader.conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert unmigrated is not None and unmigrated.findings == ()
    assert [(f.category, f.tables) for f in guard_findings(unmigrated, ClassifyRules())] == [
        ("delete_without_where", ("shop.orders", "shop.scratch"))
    ]
    with IndexStore(path) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        after = store.conn.execute("SELECT * FROM transactions ORDER BY id").fetchall()
        records = [store.get(tx_id) for tx_id in (1, 2, 3)]
        assert store.checkpoint() == BinlogCoord("bin.000001", 500)
    assert after == before  # the worst finding stays where it was, every other column too
    plain, mixed, dropped = records
    assert plain is not None and mixed is not None and dropped is not None
    assert plain.findings == ()
    # The first schema did not say which tables the worst finding named: every one touched.
    assert mixed.findings == (
        Destructive(
            "delete_without_where",
            "critical",
            "DELETE without WHERE removes every row of scratch",
            ("shop.orders", "shop.scratch"),
        ),
    )
    assert dropped.findings == (
        Destructive(
            "drop_database",
            "critical",
            "DROP DATABASE removes database legacy with every table in it",
            ("legacy.*",),
        ),
    )
    # The guard reads it like any stored finding; its own mass threshold still counts rows.
    findings = guard_findings(mixed, ClassifyRules(mass_rows=2))
    assert [(f.category, f.tables) for f in findings] == [
        ("delete_without_where", ("shop.orders", "shop.scratch"))
    ]
    # Opened again, nothing is migrated twice.
    with IndexStore(path) as store:
        assert store.conn.execute("SELECT COUNT(*) FROM findings").fetchone()[0] == 2
