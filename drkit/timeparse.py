"""Times the operator types: ISO-8601 (`2026-11-26T14:02`: local time unless a zone is given,
`Z` or `+01:00`), or relative to now (`-2h`, `-30m`, `-90s`, `-1d`, `now`). A time read in the
local zone is said aloud (`zone_note`): an operator in Paris and a server in UTC differ by hours."""

from __future__ import annotations

import datetime as dt
import math
import re

from drkit.errors import UsageError

_RELATIVE = re.compile(r"^-\s*(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Every time drkit accepts can be printed back (iso) and shown in any time zone: a day inside
# what Python's datetime holds at either end.
EARLIEST = dt.datetime(1, 1, 2, tzinfo=dt.UTC).timestamp()
LATEST = dt.datetime(9999, 12, 30, tzinfo=dt.UTC).timestamp()
_FORMS = "use ISO-8601 such as 2026-11-26T14:02:00Z, or -2h, -30m, -1d"


def parse_time(text: str, now: float) -> float:
    """Unix seconds for `text`; UsageError with the accepted forms when it is neither, or when
    it falls outside what drkit can print back (years 0001 to 9999)."""
    value = text.strip()
    if value.lower() == "now":
        return now
    match = _RELATIVE.match(value.lower())
    try:
        if match:
            seconds = now - float(match.group(1)) * _UNITS[match.group(2)]
        else:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            seconds = _timestamp(parsed)
    except (OverflowError, OSError):
        seconds = math.inf  # an overflow is out of range too
    except ValueError:
        raise UsageError(f"not a time: {_shown(text)} ({_FORMS})") from None
    if not (math.isfinite(seconds) and EARLIEST <= seconds <= LATEST):
        raise UsageError(
            f"time out of range: {_shown(text)} (drkit takes times between 0001-01-02 and "
            "9999-12-30 UTC)"
        )
    return seconds


def _timestamp(parsed: dt.datetime) -> float:
    """A naive time is the operator's wall clock: the local zone (TZ), never silently UTC."""
    try:
        return parsed.timestamp()
    except (OverflowError, OSError, ValueError):
        return math.inf  # year 1 or 9999 in a zone ahead or behind: out of range


def zone_note(text: str) -> str | None:
    """The sentence saying which zone a time without one was read in (None: it had a zone, or
    it is relative)."""
    value = text.strip()
    if value.lower() == "now" or _RELATIVE.match(value.lower()):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        return None
    local = parsed.astimezone()
    return (
        f"{value} has no zone: read as local time, {local.tzname()} "
        f"(UTC{local.strftime('%z')[:3]}:{local.strftime('%z')[3:]}) = {iso(local.timestamp())}; "
        "add Z or +HH:MM to choose"
    )


def _shown(text: str) -> str:
    """The operator's text, quoted, cut short when it is very long."""
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


def iso(timestamp: float) -> str:
    """`2026-11-26T14:02:00Z`: to the second, in UTC, the one form drkit prints times in.

    Floored, not rounded: commit times are whole seconds, so "at or before 14:02:00.7" and "at
    or before 14:02:00" select the same transactions (a relative time carries a fraction).
    """
    whole = dt.datetime.fromtimestamp(math.floor(timestamp), tz=dt.UTC)
    return whole.isoformat().replace("+00:00", "Z")
