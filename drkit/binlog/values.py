"""Decoding single column values of a row image into Python values.

Integers become int, DECIMAL Decimal, FLOAT/DOUBLE float, text str (by the column's collation),
binary strings and BLOBs bytes, DATE date, DATETIME datetime, TIMESTAMP an aware UTC datetime,
TIME timedelta, YEAR and BIT int, ENUM and SET their labels ("a,c" for a SET, as SQL shows it;
the numeric value when the table map carried no labels). Zero or partial dates that Python
cannot represent ("0000-00-00") come back as the text MariaDB prints. MySQL binary JSON,
GEOMETRY and VECTOR come back as raw bytes. MariaDB's pre-10.1 "hires" temporal columns cannot
be sized from the table map (see drkit.binlog.tablemap) and are not supported.
"""

from __future__ import annotations

import datetime as dt
import functools
import struct
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from drkit.binlog import tablemap as tm
from drkit.binlog.charsets import BINARY, decode_text
from drkit.binlog.tablemap import Column

Value = object

_FLOAT = struct.Struct("<f").unpack_from
_DOUBLE = struct.Struct("<d").unpack_from
_DIG2BYTES = (0, 1, 1, 2, 2, 3, 3, 4, 4, 4)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_BINARY_COLLATION = BINARY
_FRACTION_SCALE = (0, 10_000, 100, 1)
_INT_SIZES = {tm.T_TINY: 1, tm.T_SHORT: 2, tm.T_INT24: 3, tm.T_LONG: 4, tm.T_LONGLONG: 8}


def decode_value(column: Column, buf: bytes, pos: int) -> tuple[Value, int]:
    """Decode the non-null value of `column` at `pos`; returns (value, next position)."""
    column_type = column.type
    size = column.size
    if size is None:
        length = int.from_bytes(buf[pos : pos + column.prefix], "little")
        start = pos + column.prefix
        raw = bytes(buf[start : start + length])
        return _variable(column, raw), start + length
    raw = bytes(buf[pos : pos + size])
    end = pos + size
    if column_type in _INT_SIZES:
        return int.from_bytes(raw, "little", signed=not column.unsigned), end
    if column_type == tm.T_NEWDECIMAL:
        return decode_decimal(raw, column.meta >> 8, column.meta & 0xFF), end
    if column_type == tm.T_FLOAT:
        return _FLOAT(raw)[0], end
    if column_type == tm.T_DOUBLE:
        return _DOUBLE(raw)[0], end
    return _fixed_other(column, raw), end


def _fixed_other(column: Column, raw: bytes) -> Value:
    decoder = _FIXED_DECODERS.get(column.type)
    return decoder(column, raw) if decoder is not None else raw


def _timestamp2(column: Column, raw: bytes) -> Value:
    seconds = int.from_bytes(raw[:4], "big")
    micros = _fraction(raw[4:])
    if seconds == 0 and micros == 0:
        return "0000-00-00 00:00:00"
    return _EPOCH + dt.timedelta(seconds=seconds, microseconds=micros)


def _date_value(column: Column, raw: bytes) -> Value:
    value = int.from_bytes(raw, "little")
    return _date(value >> 9, value >> 5 & 15, value & 31)


def _enum(column: Column, raw: bytes) -> Value:
    index = int.from_bytes(raw, "little")
    if column.labels is None:
        return index
    return column.labels[index - 1] if 0 < index <= len(column.labels) else ""


def _set(column: Column, raw: bytes) -> Value:
    bits = int.from_bytes(raw, "little")
    if column.labels is None:
        return bits
    return ",".join(label for i, label in enumerate(column.labels) if bits >> i & 1)


