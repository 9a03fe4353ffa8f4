"""Times an operator types for `drkit events --since/--until` and recovery targets."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest

from drkit.errors import ExitCode, UsageError
from drkit.timeparse import iso, parse_time, zone_note

NOW = dt.datetime(2026, 11, 26, 14, 2, 30, tzinfo=dt.UTC).timestamp()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-26T14:02:00Z", dt.datetime(2026, 11, 26, 14, 2, tzinfo=dt.UTC)),
        ("2026-11-26T14:02", dt.datetime(2026, 11, 26, 14, 2, tzinfo=dt.UTC)),  # local: UTC here
        ("2026-11-26 14:02:00", dt.datetime(2026, 11, 26, 14, 2, tzinfo=dt.UTC)),
        ("2026-11-26", dt.datetime(2026, 11, 26, tzinfo=dt.UTC)),
        ("2026-11-26T15:02:00+01:00", dt.datetime(2026, 11, 26, 14, 2, tzinfo=dt.UTC)),
        ("2026-11-26T09:32:00-04:30", dt.datetime(2026, 11, 26, 14, 2, tzinfo=dt.UTC)),
        ("2026-11-26T14:02:00.250Z", dt.datetime(2026, 11, 26, 14, 2, 0, 250000, tzinfo=dt.UTC)),
        ("  2026-11-26T14:02:00Z  ", dt.datetime(2026, 11, 26, 14, 2, tzinfo=dt.UTC)),
    ],
)
def test_iso_8601(text: str, expected: dt.datetime, utc_here: None) -> None:
    assert parse_time(text, NOW) == expected.timestamp()


@pytest.fixture
def utc_here(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The local zone is UTC for the test (naive times are read in it)."""
    yield from _zone(monkeypatch, "UTC")


def _zone(monkeypatch: pytest.MonkeyPatch, name: str) -> Iterator[None]:
    monkeypatch.setenv("TZ", name)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_time_without_a_zone_is_local_and_said_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18 item 13: TZ=Europe/Paris, --since 2026-12-03T14:31:00 is 13:31 UTC."""
    zone = _zone(monkeypatch, "Europe/Paris")
    next(zone)
    try:
        assert parse_time("2026-12-03T14:31:00", NOW) == (
            dt.datetime(2026, 12, 3, 13, 31, tzinfo=dt.UTC).timestamp()
        )
        note = zone_note("2026-12-03T14:31:00")
        assert note == (
            "2026-12-03T14:31:00 has no zone: read as local time, CET (UTC+01:00) = "
            "2026-12-03T13:31:00Z; add Z or +HH:MM to choose"
        )
        assert zone_note("2026-12-03T14:31:00Z") is None
        assert zone_note("-2h") is None and zone_note("now") is None
    finally:
        next(zone, None)


@pytest.mark.parametrize(
    ("text", "seconds_ago"),
    [
        ("now", 0),
        ("NOW", 0),
        ("-90s", 90),
        ("-30m", 1800),
        ("-2h", 7200),
        ("-2H", 7200),
        ("-1.5h", 5400),
        ("- 2h", 7200),
        ("-1d", 86400),
        ("-2w", 2 * 604800),
        ("-0s", 0),
    ],
)
def test_relative_to_now(text: str, seconds_ago: float) -> None:
    assert parse_time(text, NOW) == NOW - seconds_ago


@pytest.mark.parametrize(
    "text", ["yesterday", "2h", "+2h", "-2", "-h", "-2y", "", "26/11/2026", "2026-13-01", "-2h ago"]
)
def test_anything_else_is_a_usage_error_that_shows_the_forms(text: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_time(text, NOW)
    assert raised.value.exit_code is ExitCode.USAGE
    assert f"not a time: {text!r}" in raised.value.message
    assert "-2h" in raised.value.message and "ISO-8601" in raised.value.message


def test_iso_prints_utc_with_a_z() -> None:
    assert iso(NOW) == "2026-11-26T14:02:30Z"
    assert parse_time(iso(NOW), 0) == NOW


@pytest.mark.parametrize(
    "text",
    [
        "-99999999999h",
        "-5000000w",
        "-" + "9" * 400 + "s",  # a float overflow: infinity
        "0001-01-01",
        "0001-01-01T00:30:00+01:00",
        "9999-12-31",
        "9999-12-31T23:59:59-14:00",
    ],
)
def test_times_outside_what_drkit_can_print_are_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_time(text, NOW)
    assert raised.value.exit_code is ExitCode.USAGE
    assert raised.value.message.startswith("time out of range: '")
    assert len(raised.value.message) < 120  # a long input is cut short


@pytest.mark.parametrize("text", ["0001-01-02", "9999-12-30", "1969-07-20T20:17:40Z", "-520w"])
def test_times_at_the_edges_are_taken_and_print_back(text: str) -> None:
    assert parse_time(iso(parse_time(text, NOW)), NOW) == parse_time(text, NOW)


def test_iso_prints_to_the_second_flooring_a_relative_times_fraction() -> None:
    whole = dt.datetime(2026, 11, 26, 14, 2, tzinfo=dt.UTC).timestamp()
    assert iso(whole + 0.999999) == "2026-11-26T14:02:00Z"
    assert iso(parse_time("-90s", whole + 90.5)) == "2026-11-26T14:02:00Z"
    assert iso(whole - 0.25) == "2026-11-26T14:01:59Z"
