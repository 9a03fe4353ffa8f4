"""`drkit extract` in pure code: names, refusals, the plan, the DDL rewrite and the dump filter."""

from __future__ import annotations

from typing import Any

import pytest

from drkit.dialect import for_version
from drkit.dialect.ddl import retarget_create_table
from drkit.dialect.dump import (
    UnexpectedDump,
    client_arguments,
    dump_arguments,
    pipeline_text,
    rename_inserts,
)
from drkit.errors import RefusedError, UsageError
from drkit.extract.plan import ExtractFacts, SourceTable, parse_tables, plan_extract
from drkit.model.version import ServerVersion
from drkit.plan.conditions import ApplierStopped, ExecutedIs, ReadOnlyIs
from drkit.plan.steps import CopyTable, SqlStep
from tests.support.facts import MYSQL, down, frozen, node, replica_status

ORDERS = (
    "CREATE TABLE `orders` (\n"
    "  `id` int(11) NOT NULL AUTO_INCREMENT,\n"
    "  `customer_id` int(11) NOT NULL,\n"
    "  PRIMARY KEY (`id`),\n"
    "  KEY `customer` (`customer_id`),\n"
    "  CONSTRAINT `orders_ibfk_1` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`id`),\n"
    "  CONSTRAINT `total_positive` CHECK (`id` > 0)\n"
    ") ENGINE=InnoDB AUTO_INCREMENT=101 DEFAULT CHARSET=utf8mb4"
)


@pytest.mark.parametrize(
    ("table", "into", "expected"),
    [
        ("shop.orders", None, ("shop.orders", "shop.orders")),
        ("shop.orders", "shop.orders_rescued", ("shop.orders", "shop.orders_rescued")),
        ("shop.orders", "orders_rescued", ("shop.orders", "shop.orders_rescued")),
        (" shop.orders ", "archive.orders", ("shop.orders", "archive.orders")),
    ],
)
def test_table_names(table: str, into: str | None, expected: tuple[str, str]) -> None:
    assert parse_tables(table, into) == expected


@pytest.mark.parametrize(("table", "into"), [("orders", None), ("shop.", None), ("shop.o", ".x")])
def test_bad_table_names_are_usage_errors(table: str, into: str | None) -> None:
    with pytest.raises(UsageError):
        parse_tables(table, into)


def facts(**changes: Any) -> ExtractFacts:
    values: dict[str, Any] = {
        "source": node("delayed", executed="0-1-5", replica=frozen()),
        "destination": node("primary", executed="0-1-9"),
        "source_table": "shop.orders",
        "target_table": "shop.orders",
        "renamed": False,
        "table": SourceTable("BASE TABLE", ORDERS, 100, ()),
        "target_exists": False,
        "target_schema_exists": True,
    }
    values.update(changes)
    return ExtractFacts(**values)


def test_plan_recreates_the_table_then_pipes_the_rows() -> None:
    plan = plan_extract(facts())
    create, copy = plan.steps
    assert isinstance(create, SqlStep) and create.node == "primary"
    assert str(create.sql).startswith("CREATE TABLE `shop`.`orders` (\n  `id` int(11)")
    assert "CONSTRAINT `orders_ibfk_1` FOREIGN KEY" in str(create.sql)  # same name: kept
    assert create.pre == (ReadOnlyIs(False),)
    assert isinstance(copy, CopyTable)
    assert (copy.source, copy.node, copy.rows, copy.mariadb) == ("delayed", "primary", 100, True)
    assert copy.source_pre == (ApplierStopped(), ExecutedIs("0-1-5"))
    assert plan.source_rows == 100 and plan.source_executed == "0-1-5"
    text = plan.render()
    assert "mariadb-dump --defaults-extra-file=<delayed.cnf> --single-transaction" in text
    assert "| mariadb --defaults-extra-file=<primary.cnf>" in text
    assert "the replicas get the table too" in text


