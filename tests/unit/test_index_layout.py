"""The stored forms lay_out writes: row-event offsets packed, and statements redacted cheaply."""

from __future__ import annotations

import array
import random

from drkit.index.layout import Scanned, ScannedTable, lay_out, pack_pairs, unpack_pairs
from drkit.io.secrets import _HINT, _may_hold_password


def test_packed_pairs_are_little_endian_64_bit_integers_and_read_back() -> None:
    rng = random.Random(5)
    for count in (*range(12), 334, 1000):
        pairs = [(rng.randrange(2**40), rng.randrange(2**62)) for _ in range(count)]
        expected = array.array("q", [offset for pair in pairs for offset in pair])
        packed = pack_pairs(pairs)
        assert packed == expected.tobytes()  # this machine is little-endian, as stored
        assert packed[:8] == (pairs[0][0].to_bytes(8, "little") if pairs else b"")
        assert unpack_pairs(packed) == pairs


def test_the_password_precheck_never_misses_what_the_redaction_looks_for() -> None:
    rng = random.Random(11)
    # The long s (\u017f) matches S only under Unicode case folding: the regex must see it.
    pieces = ["PassWord", "password(", "IDENTIFIED", "identifie", "pwd", "PWD", "xpwdx",
              "pass word", "Pa\u017f\u017fword", "id", "INSERT INTO t VALUES (1)", " ", "é",
              ]  # fmt: skip
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 6)))
        if _HINT.search(text) is not None:
            assert _may_hold_password(text), text


def _tx(kind: str, tables: tuple[ScannedTable, ...], *statements: str) -> Scanned:
    return ("0-1-1", "mysql-bin.000007", 4, 90, 1700000000, 1, kind, tables, statements, "shop", ())


def test_each_schema_change_names_its_own_tables_whatever_the_batch_named_before() -> None:
    batch = [
        _tx("dml", (("shop", "orders", 1, 0, 0),), "INSERT INTO orders VALUES (1)"),
        _tx("ddl", (), "ALTER TABLE orders ADD note TEXT"),
        _tx("ddl", (), "RENAME TABLE orders TO old_orders, items TO orders"),
        _tx("ddl", (), "CREATE TABLE shop.orders (id INT)"),
    ]
    rows, table_rows, finding_rows = lay_out(batch, 41, [()] * len(batch))
    assert [row[0] for row in rows] == [41, 42, 43, 44]
    assert [row[3] for row in rows] == [7, 7, 7, 7]  # the file's sequence, on every row
    named: dict[int, list[str]] = {}
    for tx_id, schema, table, *_ in table_rows:
        named.setdefault(tx_id, []).append(f"{schema}.{table}")
    named = {tx_id: sorted(names) for tx_id, names in named.items()}
    assert named == {
        41: ["shop.orders"],
        42: ["shop.orders"],
        43: ["shop.items", "shop.old_orders", "shop.orders"],
        44: ["shop.orders"],
    }
    assert finding_rows == []
