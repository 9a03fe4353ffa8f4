"""Row values as people read them (tables, JSON) and as keys typed on the command line."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

from drkit.binlog.values import Value
from drkit.dialect.rows import time_text
from drkit.errors import UsageError


def shown(value: Value) -> str:
    """A value as SQL would print it: NULL, 0x-hex for bytes, ISO times with a space."""
    if value is None:
        return "NULL"
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, dt.datetime):
        text = value.replace(tzinfo=None).isoformat(sep=" ")
        return text
    if isinstance(value, dt.timedelta):
        return time_text(value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def as_json(value: Value) -> object:
    """A value JSON can carry: numbers stay numbers, the rest becomes its shown text."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, Decimal):
        return str(value)
    return shown(value)


def image_json(image: Mapping[str, Value] | None) -> dict[str, object] | None:
    return None if image is None else {name: as_json(v) for name, v in image.items()}


def parse_key(text: str) -> tuple[tuple[str, str], ...]:
    """`id=5` or `a=1,b=x` -> (("id", "5"),) ...; UsageError for anything else."""
    pairs: list[tuple[str, str]] = []
    for part in text.split(","):
        name, equals, value = part.partition("=")
        if not equals or not name.strip():
            raise UsageError(f"not a key: {text!r} (COL=VALUE, or COL=VALUE,COL=VALUE)")
        pairs.append((name.strip(), value.strip()))
    return tuple(pairs)


def matches(image: Mapping[str, Value] | None, key: tuple[tuple[str, str], ...]) -> bool:
    """True when the image holds every key column with the typed value (compared as shown)."""
    if image is None:
        return False
    for name, wanted in key:
        if name not in image:
            return False
        value = image[name]
        if value is None:
            if wanted.upper() != "NULL":
                return False
        elif shown(value) != wanted and str(value) != wanted:
            return False
    return True
