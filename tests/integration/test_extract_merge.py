"""`drkit extract --merge` on a real sandbox: after a DELETE without WHERE on a table the
application kept writing to, the deleted rows return from the frozen copy; new rows stay."""

from __future__ import annotations

import pytest

from tests.support.sandbox import Sandbox
from tests.support.scenario import create_shop
from tests.support.workload import drkit_json, fingerprint


@pytest.fixture(scope="module")
def box(module_box: Sandbox) -> Sandbox:
    return module_box


def test_merge_inserts_the_missing_rows_and_never_overwrites(box: Sandbox) -> None:
    create_shop(box, orders=100)
    before = fingerprint(box, "primary", "shop.orders")
    box.sql("primary", "DELETE FROM shop.orders", app=True)
    # The application went on: a new order, and an old key written again with new values.
    box.sql(
        "primary",
        "INSERT INTO shop.orders VALUES (101, 1, 5.00, 'new'), (7, 2, 9.99, 'rewritten')",
        app=True,
    )
    assert box.drkit("index").returncode == 0
    done, report = drkit_json(box, "recover", "--before", "latest-destructive", "--yes")
    assert done.returncode == 0, done.stderr
    assert fingerprint(box, "delayed", "shop.orders") == before

    dry = box.drkit("extract", "--table", "shop.orders", "--merge", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "WHERE NOT EXISTS" in dry.stdout
    assert box.value("primary", "SELECT COUNT(*) FROM shop.orders") == 2

    done, report = drkit_json(box, "extract", "--table", "shop.orders", "--merge", "--yes")
    assert done.returncode == 0, done.stderr
    assert report["verified"] is True
    assert report["source"]["rows"] == 100
    assert report["already_present"] == 1 and report["inserted"] == 99
    assert report["destination"]["rows_after"] == 101
    assert box.value("primary", "SELECT note FROM shop.orders WHERE id = 7") == "rewritten"
    assert box.value("primary", "SELECT note FROM shop.orders WHERE id = 101") == "new"
    # Every other row is the frozen copy's: equal checksums over the same ids.
    restored = "SELECT SUM(CRC32(CONCAT_WS('|', id, customer_id, total, note))) FROM shop.orders WHERE id NOT IN (7, 101)"
    assert box.value("primary", restored) == box.value("delayed", restored)
    assert (
        box.value(
            "primary",
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_NAME = 'orders_drkit_merge'",
        )
        == 0
    ), "the staging table is dropped once verified"
    # That DROP is drkit's own scratch work: indexed, but not destructive, so latest-destructive
    # still names the DELETE and a recovery is not held up until someone names the DROP.
    assert box.drkit("index").returncode == 0
    done, events = drkit_json(box, "events", "--table", "shop.orders_drkit_merge")
    assert done.returncode == 0, done.stderr
    drops = [e for e in events if "DROP TABLE" in e["statement"]]
    assert len(drops) == 1 and drops[0]["destructive"] is None, drops
    done, flagged = drkit_json(box, "events", "--destructive")
    assert [e["statement"] for e in flagged] == ["DELETE FROM shop.orders"], flagged

    refused = box.drkit("extract", "--table", "shop.nothing", "--merge", "--yes")
    assert refused.returncode == 3, refused.stderr
