"""Row counting and value decoding on hand-made row images with known encodings."""

from __future__ import annotations

import datetime as dt
import struct
from decimal import Decimal

import pytest

from drkit.binlog.rowcount import build_row_counter
from drkit.binlog.tablemap import Column, decimal_size
from drkit.binlog.values import decode_decimal, decode_time2, decode_value
from tests.support.scan_modes import scan_mode  # noqa: F401 - a fixture: each test runs on both walks

pytestmark = pytest.mark.usefixtures("scan_mode")


def fixed(index: int, size: int, nullable: bool = False) -> Column:
    return Column(index=index, type=3, meta=0, nullable=nullable, size=size, prefix=0)


def variable(index: int, prefix: int, nullable: bool = True) -> Column:
    return Column(index=index, type=15, meta=0, nullable=nullable, size=None, prefix=prefix)


def image(columns: list[Column], values: list[bytes | None]) -> bytes:
    """A row image: null bitmap, then each non-null value (with its length prefix if variable)."""
    nulls = sum(1 << i for i, value in enumerate(values) if value is None)
    out = nulls.to_bytes((len(columns) + 7) // 8, "little")
    for column, value in zip(columns, values, strict=True):
        if value is None:
            continue
        if column.size is None:
            out += len(value).to_bytes(column.prefix, "little")
        out += value
    return out


SHAPES = {
    "fixed only": [fixed(0, 4), fixed(1, 8)],
    "nullable fixed": [fixed(0, 4), fixed(1, 3, nullable=True), fixed(2, 1, nullable=True)],
    "varchar and blobs": [fixed(0, 4), variable(1, 1), variable(2, 2), variable(3, 4)],
    "nine columns": [fixed(i, 2, nullable=True) for i in range(8)] + [variable(8, 3)],
}


def values_for(columns: list[Column], seed: int) -> list[bytes | None]:
    out: list[bytes | None] = []
    for column in columns:
        if column.nullable and (seed + column.index) % 3 == 0:
            out.append(None)
        elif column.size is None:
            longest = 200 if column.prefix == 1 else 300
            out.append(bytes([65 + seed % 26]) * ((seed * 37 + column.index) % longest))
        else:
            out.append(bytes(column.size))
    return out


@pytest.mark.parametrize("name", sorted(SHAPES))
@pytest.mark.parametrize("update", [False, True])
def test_row_counter_counts_rows_of_every_shape(name: str, update: bool) -> None:
    columns = SHAPES[name]
    data = b"\xee" * 7  # bytes before the rows, as in a real event
    for seed in range(25):
        data += image(columns, values_for(columns, seed))
        if update:
            data += image(columns, values_for(columns, seed + 1))
    counter = build_row_counter(columns, columns if update else None)
    assert counter(data, 7, len(data)) == (25, len(data))


def test_row_counter_shows_a_wrong_shape() -> None:
    columns = SHAPES["varchar and blobs"]
    data = b"".join(image(columns, values_for(columns, seed)) for seed in range(3))
    wrong = build_row_counter([fixed(0, 4), variable(1, 1), variable(2, 2)], None)
    rows, reached = wrong(data, 0, len(data))
    assert reached != len(data) or rows != 3


@pytest.mark.parametrize(
    ("raw", "precision", "scale", "expected"),
    [
        ("810DFB38D204D2", 14, 4, "1234567890.1234"),  # the example in MySQL's decimal.c
        ("7EF204C72DFB2D", 14, 4, "-1234567890.1234"),
        ("8000000000", 10, 2, "0.00"),
        ("7FFFFFF3DD", 10, 2, "-12.34"),
        ("81", 2, 0, "1"),
        ("800001", 5, 5, "0.00001"),
    ],
)
def test_decimal(raw: str, precision: int, scale: int, expected: str) -> None:
    data = bytes.fromhex(raw)
    assert decimal_size(precision, scale) == len(data)
    assert decode_decimal(data, precision, scale) == Decimal(expected)
    assert format(decode_decimal(data, precision, scale), "f") == expected


@pytest.mark.parametrize(
    ("raw", "fsp", "expected"),
    [
        ("800000", 0, dt.timedelta(0)),
        ("80B26E", 0, dt.timedelta(hours=11, minutes=9, seconds=46)),
        # -00:00:00.01: int part -1 and fraction 0xFF, which MySQL's reader carries into -0.01 s.
        ("7FFFFFFF", 2, -dt.timedelta(milliseconds=10)),
        ("800000000064", 6, dt.timedelta(microseconds=100)),
        ("7FFFFFFFFF9C", 6, -dt.timedelta(microseconds=100)),
    ],
)
def test_time2(raw: str, fsp: int, expected: dt.timedelta) -> None:
    assert decode_time2(bytes.fromhex(raw), fsp) == expected


def test_strings_by_collation_and_binary_padding() -> None:
    utf8 = Column(0, 15, 40, True, None, 1, collation=45)
    latin1 = Column(1, 15, 10, True, None, 1, collation=8)
    binary = Column(2, 254, 4, True, None, 1, collation=63)
    unknown = Column(3, 252, 2, True, None, 2)
    assert decode_value(utf8, b"\x03\xe2\x9c\x93", 0) == ("✓", 4)
    assert decode_value(latin1, b"\x04caf\xe9", 0) == ("café", 5)
    assert decode_value(binary, b"\x02\x01\x02", 0) == (b"\x01\x02\x00\x00", 3)
    assert decode_value(unknown, b"\x02\x00hi", 0) == (b"hi", 4)


def test_integers_follow_signedness() -> None:
    signed = Column(0, 8, 0, False, 8, 0)
    unsigned = Column(0, 8, 0, False, 8, 0, unsigned=True)
    raw = struct.pack("<q", -1)
    assert decode_value(signed, raw, 0) == (-1, 8)
    assert decode_value(unsigned, raw, 0) == (2**64 - 1, 8)
