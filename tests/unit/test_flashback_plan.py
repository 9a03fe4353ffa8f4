"""The flashback plan and its SQL, from values alone: refusals, reverse statements, literals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from drkit.binlog.rows import RowImage
from drkit.dialect import rows as sql
from drkit.errors import RefusedError
from drkit.flashback.plan import (
    FlashbackFacts,
    TableFacts,
    TablePlan,
    TargetFacts,
    plan_flashback,
    reverse_statement,
)
from drkit.flashback.values import matches, parse_key
from drkit.index.records import Destructive, IndexedTransaction, TableRows

COLUMNS = ("id", "note", "total")


def _tx(
    tx_id: int = 5, kind: str = "dml", deletes: int = 3, destructive: Destructive | None = None
) -> IndexedTransaction:
    return IndexedTransaction(
        tx_id,
        f"0-1-{tx_id}",
        "bin.000001",
        100,
        900,
        1_700_000_000,
        1,
        kind,
        (TableRows("shop.orders", 0, 0, deletes),),
        "DELETE FROM shop.orders",
        destructive,
    )


def _facts(*targets: TargetFacts, table: TableFacts | None = None) -> FlashbackFacts:
    table = table or TableFacts("shop.orders", True, COLUMNS, (), ("id",))
    return FlashbackFacts("primary", True, targets, {"shop.orders": table})


def _target(tx: IndexedTransaction, labels: tuple[str, ...] = COLUMNS) -> TargetFacts:
    return TargetFacts(tx, ((10, 20), (20, 30)), None, {"shop.orders": labels})


def test_plan_orders_targets_newest_first_and_names_the_key() -> None:
    plan = plan_flashback(_facts(_target(_tx(4)), _target(_tx(9))))
    assert [t.id for t in plan.targets] == [9, 4]
    assert plan.tables["shop.orders"] == TablePlan("shop.orders", COLUMNS, COLUMNS, ("id",))
    assert plan.rows == 6
    assert "newest first" in plan.render()


@pytest.mark.parametrize(
    ("facts", "says"),
    [
        (_facts(_target(_tx(kind="ddl"))), "is DDL"),
        (
            _facts(_target(_tx(destructive=Destructive("truncate", "high", "TRUNCATE")))),
            "drkit recover --before 5",
        ),
        (
            _facts(TargetFacts(_tx(), (), "its binlog file bin.000001 is not in the archive")),
            "archive",
        ),
        (_facts(_target(_tx(), ("@1", "@2", "@3"))), "carries no column names"),
        (_facts(_target(_tx()), table=TableFacts("shop.orders", False)), "does not exist"),
        (
            _facts(
                _target(_tx()), table=TableFacts("shop.orders", True, ("id", "note"), (), ("id",))
            ),
            "total no longer exists",
        ),
        (
            _facts(
                _target(_tx()),
                table=TableFacts(
                    "shop.orders",
                    True,
                    COLUMNS,
                    (),
                    ("id",),
                    ("shop.lines (fk): ON DELETE CASCADE",),
                ),
            ),
            "shop.lines (fk): ON DELETE CASCADE",
        ),
        (_facts(), "no transaction to reverse"),
        (
            _facts(
                TargetFacts(
                    _tx(), ((1, 2),), None, {"shop.orders": COLUMNS}, {"shop.orders": ("j",)}
                )
            ),
            "MySQL binary JSON columns (j)",
        ),
    ],
)
def test_refusals_say_what_was_seen(facts: FlashbackFacts, says: str) -> None:
    with pytest.raises(RefusedError) as refused:
        plan_flashback(facts)
    assert says in refused.value.message + (refused.value.hint or "")


def test_generated_and_added_columns_are_left_to_the_server() -> None:
    table = TableFacts("shop.orders", True, (*COLUMNS, "added", "gen"), ("gen",), ("id",))
    plan = plan_flashback(_facts(_target(_tx(), (*COLUMNS, "gen")), table=table))
    assert plan.tables["shop.orders"].write == COLUMNS
    assert any("added" in note for note in plan.notes)


TABLE = TablePlan("shop.orders", COLUMNS, COLUMNS, ("id",))


def _row(
    operation: str, before: dict[str, object] | None, after: dict[str, object] | None
) -> RowImage:
    return RowImage("shop", "orders", operation, before, after, 0, ("id",))


def test_reverse_statements_act_only_on_the_state_the_disaster_left() -> None:
    old = {"id": 1, "note": None, "total": Decimal("2.50")}
    new = {"id": 1, "note": "x", "total": Decimal("2.50")}
    deleted = reverse_statement(_row("delete", old, None), TABLE)
    assert deleted is not None
    assert deleted.sql.text == (
        "INSERT INTO `shop`.`orders` (`id`, `note`, `total`) SELECT 1, NULL, 2.50 FROM DUAL "
        "WHERE NOT EXISTS (SELECT 1 FROM `shop`.`orders` WHERE `id` <=> 1)"
    )
    updated = reverse_statement(_row("update", old, new), TABLE)
    assert updated is not None
    assert updated.sql.text == (
        "UPDATE `shop`.`orders` SET `note` = NULL "
        "WHERE `id` <=> 1 AND `note` <=> 'x' AND `total` <=> 2.50 LIMIT 1"
    )
    inserted = reverse_statement(_row("insert", None, new), TABLE)
    assert inserted is not None
    assert inserted.sql.text == (
        "DELETE FROM `shop`.`orders` WHERE `id` <=> 1 AND `note` <=> 'x' AND `total` <=> 2.50 LIMIT 1"
    )
    assert reverse_statement(_row("update", old, dict(old)), TABLE) is None


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "NULL"),
        (-5, "-5"),
        (1.5, "1.5e0"),
        (1e-05, "1e-05"),
        (Decimal("-0.001"), "-0.001"),
        (b"\x00\xff", "X'00ff'"),
        ("it's \\", "'it''s \\\\'"),
        (dt.datetime(2026, 1, 2, 3, 4, 5, 6), "'2026-01-02 03:04:05.000006'"),
        (dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), "'2026-01-02 03:04:05'"),
        (dt.date(2026, 2, 28), "'2026-02-28'"),
        (
            -dt.timedelta(hours=838, minutes=59, seconds=59, microseconds=990000),
            "'-838:59:59.990000'",
        ),
        ("0000-00-00", "'0000-00-00'"),
    ],
)
def test_literals(value: object, text: str) -> None:
    assert sql.literal(value) == text


def test_keys_match_by_name_and_shown_value() -> None:
    key = parse_key("id=7, note=NULL")
    assert key == (("id", "7"), ("note", "NULL"))
    assert matches({"id": 7, "note": None}, key)
    assert not matches({"id": 8, "note": None}, key)
    assert not matches(None, key)
    with pytest.raises(Exception, match="not a key"):
        parse_key("id")


def test_deleted_rows_go_back_in_batches_only_where_the_key_is_free() -> None:
    images = [{"id": 1, "note": None}, {"id": 2, "note": "it's"}]
    statement = sql.restore_deleted_batch("shop.orders", images, ("id", "note"), ("id",))
    assert statement.text == (
        "INSERT INTO `shop`.`orders` (`id`, `note`) SELECT r.`id`, r.`note` FROM "
        "(SELECT 1 AS `id`, NULL AS `note` UNION ALL SELECT 2, 'it''s') AS r "
        "WHERE NOT EXISTS (SELECT 1 FROM `shop`.`orders` t WHERE t.`id` <=> r.`id`)"
    )
