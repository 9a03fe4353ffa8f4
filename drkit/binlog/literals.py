"""Row images decoded straight into SQL literal text, by code generated once per image shape.

Flashback writes a statement per row image; building a Python value for every column (a
datetime, a Decimal, a dict per row) and then its literal costs more than all the rest. For each
shape (the present columns of a Rows event's images) we generate a function that reads every row
of an event into a flat tuple of literal texts, each equal to
`drkit.dialect.rows.literal(decode_value(...))`: integers, DECIMAL, DATETIME and text have a fast
path; every other type goes through exactly that pair, so the text never depends on the path.
"""

from __future__ import annotations

import calendar
import functools
import struct
from collections.abc import Callable, Sequence

from drkit.binlog import tablemap as tm
from drkit.binlog.charsets import BINARY, decoder_for
from drkit.binlog.tablemap import Column
from drkit.binlog.values import DecimalLayout, decimal_layout, decode_datetime2, decode_value
from drkit.dialect.rows import literal, string_literal

# (buffer, start, end) -> (rows, position reached); each row is its images' literals, before
# image first for updates (a flat tuple: the before image's n columns, then the after image's).
RowsReader = Callable[[bytes, int, int], tuple[list[tuple[str, ...]], int]]

_STRUCTS = {
    (1, True): "b",
    (1, False): "B",
    (2, True): "h",
    (2, False): "H",
    (4, True): "i",
    (4, False): "I",
    (8, True): "q",
    (8, False): "Q",
}
_TEXT_TYPES = {
    tm.T_VARCHAR,
    tm.T_VAR_STRING,
    tm.T_STRING,
    tm.T_TINY_BLOB,
    tm.T_MEDIUM_BLOB,
    tm.T_LONG_BLOB,
    tm.T_BLOB,
}
_FRACTION_SCALE = (0, 10_000, 100, 1)


def build_rows_reader(images: Sequence[Sequence[Column]]) -> RowsReader:
    """A function reading rows made of these images (one, or before and after for updates)."""
    namespace: dict[str, object] = {"from_bytes": int.from_bytes, "NULL": "NULL"}
    lines = ["def read(buf, p, end):", "    rows = []", "    while p < end:"]
    names: list[str] = []
    for image in images:
        lines += _image_lines(image, len(names), namespace)
        names += [f"v{len(names) + n}" for n in range(len(image))]
    lines += [f"        rows.append(({', '.join(names)},))", "    return rows, p"]
    # The generated text holds only integers computed from the table map and names of helpers
    # in `namespace`, never text from the binlog.
    exec("\n".join(lines), namespace)  # noqa: S102
    reader: RowsReader = namespace["read"]  # type: ignore[assignment]
    return reader


def _image_lines(columns: Sequence[Column], first: int, namespace: dict[str, object]) -> list[str]:
    indent = "        "
    width = (len(columns) + 7) // 8
    lines = [
        f"{indent}nulls = {'buf[p]' if width == 1 else _uint('p', width)}",
        f"{indent}p += {width}",
    ]
    for bit, column in enumerate(columns):
        name = f"v{first + bit}"
        body = _value_lines(column, name, namespace)
        if column.nullable:
            lines.append(f"{indent}if nulls >> {bit} & 1:")
            lines.append(f"{indent}    {name} = NULL")
            lines.append(f"{indent}else:")
            lines += [f"{indent}    {line}" for line in body]
        else:
            lines += [f"{indent}{line}" for line in body]
    return lines


def _value_lines(column: Column, name: str, namespace: dict[str, object]) -> list[str]:
    """Statements setting `name` to the column's literal at p and moving p past the value."""
    helper = f"h{column.index}"
    size = column.size
    if column.type in (tm.T_TINY, tm.T_SHORT, tm.T_LONG, tm.T_LONGLONG) and size:
        namespace[helper] = struct.Struct("<" + _STRUCTS[size, not column.unsigned]).unpack_from
        return [f"{name} = str({helper}(buf, p)[0])", f"p += {size}"]
    if column.type == tm.T_NEWDECIMAL and size:
        return _decimal_lines(name, decimal_layout(column.meta >> 8, column.meta & 0xFF))
    if column.type == tm.T_DATETIME2 and size:
        return _datetime2_lines(name, helper, size, column.meta, namespace)
    text = _text_decoder(column)
    if text is not None and size is None:
        namespace[helper] = text
        namespace["quoted"] = string_literal
        return [
            f"n = {_uint('p', column.prefix)}",
            f"p += {column.prefix} + n",
            "r = buf[p - n:p]",
            # ASCII reads the same in every character set drkit decodes through this path.
            f"s = r.decode('ascii') if r.isascii() else {helper}(r)",
            # Most text needs no escaping: three searches cost less than a call.
            f"{name} = quoted(s) if \"'\" in s or '\\\\' in s or '\\x00' in s "
            'else "\'" + s + "\'"',
        ]
    namespace[helper] = _generic(column)
    return [f"{name}, p = {helper}(buf, p)"]


