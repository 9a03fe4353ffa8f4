"""`drkit history` with a table, key column or value that cannot name a row: exit 2 and one
sentence, where a trial run got exit 0 and "no change in the index" for each typo."""

from __future__ import annotations

import json

import pytest

from tests.support.sandbox import Sandbox
from tests.support.scenario import create_shop
from tests.support.workload import drkit_json


@pytest.fixture(scope="module")
def box(module_box: Sandbox) -> Sandbox:
    create_shop(module_box, orders=5)
    module_box.sql("primary", "UPDATE shop.customers SET name = 'renamed' WHERE id = 5", app=True)
    # A table the index holds no row change of: only the primary's schema knows its columns.
    module_box.sql("primary", "CREATE TABLE shop.quiet (code INT PRIMARY KEY)", app=True)
    assert module_box.drkit("index").returncode == 0
    return module_box


@pytest.mark.parametrize(
    ("table", "key", "said"),
    [
        (
            "shop.nope",
            "id=1",
            "shop.nope is not a table: the index holds no change of it and "
            "the primary has no such table",
        ),
        (
            "shop.customers",
            "nope=1",
            "shop.customers has no column nope (its columns, from the archive: id, name)",
        ),
        (
            "shop.customers",
            "id=abc",
            "'abc' cannot be a value of shop.customers.id, an integer column",
        ),
        ("shop.customers", "@7=1", "shop.customers has no column @7 (it has 2 columns)"),
        (
            "shop.quiet",
            "nope=1",
            "shop.quiet has no column nope (its columns, from the primary's schema: code)",
        ),
        ("shop.quiet", "code=x1", "'x1' cannot be a value of shop.quiet.code, an integer column"),
    ],
)
def test_a_request_that_names_no_row_is_a_usage_error(
    box: Sandbox, table: str, key: str, said: str
) -> None:
    done = box.drkit("history", "--table", table, "--key", key)
    assert done.returncode == 2, done.stdout
    assert done.stdout == ""
    assert done.stderr.splitlines()[0] == f"drkit: {said}", done.stderr
    assert "Traceback" not in done.stderr
    as_json = box.drkit("history", "--table", table, "--key", key, "--json")
    error = json.loads(as_json.stdout)
    assert as_json.returncode == 2 and error["exit"] == 2 and error["error"] == said


def test_rows_that_exist_still_have_their_versions_counted_in_words(box: Sandbox) -> None:
    one = box.drkit("history", "--table", "shop.customers", "--key", "id=3")
    assert one.returncode == 0, one.stderr
    assert one.stdout.startswith("shop.customers (id=3): 1 version, oldest first\n"), one.stdout
    done, two = drkit_json(box, "history", "--table", "shop.customers", "--key", "id=5")
    assert done.returncode == 0, done.stderr
    assert [v["operation"] for v in two["versions"]] == ["insert", "update"]
    assert two["versions"][1]["after"]["name"] == "renamed"
    # Known to the primary, changed never: no version, and no error.
    quiet = box.drkit("history", "--table", "shop.quiet", "--key", "code=1")
    assert quiet.returncode == 0, quiet.stderr
    assert "no change in the index (0 transactions of the table read)" in quiet.stdout
