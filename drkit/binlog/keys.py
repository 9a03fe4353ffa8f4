"""The primary-key values of every row image of a Rows event, the other columns hopped over.

`drkit history` learns, once per table, which transactions changed which key: a table of a
hundred thousand changes is read whole the first time. Decoding every column of every image
into Python values made that first call take seconds; here generated code (one function per
image shape, like drkit.binlog.rowcount's counters) decodes only the key columns and adds the
sizes of the others.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from drkit.binlog.tablemap import Column
from drkit.binlog.values import Value, decode_value

# (buffer, start, end) -> (each image's key values, position reached).
KeyReader = Callable[[bytes, int, int], tuple[list[tuple[Value, ...]], int]]


def build_key_reader(images: Sequence[Sequence[Column]], key: Sequence[int]) -> KeyReader:
    """A function reading the values of the columns `key` (table column indexes, in key order)
    from rows made of `images` (one image, or before and after for updates); every column of
    the key must be present in each image."""
    namespace: dict[str, object] = {"from_bytes": int.from_bytes}
    lines = ["def read(buf, p, end):", "    keys = []", "    while p < end:"]
    for image in images:
        lines += _image_lines(image, key, namespace)
        lines.append(f"        keys.append(({''.join(f'k{n}, ' for n in range(len(key)))}))")
    lines.append("    return keys, p")
    # The generated text holds only integers computed from the table map and names of helpers
    # in `namespace`, never text from the binlog.
    exec("\n".join(lines), namespace)  # noqa: S102
    reader: KeyReader = namespace["read"]  # type: ignore[assignment]
    return reader


def _image_lines(
    columns: Sequence[Column], key: Sequence[int], namespace: dict[str, object]
) -> list[str]:
    indent = "        "
    width = (len(columns) + 7) // 8
    lines = [f"{indent}nulls = {_uint('p', width)}", f"{indent}p += {width}"]
    for bit, column in enumerate(columns):
        if column.index in key:
            name = f"k{key.index(column.index)}"
            helper = f"d{column.index}"
            namespace[helper] = functools.partial(decode_value, column)
            body = [f"{name}, p = {helper}(buf, p)"]
            if column.nullable:
                lines += [f"{indent}{name} = None"]
                lines += [f"{indent}if not nulls >> {bit} & 1:"]
                lines += [f"{indent}    {line}" for line in body]
            else:
                lines += [f"{indent}{line}" for line in body]
            continue
        if column.size is not None:
            hop = f"p += {column.size}"
        else:
            hop = f"p += {column.prefix} + {_uint('p', column.prefix)}"
        if column.nullable:
            lines.append(f"{indent}if not nulls >> {bit} & 1: {hop}")
        else:
            lines.append(f"{indent}{hop}")
    return lines


def _uint(where: str, width: int) -> str:
    if width == 1:
        return f"buf[{where}]"
    return f"from_bytes(buf[{where}:{where} + {width}], 'little')"