def _variable(column: Column, raw: bytes) -> Value:
    """Length-prefixed values: strings, BLOB/TEXT, JSON, GEOMETRY."""
    collation = column.collation
    if column.type == tm.T_STRING and collation == _BINARY_COLLATION:
        # BINARY(n) is logged without its trailing zero bytes; SQL shows them.
        return raw.ljust(column.meta, b"\0")
    if column.type in (tm.T_JSON, tm.T_GEOMETRY, tm.T_VECTOR):
        return raw
    return decode_text(raw, collation)


def decode_decimal(raw: bytes, precision: int, scale: int) -> Decimal:
    """MySQL's binary DECIMAL: base-10^9 groups, big-endian, sign in the inverted top bit."""
    return Decimal(decimal_text(raw, precision, scale))


def decimal_text(raw: bytes, precision: int, scale: int) -> str:
    """`decode_decimal` as plain digits ("-12.50"), never in exponent form."""
    return decimal_reader(precision, scale)(raw)


@dataclass(frozen=True)
class DecimalLayout:
    """Where the digit groups of a DECIMAL(precision, scale) sit in its big-endian integer."""

    size: int  # bytes
    whole: tuple[tuple[int, int], ...]  # (shift, mask) of each group, most significant first
    fraction: tuple[tuple[int, int, int], ...]  # (shift, mask, 10**digits) likewise
    scale: int

    @property
    def sign_bit(self) -> int:
        return 1 << (self.size * 8 - 1)


