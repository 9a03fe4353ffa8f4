"""Counting the rows of a Rows event without decoding any value.

A row image is a null bitmap followed by the non-null values of the columns present in the image;
each value is either fixed-size or carries a little-endian length prefix. For each table shape
(columns, present-column bitmaps, operation) we generate a small Python function that hops over
one row per loop iteration: consecutive fixed sizes are folded into one addition, null checks are
emitted only for nullable columns, and no Python value is ever built. Generated code runs 3-5x
faster than interpreting a per-column plan, which is what keeps indexing near the native tools.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

from drkit.binlog.compiled import compiled_scanner
from drkit.binlog.tablemap import Column

# (buffer, start, end) -> (rows, position reached); position != end means the shape was wrong.
RowCounter = Callable[[bytes, int, int], tuple[int, int]]

_U32 = struct.Struct("<I").unpack_from


def present_columns(columns: Sequence[Column], bitmap: bytes) -> list[Column]:
    """The columns whose bit is set in a Rows event's columns-present bitmap."""
    return [column for column in columns if bitmap[column.index // 8] & (1 << column.index % 8)]


def build_row_counter(
    before: Sequence[Column],
    after: Sequence[Column] | None,
    partial_json_columns: int | None = None,
) -> RowCounter:
    """A function counting rows made of a `before` image and, for updates, an `after` image.

    `partial_json_columns` is set for MySQL PARTIAL_UPDATE_ROWS events, whose after image starts
    with value options and, when partial JSON is on, a bitmap over the table's JSON columns.
    Where the compiled scanner is built, the counter is its RowPlan (which its walk also runs
    without calling back into Python); PARTIAL_UPDATE shapes keep the generated code.
    """
    compiled = compiled_scanner()
    if compiled is not None and partial_json_columns is None and _plannable(before, after):
        plan: RowCounter = compiled.RowPlan(
            _column_plan(before), None if after is None else _column_plan(after)
        )
        return plan
    fixed = _fixed_row_size(before, after, partial_json_columns)
    if fixed is not None:
        return _fixed_counter(fixed)
    lines = [
        "def count(buf, p, end):",
        "    rows = 0",
        "    while p < end:",
    ]
    lines += _image_lines(before)
    if after is not None:
        if partial_json_columns is not None:
            lines += _value_options_lines((partial_json_columns + 7) // 8)
        lines += _image_lines(after)
    lines += ["        rows += 1", "    return rows, p"]
    namespace: dict[str, object] = {"U32": _U32, "from_bytes": int.from_bytes}
    # The generated text holds only integers computed from the table map, never event text.
    exec("\n".join(lines), namespace)  # noqa: S102
    counter: RowCounter = namespace["count"]  # type: ignore[assignment]
    return counter


def _plannable(before: Sequence[Column], after: Sequence[Column] | None) -> bool:
    """Whether RowPlan takes these columns: length prefixes of 1 to 4 bytes (a damaged table
    map may declare others; the generated code reads those as Python would)."""
    images = (before,) if after is None else (before, after)
    return all(
        1 <= column.prefix <= 4 for image in images for column in image if column.size is None
    )


def _column_plan(columns: Sequence[Column]) -> list[tuple[bool, int, int]]:
    """Each column as (nullable, fixed size or -1, length-prefix width) for RowPlan."""
    return [
        (column.nullable, -1 if column.size is None else column.size, column.prefix)
        for column in columns
    ]


def _fixed_row_size(
    before: Sequence[Column], after: Sequence[Column] | None, partial: int | None
) -> int | None:
    """The byte size of every row when no present column is nullable or variable-sized."""
    if partial is not None:
        return None
    size = 0
    for image in (before,) if after is None else (before, after):
        if any(column.nullable or column.size is None for column in image):
            return None
        size += (len(image) + 7) // 8 + sum(column.size or 0 for column in image)
    return size or None


def _fixed_counter(size: int) -> RowCounter:
    def count(buf: bytes, p: int, end: int) -> tuple[int, int]:
        rows, rest = divmod(end - p, size)
        return rows, end - rest

    return count


def _image_lines(columns: Sequence[Column]) -> list[str]:
    """Statements hopping over one row image: its null bitmap, then each present value."""
    indent = "        "
    null_bytes = (len(columns) + 7) // 8
    lines: list[str] = []
    if any(column.nullable for column in columns):
        lines.append(f"{indent}nulls = {_read_uint('p', null_bytes)}")
    pending = null_bytes  # fixed bytes not yet added to p
    for bit, column in enumerate(columns):
        mask = 1 << bit
        if column.size is not None:
            if not column.nullable:
                pending += column.size
            elif column.size:
                lines.append(f"{indent}if not nulls & {mask}: p += {column.size}")
            continue
        hop = _read_uint(f"p + {pending}" if pending else "p", column.prefix)
        step = f"{pending + column.prefix} + {hop}"
        if not column.nullable:
            lines.append(f"{indent}p += {step}")
        elif pending:
            lines.append(f"{indent}if nulls & {mask}: p += {pending}")
            lines.append(f"{indent}else: p += {step}")
        else:
            lines.append(f"{indent}if not nulls & {mask}: p += {step}")
        pending = 0
    if pending:
        lines.append(f"{indent}p += {pending}")
    return lines


def _value_options_lines(partial_bitmap_bytes: int) -> list[str]:
    """Skip a PARTIAL_UPDATE after image's value options (a packed int, 1 byte in practice)."""
    indent = "        "
    return [
        f"{indent}options = buf[p]",
        f"{indent}if options >= 251: raise ValueError('unsupported value options')",
        f"{indent}p += 1 + ({partial_bitmap_bytes} if options & 1 else 0)",
    ]


def _read_uint(where: str, width: int) -> str:
    """An expression reading a little-endian unsigned integer of `width` bytes at `where`."""
    if width == 1:
        return f"buf[{where}]"
    if width == 2:
        return f"(buf[{where}] | buf[{where} + 1] << 8)"
    if width == 4:
        return f"U32(buf, {where})[0]"
    return f"from_bytes(buf[{where}:{where} + {width}], 'little')"