def test_plan_into_a_new_name_drops_foreign_key_names_and_creates_a_lost_schema() -> None:
    plan = plan_extract(
        facts(target_table="archive.orders_rescued", renamed=True, target_schema_exists=False)
    )
    schema, create, copy = plan.steps
    assert isinstance(schema, SqlStep) and str(schema.sql) == "CREATE DATABASE `archive`"
    assert isinstance(create, SqlStep)
    sql = str(create.sql)
    assert sql.startswith("CREATE TABLE `archive`.`orders_rescued` (")
    assert "  FOREIGN KEY (`customer_id`) REFERENCES `shop`.`customers` (`id`)" in sql
    assert "CONSTRAINT `total_positive` CHECK" in sql
    assert isinstance(copy, CopyTable) and copy.target_table == "archive.orders_rescued"
    assert "(INSERT INTO `orders` becomes `orders_rescued`)" in copy.pipeline
    assert "foreign keys of the copy get names of the server's choosing" in plan.render()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"source": node("delayed", replica=replica_status())},
            "delayed is not frozen: its applier is running, so shop.orders could change under "
            "the dump",
        ),
        ({"source": node("delayed", replica=None)}, "delayed has no replication configured"),
        ({"source": down("delayed")}, "delayed does not answer"),
        (
            {"table": SourceTable(None)},
            "shop.orders does not exist on delayed (frozen at 0-1-5)",
        ),
        ({"table": SourceTable("VIEW")}, "shop.orders on delayed is a VIEW, not a table"),
        ({"destination": down("primary")}, "primary does not answer"),
        (
            {"destination": node("primary", read_only=True)},
            "primary is read-only (fenced?): it cannot take the table",
        ),
        (
            {"target_exists": True},
            "shop.orders exists on primary: extract never overwrites a table",
        ),
        (
            {"table": SourceTable("BASE TABLE", "CREATE VIEW x AS SELECT 1", 1)},
            "cannot reuse the definition of shop.orders",
        ),
    ],
)
def test_refusals_say_what_was_seen(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(RefusedError) as caught:
        plan_extract(facts(**changes))
    assert message in caught.value.message


def test_refusing_to_overwrite_points_at_into() -> None:
    with pytest.raises(RefusedError) as caught:
        plan_extract(facts(target_exists=True))
    assert caught.value.hint == "copy it beside the existing one: --into shop.orders_rescued"
    with pytest.raises(RefusedError) as renamed:
        plan_extract(facts(target_exists=True, target_table="shop.copy", renamed=True))
    assert renamed.value.hint == "choose a name that does not exist: --into shop.copy_2"


def test_retarget_create_table_rejects_other_statements() -> None:
    with pytest.raises(ValueError, match=r"not a CREATE TABLE of shop\.orders"):
        retarget_create_table(
            "CREATE TABLE `customers` (\n)", "shop.orders", "shop.x", drop_foreign_key_names=False
        )
    plain = retarget_create_table(
        "CREATE TABLE orders (id int)", "shop.orders", "shop.o2", drop_foreign_key_names=True
    )
    assert plain == "CREATE TABLE `shop`.`o2` (id int)"
    tricky = retarget_create_table(
        "CREATE TABLE `we``ird` (\n  `a` int\n)", "s.we`ird", "s.new", drop_foreign_key_names=False
    )
    assert tricky == "CREATE TABLE `s`.`new` (\n  `a` int\n)"


def test_dump_and_client_arguments() -> None:
    maria = dump_arguments("mariadb-dump", "private/client.cnf", "shop.orders", mariadb=True)
    assert maria[:2] == ["mariadb-dump", "--defaults-extra-file=private/client.cnf"]
    assert maria[-2:] == ["shop", "orders"]
    assert "--no-create-info" in maria and "--skip-triggers" in maria
    assert "--set-gtid-purged=OFF" not in maria
    mysql = dump_arguments("mysqldump", "c.cnf", "shop.orders", mariadb=False)
    assert "--set-gtid-purged=OFF" in mysql
    assert client_arguments("mariadb", "c.cnf", "shop") == [
        "mariadb",
        "--defaults-extra-file=c.cnf",
        "--binary-mode",
        "--default-character-set=utf8mb4",
        "shop",
    ]
    assert pipeline_text("delayed", "primary", "s.t", "s.t", mariadb=False).startswith(
        "mysqldump --defaults-extra-file=<delayed.cnf>"
    )


DUMP = [
    b"/*M!999999\\- enable the sandbox mode */ \n",
    b"/*!40101 SET NAMES utf8mb4 */;\n",
    b"INSERT INTO `orders` VALUES\n",
    b"(1,1,'INSERT INTO `orders` VALUES in a value'),\n",
    b"(2,2,'a\\nb');\n",
    b"INSERT INTO `orders` VALUES (3,3,'x');\n",
]


def test_rename_inserts_rewrites_statement_starts_only() -> None:
    out = list(rename_inserts(DUMP, "orders", "orders_rescued"))
    assert out[2] == b"INSERT INTO `orders_rescued` VALUES\n"
    assert out[3] == DUMP[3]  # text inside a value is not a statement start
    assert out[5] == b"INSERT INTO `orders_rescued` VALUES (3,3,'x');\n"
    assert out[:2] == DUMP[:2] and out[4] == DUMP[4]
    assert list(rename_inserts(DUMP, "orders", "orders")) == DUMP


@pytest.mark.parametrize(
    "line",
    [
        b"INSERT INTO `customers` VALUES (1);\n",
        b"DROP TABLE IF EXISTS `orders`;\n",
        b"CREATE TABLE `orders` (\n",
        b"LOCK TABLES `orders` WRITE;\n",
    ],
)
def test_rename_inserts_refuses_anything_else(line: bytes) -> None:
    with pytest.raises(UnexpectedDump):
        list(rename_inserts([*DUMP[:2], line], "orders", "orders_rescued"))


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (
            "10.11.6-MariaDB",
            {
                "type": "SELECT TABLE_TYPE AS kind FROM information_schema.TABLES WHERE "
                "TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'orders'",
                "show": "SHOW CREATE TABLE `shop`.`orders`",
                "schema": "CREATE DATABASE `shop`",
                "reset_logs": "RESET MASTER",
            },
        ),
        ("8.0.36", {"reset_logs": "RESET MASTER"}),
        ("8.4.0", {"reset_logs": "RESET BINARY LOGS AND GTIDS"}),
    ],
)
def test_dialect_statements_for_extract_and_rebuild(version: str, expected: dict[str, str]) -> None:
    d = for_version(ServerVersion.parse(version))
    rendered = {
        "type": str(d.table_type("shop.orders")),
        "show": str(d.show_create_table("shop.orders")),
        "schema": str(d.create_schema("shop")),
        "reset_logs": str(d.reset_binary_logs()),
    }
    assert {key: rendered[key] for key in expected} == expected
    assert not d.table_type("shop.orders").changes
    assert d.create_schema("shop").changes


def test_mysql_destination_uses_mysql_tools() -> None:
    plan = plan_extract(
        facts(
            source=node("delayed", version=MYSQL, replica=frozen()),
            destination=node("primary", version=MYSQL, read_only=False),
        )
    )
    copy = plan.steps[-1]
    assert isinstance(copy, CopyTable) and not copy.mariadb
    assert copy.pipeline.startswith("mysqldump ")
