"""Times the operator types: ISO-8601 (`2026-11-26T14:02`, UTC unless an offset is given), or
relative to now (`-2h`, `-30m`, `-90s`, `-1d`, `now`)."""

from __future__ import annotations

import datetime as dt
import re

from drkit.errors import UsageError

_RELATIVE = re.compile(r"^-\s*(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(text: str, now: float) -> float:
    """Unix seconds for `text`; UsageError with the accepted forms when it is neither."""
    value = text.strip()
    if value.lower() == "now":
        return now
    match = _RELATIVE.match(value.lower())
    if match:
        return now - float(match.group(1)) * _UNITS[match.group(2)]
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"not a time: {text!r} (use ISO-8601 such as 2026-11-26T14:02:00Z, or -2h, -30m, -1d)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).isoformat().replace("+00:00", "Z")
