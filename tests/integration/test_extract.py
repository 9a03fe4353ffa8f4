"""`drkit extract` on a real sandbox: after DROP TABLE and `recover --before`, the table returns."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.sandbox import Sandbox, start_sandbox, wait_for
from tests.support.scenario import drkit_json, drop_orders_and_recover, fingerprint


@pytest.fixture(scope="module")
def recovered(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Sandbox, tuple[int, int]]]:
    """shop.orders dropped on the primary; the delayed replica stopped just before the DROP."""
    box = start_sandbox(tmp_path_factory.mktemp("extract"), delay=3600)
    try:
        yield box, drop_orders_and_recover(box, "before")
    finally:
        box.down(purge=True)


def test_extract_brings_the_dropped_table_back_with_equal_checksum(
    recovered: tuple[Sandbox, tuple[int, int]],
) -> None:
    box, orders = recovered
    dry = box.drkit("extract", "--table", "shop.orders", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "mariadb-dump --defaults-extra-file=<delayed.cnf>" in dry.stdout
    assert fingerprint(box, "primary", "shop.orders") is None, "the dry run ran nothing"

    done, report = drkit_json(box, "extract", "--table", "shop.orders", "--yes")
    assert done.returncode == 0, done.stderr
    assert report["verified"] is True
    assert report["source"]["rows"] == report["destination"]["rows"] == orders[0]
    assert report["source"]["checksum"] == report["destination"]["checksum"] == orders[1]
    assert fingerprint(box, "primary", "shop.orders") == orders
    assert box.value("primary", "SELECT note FROM shop.orders WHERE id = 7") == (
        "n7, with 'quotes'\nand a newline"
    )
    # Ordinary binlogged writes: the replica gets the table back too.
    wait_for(
        lambda: fingerprint(box, "replica", "shop.orders") == orders,
        what="the replica to receive the extracted table",
    )
    # The frozen source did not move.
    assert box.replica_status("delayed")["Slave_SQL_Running"] == "No"
    assert fingerprint(box, "delayed", "shop.orders") == orders


def test_extract_never_overwrites_but_copies_under_a_new_name(
    recovered: tuple[Sandbox, tuple[int, int]],
) -> None:
    box, orders = recovered
    if fingerprint(box, "primary", "shop.orders") is None:
        box.sql("primary", "CREATE TABLE shop.orders (id INT PRIMARY KEY)")
    box.sql("primary", "DELETE FROM shop.orders WHERE id > 90")  # a damaged table is there
    damaged = fingerprint(box, "primary", "shop.orders")
    refused = box.drkit("extract", "--table", "shop.orders", "--yes")
    assert refused.returncode == 3, refused.stderr
    assert "shop.orders exists on primary: extract never overwrites a table" in refused.stderr
    assert "--into shop.orders_rescued" in refused.stderr
    assert fingerprint(box, "primary", "shop.orders") == damaged

    done, report = drkit_json(
        box, "extract", "--table", "shop.orders", "--into", "shop.orders_rescued", "--yes"
    )
    assert done.returncode == 0, done.stderr
    assert report["destination"]["table"] == "shop.orders_rescued"
    assert fingerprint(box, "primary", "shop.orders_rescued") == orders
    assert fingerprint(box, "primary", "shop.orders") == damaged
    # The copy's foreign key got a name of the server's choosing beside the original's.
    constraints = box.sql(
        "primary",
        "SELECT CONSTRAINT_NAME AS name FROM information_schema.REFERENTIAL_CONSTRAINTS "
        "WHERE CONSTRAINT_SCHEMA = 'shop' AND TABLE_NAME = 'orders_rescued'",
    )
    assert [row["name"] for row in constraints] == ["orders_rescued_ibfk_1"]

    again = box.drkit("extract", "--table", "shop.orders", "--into", "shop.orders_rescued", "--yes")
    assert again.returncode == 3
    assert fingerprint(box, "primary", "shop.orders_rescued") == orders


def test_extract_refuses_while_the_delayed_replica_applies(
    recovered: tuple[Sandbox, tuple[int, int]],
) -> None:
    box, _ = recovered
    box.sql("delayed", "START SLAVE SQL_THREAD")
    try:
        refused = box.drkit("extract", "--table", "shop.orders", "--into", "shop.o3", "--yes")
        assert refused.returncode == 3, refused.stderr
        assert "delayed is not frozen: its applier is running" in refused.stderr
        assert "drkit freeze" in refused.stderr
        assert fingerprint(box, "primary", "shop.o3") is None
    finally:
        box.sql("delayed", "STOP SLAVE SQL_THREAD")
