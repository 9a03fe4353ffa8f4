"""drkit.binlog.rows: row images decoded on demand from the fixture's real binlog files, compared
with the rows the server selected from the same table."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from drkit.binlog import BinlogFormatError, Transaction, decode_rows, scan_file
from tests.fixtures.binlog.workload import TYPES_COLUMNS, sql_text_of
from tests.support.scan_modes import scan_mode  # noqa: F401 - a fixture: each test runs on both walks

pytestmark = pytest.mark.usefixtures("scan_mode")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "binlog"
EXPECTED: dict[str, Any] = json.loads((FIXTURES / "expected.json").read_text())


def _transaction(name: str, gtid: str) -> Transaction:
    return next(t for t in scan_file(FIXTURES / name) if t.gtid == gtid)


def test_inserted_rows_of_every_type_equal_the_selected_rows() -> None:
    transaction = _transaction("bin.000001", "0-1-3")
    images = decode_rows(FIXTURES / "bin.000001", transaction.row_events)
    assert [image.operation for image in images] == ["insert"] * 3
    assert all(image.before is None for image in images)
    selected = EXPECTED["types_rows"]
    # Row 2 was updated later and row 3 deleted: compare the unchanged columns of each.
    for image, row in zip(images, selected, strict=False):
        assert image.after is not None
        assert list(image.after) == TYPES_COLUMNS
        for column, text in zip(TYPES_COLUMNS, row, strict=True):
            if image.after["id"] == 2 and column in ("t_varchar", "t_int"):
                continue
            assert sql_text_of(column, image.after[column]) == text, column


def test_decoded_python_types() -> None:
    transaction = _transaction("bin.000001", "0-1-3")
    first = decode_rows(FIXTURES / "bin.000001", transaction.row_events)[0].after
    assert first is not None
    assert first["t_ubig"] == 2**64 - 1
    assert first["t_big"] == -(2**63)
    assert first["t_dec"] == Decimal("-12345678901234.567891")
    assert first["t_varchar"] == "héllo wörld ✓"
    assert first["t_latin1"] == "café"
    assert first["t_binary"] == b"\x01\x02\x00\x00"
    assert first["t_date"] == dt.date(2024, 2, 29)
    assert first["t_datetime6"] == dt.datetime(2024, 1, 2, 3, 4, 5, 123456)
    assert first["t_timestamp3"] == dt.datetime(2021, 6, 1, 12, 0, 0, 250000, tzinfo=dt.UTC)
    assert first["t_time"] == -dt.timedelta(hours=838, minutes=59, seconds=59)
    assert first["t_time2"] == dt.timedelta(hours=12, minutes=34, seconds=56, microseconds=780000)
    assert (first["t_enum"], first["t_set"], first["t_bit"], first["t_year"]) == (
        "blue",
        "a,d",
        0b1010101010,
        2155,
    )
    assert first["t_json"] == '{"k": [1, 2, {"x": null}]}'


def test_update_has_before_and_after_images() -> None:
    transaction = _transaction("bin.000001", "0-1-8")
    (image,) = decode_rows(FIXTURES / "bin.000001", transaction.row_events)
    assert image.operation == "update"
    assert image.before is not None and image.after is not None
    assert (image.before["t_varchar"], image.after["t_varchar"]) == ("", "changed")
    assert (image.before["t_int"], image.after["t_int"]) == (2147483647, 2147483646)
    assert image.primary_key == ("id",)
    assert {k for k in image.after if image.after[k] != image.before[k]} == {"t_varchar", "t_int"}


def test_multi_statement_transaction_decodes_every_table_map_and_rows_event() -> None:
    transaction = _transaction("bin.000001", "0-1-6")
    images = decode_rows(FIXTURES / "bin.000001", transaction.row_events)
    assert [image.operation for image in images] == ["update"] * 5 + ["delete"] * 2 + ["insert"] * 3
    deleted = [
        image.before["id"] for image in images if image.operation == "delete" and image.before
    ]
    assert deleted == [19, 20]
    balances = [
        (i.before["balance"], i.after["balance"]) for i in images[:5] if i.before and i.after
    ]
    assert balances[0] == (Decimal("10.50"), Decimal("11.50"))


def test_compressed_rows_and_delete_images() -> None:
    update = _transaction("bin.000002", "0-1-14")
    images = decode_rows(FIXTURES / "bin.000002", update.row_events)
    assert [(i.after or {}).get("city") for i in images] == ["Faro", "Faro"]
    delete = _transaction("bin.000002", "0-1-22")
    (gone,) = decode_rows(FIXTURES / "bin.000002", delete.row_events)
    assert gone.operation == "delete"
    assert gone.before is not None
    assert gone.before["id"] == 3
    assert all(value is None for key, value in gone.before.items() if key != "id")


def test_columns_added_by_alter_table_appear_in_later_images() -> None:
    transaction = _transaction("bin.000002", "0-1-20")
    (image,) = decode_rows(FIXTURES / "bin.000002", transaction.row_events)
    assert image.before is not None and image.after is not None
    assert (image.before["email"], image.after["email"]) == (None, "one@example.com")


def test_rows_event_without_its_table_map_is_refused() -> None:
    transaction = _transaction("bin.000001", "0-1-5")
    rows_only = [span for span in transaction.row_events[1:]]
    with pytest.raises(BinlogFormatError, match="no table map"):
        decode_rows(FIXTURES / "bin.000001", rows_only)


def test_offsets_that_are_not_an_event_are_refused() -> None:
    transaction = _transaction("bin.000001", "0-1-5")
    start, end = transaction.row_events[1]
    with pytest.raises(BinlogFormatError, match="no event"):
        decode_rows(FIXTURES / "bin.000001", [transaction.row_events[0], (start, end + 1)])
