"""MySQL's binary JSON (the JSON column format of MySQL 8 row images) as Python values.

Beside drkit.binlog.values, which returns these values as raw bytes (readers that show them call
this); the layout is MySQL's json_binary.h: a type byte, then objects and arrays with element
counts, sizes, key and value entries (2-byte offsets when small, 4-byte when large), scalars
inlined where they fit.
DECIMAL and temporal values stored as "opaque" come back as their SQL text.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
from decimal import Decimal

from drkit.binlog.values import decode_decimal

SMALL_OBJECT, LARGE_OBJECT, SMALL_ARRAY, LARGE_ARRAY = 0x00, 0x01, 0x02, 0x03
LITERAL, INT16, UINT16, INT32, UINT32, INT64, UINT64, DOUBLE, STRING = range(0x04, 0x0D)
OPAQUE = 0x0F
_LITERALS = {0x00: None, 0x01: True, 0x02: False}
_FIXED = {
    INT16: struct.Struct("<h"),
    UINT16: struct.Struct("<H"),
    INT32: struct.Struct("<i"),
    UINT32: struct.Struct("<I"),
    INT64: struct.Struct("<q"),
    UINT64: struct.Struct("<Q"),
    DOUBLE: struct.Struct("<d"),
}
# MySQL field types that opaque values carry.
_DECIMAL, _DATE, _TIME, _DATETIME, _TIMESTAMP = 246, 10, 11, 12, 7


class BinaryJsonError(ValueError):
    """The bytes are not MySQL binary JSON."""


def decode_binary_json(raw: bytes) -> object:
    """The JSON document `raw` holds, as Python values (dict, list, str, int, float, ...)."""
    if not raw:
        return None  # MySQL writes an empty value for a JSON null set through SQL NULL
    return _value(raw[0], raw, 1, len(raw))


def binary_json_text(raw: bytes) -> str:
    """The document as JSON text (what MySQL's JSON functions print, modulo spacing)."""
    return json.dumps(decode_binary_json(raw), ensure_ascii=False, default=_number)


def _number(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def _value(kind: int, buf: bytes, start: int, end: int) -> object:
    if kind in (SMALL_OBJECT, LARGE_OBJECT, SMALL_ARRAY, LARGE_ARRAY):
        return _container(kind, buf, start)
    if kind == LITERAL:
        return _literal(buf[start])
    fixed = _FIXED.get(kind)
    if fixed is not None:
        return fixed.unpack_from(buf, start)[0]
    if kind == STRING:
        length, pos = _varlen(buf, start)
        return bytes(buf[pos : pos + length]).decode("utf-8")
    if kind == OPAQUE:
        field_type = buf[start]
        length, pos = _varlen(buf, start + 1)
        return _opaque(field_type, bytes(buf[pos : pos + length]))
    raise BinaryJsonError(f"unknown binary JSON type {kind:#x} at offset {start}")


def _container(kind: int, buf: bytes, start: int) -> object:
    large = kind in (LARGE_OBJECT, LARGE_ARRAY)
    width = 4 if large else 2
    count = int.from_bytes(buf[start : start + width], "little")
    pos = start + 2 * width
    keys: list[str] = []
    if kind in (SMALL_OBJECT, LARGE_OBJECT):
        for _ in range(count):
            offset = int.from_bytes(buf[pos : pos + width], "little")
            length = int.from_bytes(buf[pos + width : pos + width + 2], "little")
            keys.append(bytes(buf[start + offset : start + offset + length]).decode("utf-8"))
            pos += width + 2
    values: list[object] = []
    for _ in range(count):
        entry = buf[pos]
        if _inlined(entry, large):
            values.append(_inlined_value(entry, buf, pos + 1))
        else:
            offset = int.from_bytes(buf[pos + 1 : pos + 1 + width], "little")
            values.append(_value(entry, buf, start + offset, len(buf)))
        pos += 1 + width
    if kind in (SMALL_ARRAY, LARGE_ARRAY):
        return values
    return dict(zip(keys, values, strict=True))


def _inlined(kind: int, large: bool) -> bool:
    return kind in (LITERAL, INT16, UINT16) or (large and kind in (INT32, UINT32))


def _inlined_value(kind: int, buf: bytes, pos: int) -> object:
    if kind == LITERAL:
        return _literal(buf[pos])
    fixed = _FIXED[kind]
    return fixed.unpack_from(buf, pos)[0]


def _literal(code: int) -> object:
    if code not in _LITERALS:
        raise BinaryJsonError(f"unknown binary JSON literal {code:#x}")
    return _LITERALS[code]


def _varlen(buf: bytes, pos: int) -> tuple[int, int]:
    """MySQL's variable-length length: 7 bits a byte, low bits first, high bit = more."""
    length = 0
    for shift in range(0, 35, 7):
        byte = buf[pos]
        pos += 1
        length |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return length, pos
    raise BinaryJsonError("a binary JSON length runs over five bytes")


def _opaque(field_type: int, data: bytes) -> object:
    if field_type == _DECIMAL and len(data) >= 2:
        return decode_decimal(data[2:], data[0], data[1])
    if field_type in (_DATE, _TIME, _DATETIME, _TIMESTAMP) and len(data) >= 8:
        return _temporal(field_type, int.from_bytes(data[:8], "little", signed=True))
    return "base64:type" + str(field_type) + ":" + data.hex()


def _temporal(field_type: int, packed: int) -> str:
    """MySQL's packed temporal int64: (date and time parts) << 24 | microseconds."""
    negative = packed < 0
    packed = abs(packed)
    micros = packed % (1 << 24)
    whole = packed >> 24
    if field_type == _TIME:
        hours, minutes, seconds = whole >> 12 & 0x3FF, whole >> 6 & 63, whole & 63
        text = f"{'-' if negative else ''}{hours:02d}:{minutes:02d}:{seconds:02d}"
        return text + (f".{micros:06d}" if micros else "")
    ymd, hms = whole >> 17, whole & 0x1FFFF
    year, month = divmod(ymd >> 5, 13)
    day = ymd & 31
    if field_type == _DATE:
        return f"{year:04d}-{month:02d}-{day:02d}"
    hour, minute, second = hms >> 12, hms >> 6 & 63, hms & 63
    value = dt.datetime(year, month, day, hour, minute, second, micros)
    return value.isoformat(sep=" ")
