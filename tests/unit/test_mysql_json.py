"""MySQL binary JSON, decoded from vectors laid out by hand after MySQL's json_binary.h."""

from __future__ import annotations

import struct
from decimal import Decimal

import pytest

from drkit.binlog.mysqljson import BinaryJsonError, binary_json_text, decode_binary_json


def u16(n: int) -> bytes:
    return struct.pack("<H", n)


def u32(n: int) -> bytes:
    return struct.pack("<I", n)


# {"a": 1, "b": [true, "x"]}: a small object (18-byte header, keys at 18 and 19) whose "b" is a
# small array at offset 20 (10-byte header, the string at its offset 10).
ARRAY = u16(2) + u16(12) + b"\x04" + u16(1) + b"\x0c" + u16(10) + b"\x01x"
OBJECT = (
    b"\x00"
    + u16(2)
    + u16(32)
    + u16(18)
    + u16(1)
    + u16(19)
    + u16(1)
    + b"\x05"
    + u16(1)
    + b"\x02"
    + u16(20)
    + b"ab"
    + ARRAY
)


def test_a_small_object_with_an_inlined_int_and_a_nested_array() -> None:
    assert decode_binary_json(OBJECT) == {"a": 1, "b": [True, "x"]}
    assert binary_json_text(OBJECT) == '{"a": 1, "b": [true, "x"]}'


def test_a_large_array_inlines_int32_and_points_at_doubles_and_int64() -> None:
    header = 8 + 4 * 5
    doc = (
        b"\x03"
        + u32(4)
        + u32(header + 16)
        + b"\x07"
        + struct.pack("<i", -70000)
        + b"\x0b"
        + u32(header)
        + b"\x09"
        + u32(header + 8)
        + b"\x04"
        + u32(2)
        + struct.pack("<d", 2.5)
        + struct.pack("<q", -(2**40))
    )
    assert decode_binary_json(doc) == [-70000, 2.5, -(2**40), False]


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (b"\x04\x00", None),
        (b"\x0a" + struct.pack("<Q", 2**64 - 1), 2**64 - 1),
        (b"\x0c" + bytes([0x81, 0x01]) + b"y" * 129, "y" * 129),  # a two-byte length
        (b"\x0c\x06h\xc3\xa9llo", "héllo"),
        # DECIMAL(5,2) -1.50 as opaque: precision, scale, then the binary decimal.
        (b"\x0f\xf6\x05\x05\x02" + bytes([0x7F, 0xFE, 0xCD]), Decimal("-1.50")),
        (b"", None),
    ],
)
def test_scalars(raw: bytes, value: object) -> None:
    assert decode_binary_json(raw) == value


def test_opaque_datetime_is_its_sql_text() -> None:
    ymd = (2026 * 13 + 1) << 5 | 2
    hms = 3 << 12 | 4 << 6 | 5
    packed = ((ymd << 17 | hms) << 24) | 6
    raw = b"\x0f\x0c\x08" + struct.pack("<q", packed)
    assert decode_binary_json(raw) == "2026-01-02 03:04:05.000006"


def test_not_binary_json() -> None:
    with pytest.raises(BinaryJsonError):
        decode_binary_json(b"\x0e\x00")
