"""The pieces of the streamed `asof --into` that need no server: when the pump says the dump's
snapshot exists, and the statements that replace the rewound keys."""

from __future__ import annotations

import io

from drkit.dialect import asof as sql
from drkit.io.extract import _once, _pump

DUMP = (
    b"-- MariaDB dump 10.19\n"
    b"/*!40101 SET NAMES utf8mb4 */;\n"
    b"-- Dumping data for table `t`\n"
    b"INSERT INTO `t` VALUES\n"
    b"(1,'a'),\n"
    b"(2,'b');\n"
    b"INSERT INTO `t` VALUES\n"
    b"(3,'c');\n"
)


def test_the_snapshot_is_known_taken_at_the_first_row_and_said_once() -> None:
    sink = io.BytesIO()
    seen: list[int] = []  # bytes already sent when the callback ran

    def taken() -> None:
        seen.append(len(sink.getvalue()))

    once = _once(taken)
    sent, problem = _pump(io.BytesIO(DUMP), sink, "t", "t_at", once)
    once()  # copy_table's call at the end: nothing more
    assert problem is None and sent == len(sink.getvalue())
    header = DUMP.index(b"INSERT INTO")
    assert seen == [header], "before the first INSERT, after the header lines only"
    assert sink.getvalue().count(b"INSERT INTO `t_at` VALUES") == 2


def test_an_empty_dump_leaves_the_call_to_its_end() -> None:
    calls: list[str] = []
    once = _once(lambda: calls.append("taken"))
    _pump(io.BytesIO(DUMP[: DUMP.index(b"INSERT")]), io.BytesIO(), "t", "t_at", once)
    assert calls == []
    once()
    once()
    assert calls == ["taken"]


def test_rewound_keys_are_deleted_by_value_and_printed_without_them() -> None:
    single = sql.delete_keys("s.t_at", ["id"], [(1,), (2,)])
    assert single.text == "DELETE FROM `s`.`t_at` WHERE `id` IN (1, 2)"
    pair = sql.delete_keys("s.t_at", ["a", "b"], [(1, "x'y"), (2, None)])
    assert pair.text == ("DELETE FROM `s`.`t_at` WHERE (`a`, `b`) IN ((1, 'x''y'), (2, NULL))")
    assert "x''y" not in str(pair) and str(pair).endswith("... (2 keys)")
    assert sql.lock_table_read("s.t").text == "LOCK TABLES `s`.`t` READ"