def _decimal_lines(name: str, layout: DecimalLayout) -> list[str]:
    """DECIMAL as `decimal_text` reads it, its digit groups unrolled into one expression each."""
    every = (1 << layout.size * 8) - 1
    whole = "0"
    for shift, mask in layout.whole:
        whole = f"({whole}) * 1000000000 + (x >> {shift} & {mask})"
    digits = [f"str({whole})"]
    if layout.scale:
        fraction = "0"
        for shift, mask, base in layout.fraction:
            fraction = f"({fraction}) * {base} + (x >> {shift} & {mask})"
        digits.append(f"'.' + f'{{{fraction}:0{layout.scale}d}}'")
    text = " + ".join(digits)
    return [
        f"x = from_bytes(buf[p:p + {layout.size}], 'big') ^ {layout.sign_bit}",
        f"if x & {layout.sign_bit}:",
        f"    x ^= {every}",
        f"    {name} = '-' + {text}",
        "else:",
        f"    {name} = {text}",
        f"p += {layout.size}",
    ]


def _datetime2_lines(
    name: str, helper: str, size: int, fsp: int, namespace: dict[str, object]
) -> list[str]:
    """DATETIME(fsp) from the kept texts of its day and time of day (`datetime2_literal` when
    one is not kept yet, or for a zero date)."""
    namespace[helper] = datetime2_literal
    namespace["DAYS"], namespace["CLOCKS"] = _DAYS, _CLOCKS
    lines = [
        "t = from_bytes(buf[p:p + 5], 'big') - 0x8000000000",
        "d = DAYS.get(t >> 17)",
        "c = CLOCKS.get(t & 0x1FFFF)",
    ]
    if size == 5:
        lines += [
            f"{name} = {helper}(buf[p:p + 5], {fsp}) if d is None or c is None "
            "else \"'\" + d + ' ' + c + \"'\""
        ]
    else:
        scale = _FRACTION_SCALE[size - 5]
        lines += [
            f"m = from_bytes(buf[p + 5:p + {size}], 'big')",
            f"if d is None or c is None: {name} = {helper}(buf[p:p + {size}], {fsp})",
            f"elif m: {name} = \"'\" + d + ' ' + c + '.' + f'{{m * {scale}:06d}}' + \"'\"",
            f"else: {name} = \"'\" + d + ' ' + c + \"'\"",
        ]
    return [*lines, f"p += {size}"]


def _text_decoder(column: Column) -> Callable[[bytes], str] | None:
    """How a text column's bytes become str, or None when the value is bytes (binary, JSON...)
    or its character set does not read ASCII bytes as ASCII (UCS-2, UTF-16, UTF-32, swe7)."""
    if column.type not in _TEXT_TYPES or column.collation is None:
        return None
    if column.type == tm.T_STRING and column.collation == BINARY:
        return None
    decode = decoder_for(column.collation)
    return decode if decode is not None and _reads_ascii(column.collation) else None


_ASCII = bytes(range(128))


@functools.cache
def _reads_ascii(collation: int) -> bool:
    """Whether the collation's character set reads every ASCII byte as that ASCII character."""
    decode = decoder_for(collation)
    return decode is not None and decode(_ASCII) == _ASCII.decode("ascii")


def _generic(column: Column) -> Callable[[bytes, int], tuple[str, int]]:
    def read(buf: bytes, pos: int) -> tuple[str, int]:
        value, pos = decode_value(column, buf, pos)
        return literal(value), pos

    return read


def _uint(where: str, width: int) -> str:
    if width == 1:
        return f"buf[{where}]"
    return f"from_bytes(buf[{where}:{where} + {width}], 'little')"


def datetime2_literal(raw: bytes, fsp: int) -> str:
    """DATETIME(fsp) as `literal(decode_datetime2(raw, fsp))` writes it, without the datetime.

    Rows of one table share few distinct days and times of day: their texts are kept.
    """
    packed = int.from_bytes(raw[:5], "big") - 0x8000000000
    day = _DAYS.get(packed >> 17)
    if day is None:
        day = _day_text(packed >> 17)
        if day is None:
            return literal(decode_datetime2(raw, fsp))  # a zero or partial date: as the server
    clock = _CLOCKS.get(packed & 0x1FFFF) or _clock_text(packed & 0x1FFFF)
    if clock is None:
        return literal(decode_datetime2(raw, fsp))
    if len(raw) > 5:
        micros = int.from_bytes(raw[5:], "big") * _FRACTION_SCALE[len(raw) - 5]
        if micros:
            return f"'{day} {clock}.{micros:06d}'"
    return "'" + day + " " + clock + "'"


_DAYS: dict[int, str] = {}
_CLOCKS: dict[int, str] = {}
_KEPT = 100_000


def _day_text(date_part: int) -> str | None:
    """YYYY-MM-DD of a packed date, or None when Python's datetime would refuse it."""
    year, month = divmod(date_part >> 5, 13)
    day = date_part & 31
    if year < 1 or year > 9999 or not 1 <= month <= 12 or day < 1:
        return None
    if day > 28 and day > calendar.monthrange(year, month)[1]:
        return None
    if len(_DAYS) >= _KEPT:
        _DAYS.clear()
    text = _DAYS[date_part] = f"{year:04d}-{month:02d}-{day:02d}"
    return text


def _clock_text(clock: int) -> str | None:
    """HH:MM:SS of a packed time of day, or None when Python's datetime would refuse it."""
    hour, minute, second = clock >> 12, clock >> 6 & 63, clock & 63
    if hour > 23 or minute > 59 or second > 59:
        return None
    if len(_CLOCKS) >= _KEPT:
        _CLOCKS.clear()
    text = _CLOCKS[clock] = f"{hour:02d}:{minute:02d}:{second:02d}"
    return text