@functools.cache
def decimal_layout(precision: int, scale: int) -> DecimalLayout:
    """The layout of MySQL's binary DECIMAL: base-10^9 groups of 4 bytes, the leading integer
    group and the trailing fraction group in as few bytes as their digits need."""
    integral = precision - scale
    lead, tail = integral % 9, scale % 9
    whole_widths = ([_DIG2BYTES[lead]] if lead else []) + [4] * (integral // 9)
    fraction_widths = [4] * (scale // 9) + ([_DIG2BYTES[tail]] if tail else [])
    size = sum(whole_widths) + sum(fraction_widths)
    shift = size * 8
    whole: list[tuple[int, int]] = []
    for width in whole_widths:
        shift -= width * 8
        whole.append((shift, (1 << width * 8) - 1))
    fraction: list[tuple[int, int, int]] = []
    for n, width in enumerate(fraction_widths):
        shift -= width * 8
        digits = tail if (tail and n == len(fraction_widths) - 1) else 9
        fraction.append((shift, (1 << width * 8) - 1, 10**digits))
    return DecimalLayout(size, tuple(whole), tuple(fraction), scale)


@functools.cache
def decimal_reader(precision: int, scale: int) -> Callable[[bytes], str]:
    """`decimal_text` for one DECIMAL(precision, scale), its byte layout worked out once.

    The value is read as one big-endian integer; each digit group is a bit field of it, so the
    digits are a few shifts and multiplications.
    """
    layout = decimal_layout(precision, scale)
    size, sign_bit, every_bit = layout.size, layout.sign_bit, (1 << layout.size * 8) - 1
    fraction_format = f"0{scale}d"

    def read(raw: bytes) -> str:
        value = int.from_bytes(raw[:size], "big") ^ sign_bit
        sign = ""
        if value & sign_bit:  # the sign bit was clear: a negative value, stored inverted
            value ^= every_bit
            sign = "-"
        whole = 0
        for field_shift, mask in layout.whole:
            whole = whole * 1_000_000_000 + (value >> field_shift & mask)
        if not scale:
            return f"{sign}{whole}"
        fraction = 0
        for field_shift, mask, base in layout.fraction:
            fraction = fraction * base + (value >> field_shift & mask)
        return f"{sign}{whole}.{fraction:{fraction_format}}"

    return read


def decode_datetime2(raw: bytes, fsp: int) -> Value:
    """DATETIME(fsp) in the MySQL 5.6 format: 40-bit packed date and time plus fraction."""
    packed = int.from_bytes(raw[:5], "big") - 0x8000000000
    micros = _fraction(raw[5:])
    date_part = packed >> 17
    year, month = divmod(date_part >> 5, 13)
    day = date_part & 31
    time_part = packed & 0x1FFFF
    hour, minute, second = time_part >> 12, time_part >> 6 & 63, time_part & 63
    try:
        return dt.datetime(year, month, day, hour, minute, second, micros)
    except ValueError:
        text = f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}"
        return text + (f".{micros:06d}"[: fsp + 1] if fsp else "")


def decode_time2(raw: bytes, fsp: int) -> dt.timedelta:
    """TIME(fsp) in the MySQL 5.6 format: signed packed hours/minutes/seconds plus fraction."""
    width = len(raw) - 3
    if width == 3:
        packed = int.from_bytes(raw, "big") - 0x800000000000
    else:
        whole = int.from_bytes(raw[:3], "big") - 0x800000
        fraction = int.from_bytes(raw[3:], "big")
        if width and whole < 0 and fraction:
            whole += 1
            fraction -= 1 << (8 * width)
        packed = (whole << 24) + fraction * (100 ** (3 - width) if width else 0)
    negative = packed < 0
    packed = abs(packed)
    hms = packed >> 24
    micros = packed % (1 << 24)
    delta = dt.timedelta(
        hours=hms >> 12 & 0x3FF, minutes=hms >> 6 & 63, seconds=hms & 63, microseconds=micros
    )
    return -delta if negative else delta


def _fraction(raw: bytes) -> int:
    """Microseconds from a 0-3 byte big-endian fraction (1 byte: 1/100 s, 2: 1/10^4 s, 3: us)."""
    return int.from_bytes(raw, "big") * _FRACTION_SCALE[len(raw)]


def _date(year: int, month: int, day: int) -> Value:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return f"{year:04d}-{month:02d}-{day:02d}"


def _old_temporal(column: Column, raw: bytes) -> Value:
    """Pre-5.6 TIMESTAMP, TIME and DATETIME (no fractional seconds)."""
    if column.type == tm.T_TIMESTAMP and len(raw) == 4:
        seconds = int.from_bytes(raw, "little")
        return _EPOCH + dt.timedelta(seconds=seconds) if seconds else "0000-00-00 00:00:00"
    if column.type == tm.T_TIME and len(raw) == 3:
        value = int.from_bytes(raw, "little", signed=True)
        sign = -1 if value < 0 else 1
        value = abs(value)
        hours, rest = divmod(value, 10000)
        minutes, seconds = divmod(rest, 100)
        return sign * dt.timedelta(hours=hours, minutes=minutes, seconds=seconds)
    if column.type == tm.T_DATETIME and len(raw) == 8:
        value = int.from_bytes(raw, "little")
        date_part, time_part = divmod(value, 1_000_000)
        year, rest = divmod(date_part, 10000)
        month, day = divmod(rest, 100)
        hour, rest = divmod(time_part, 10000)
        minute, second = divmod(rest, 100)
        try:
            return dt.datetime(year, month, day, hour, minute, second)
        except ValueError:
            return f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}"
    return raw


_FIXED_DECODERS: dict[int, Callable[[Column, bytes], Value]] = {
    tm.T_DATETIME2: lambda column, raw: decode_datetime2(raw, column.meta),
    tm.T_TIMESTAMP2: _timestamp2,
    tm.T_TIME2: lambda column, raw: decode_time2(raw, column.meta),
    tm.T_DATE: _date_value,
    tm.T_NEWDATE: _date_value,
    tm.T_YEAR: lambda column, raw: raw[0] + 1900 if raw[0] else 0,
    tm.T_BIT: lambda column, raw: int.from_bytes(raw, "big"),
    tm.T_ENUM: _enum,
    tm.T_SET: _set,
    tm.T_TIMESTAMP: _old_temporal,
    tm.T_TIME: _old_temporal,
    tm.T_DATETIME: _old_temporal,
    tm.T_NULL: lambda column, raw: None,
}
