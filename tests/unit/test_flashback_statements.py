"""The fast `--sql` path (literal texts read by generated code, templates filled) writes exactly
the statements `reverse_statement` builds from decoded values, for every transaction of the
fixture binlogs (every column type, NULLs, inserts, updates, deletes), newest first."""

from __future__ import annotations

import dataclasses
import io
import random
from decimal import Decimal
from pathlib import Path

import pytest

from drkit.binlog import scan_file
from drkit.binlog import tablemap as tm
from drkit.binlog.files import map_file
from drkit.binlog.literals import build_rows_reader, datetime2_literal
from drkit.binlog.tablemap import Column
from drkit.binlog.values import decimal_text, decode_datetime2, decode_value
from drkit.dialect import rows as sql
from drkit.flashback.helper import halves
from drkit.flashback.images import format_of, stream_images
from drkit.flashback.plan import TablePlan, reverse_statement
from drkit.flashback.statements import write_reverses

FIXTURES = Path(__file__).parents[1] / "fixtures" / "binlog"


def _transactions() -> list[tuple[Path, tuple[tuple[int, int], ...]]]:
    found = []
    for path in sorted(FIXTURES.glob("bin.0*")):
        for transaction in scan_file(path):
            if transaction.row_events and all(
                image.full for image in stream_images(path, transaction.row_events)
            ):
                found.append((path, transaction.row_events))
    return found


def _plans(path: Path, offsets: tuple[tuple[int, int], ...]) -> dict[str, TablePlan]:
    plans: dict[str, TablePlan] = {}
    for image in stream_images(path, offsets):
        name = f"{image.row.schema}.{image.row.table}"
        plans[name] = TablePlan(name, image.columns, image.columns, image.row.primary_key)
    return plans


def test_the_fixtures_hold_inserts_updates_and_deletes() -> None:
    operations = {
        image.row.operation
        for path, offsets in _transactions()
        for image in stream_images(path, offsets)
    }
    assert operations == {"insert", "update", "delete"}


@pytest.mark.parametrize(("path", "offsets"), _transactions())
def test_fast_statements_equal_the_decoded_ones_newest_first(
    path: Path, offsets: tuple[tuple[int, int], ...]
) -> None:
    plans = _plans(path, offsets)
    expected: list[str] = []
    probed_expected: list[tuple[str, str, tuple[str, ...], str | None]] = []
    for image in stream_images(path, offsets, newest_first=True):
        plan = plans[f"{image.row.schema}.{image.row.table}"]
        reverse = reverse_statement(image.row, plan)
        if reverse is None:
            continue
        expected.append(reverse.sql.text)
        if reverse.operation == "delete" and not plan.key:
            continue
        key = tuple(sql.literal(v) for v in reverse.key.values())
        left = None if reverse.operation == "delete" else sql.row_match(reverse.left, plan.compare)
        probed_expected.append((plan.table, reverse.operation, key, left))
    probed: list[tuple[str, str, tuple[str, ...], str | None]] = []

    def probe(
        table: str, operation: str, keys: list[tuple[str, ...]], lefts: list[str] | None
    ) -> None:
        for n, key in enumerate(keys):
            probed.append((table, operation, key, None if lefts is None else lefts[n]))

    out = io.StringIO()
    with map_file(path) as buf:
        count = write_reverses(buf, format_of(buf), offsets, plans, "#1", out, probe)
    written = out.getvalue().split(";\n")
    assert written[-1] == ""
    assert written[:-1] == expected
    assert count == len(expected)
    assert probed == probed_expected


def _encode_decimal(value: Decimal, precision: int, scale: int) -> bytes:
    """MySQL's binary DECIMAL, written independently of the decoder: digit groups of 9,
    big-endian, the leading and trailing groups in as few bytes as their digits need."""
    dig2bytes = (0, 1, 1, 2, 2, 3, 3, 4, 4, 4)
    negative = value < 0
    digits = f"{value.copy_abs():.{scale}f}"  # abs() would round to 28 digits
    whole, _, fraction = digits.partition(".")
    integral = precision - scale
    whole = whole.rjust(integral, "0")[-integral:] if integral else ""
    out = bytearray()
    lead = integral % 9
    if lead:
        out += int(whole[:lead]).to_bytes(dig2bytes[lead], "big")
    for n in range(lead, integral, 9):
        out += int(whole[n : n + 9]).to_bytes(4, "big")
    for n in range(0, scale - scale % 9, 9):
        out += int(fraction[n : n + 9]).to_bytes(4, "big")
    if scale % 9:
        out += int(fraction[scale - scale % 9 :]).to_bytes(dig2bytes[scale % 9], "big")
    out[0] ^= 0x80
    if negative:
        out = bytearray(byte ^ 0xFF for byte in out)
    return bytes(out)


@pytest.mark.parametrize(
    ("precision", "scale"),
    [
        (1, 0),
        (5, 2),
        (9, 0),
        (10, 0),
        (12, 2),
        (18, 9),
        (20, 6),
        (38, 10),
        (38, 30),
        (65, 30),
        (65, 0),
    ],
)
def test_decimal_text_reads_every_layout(precision: int, scale: int) -> None:
    rng = random.Random(precision * 100 + scale)
    for _ in range(300):
        whole = rng.randrange(10 ** (precision - scale)) if precision > scale else 0
        fraction = rng.randrange(10**scale) if scale else 0
        sign = rng.choice(("", "-"))
        text = f"{sign}{whole}" + (f".{fraction:0{scale}d}" if scale else "")
        value = Decimal(text)
        decoded = decimal_text(_encode_decimal(value, precision, scale), precision, scale)
        assert Decimal(decoded) == value
        assert "E" not in decoded and len(decoded.partition(".")[2]) == scale


@pytest.mark.parametrize(("precision", "scale"), [(5, 2), (12, 2), (38, 10), (65, 30), (10, 0)])
def test_generated_readers_write_decimals_as_decimal_text(precision: int, scale: int) -> None:
    column = Column(0, tm.T_NEWDECIMAL, precision << 8 | scale, True, None, 0, "d")
    column = dataclasses.replace(column, size=len(_encode_decimal(Decimal(0), precision, scale)))
    read = build_rows_reader([[column]])
    rng = random.Random(precision)
    values = [Decimal(0)] + [
        Decimal(rng.randrange(-(10**precision) + 1, 10**precision)).scaleb(-scale)
        for _ in range(200)
    ]
    rows = b"".join(b"\0" + _encode_decimal(v, precision, scale) for v in values) + b"\1"
    found, end = read(rows, 0, len(rows))
    assert end == len(rows)
    expected = [
        (decimal_text(_encode_decimal(v, precision, scale), precision, scale),) for v in values
    ]
    assert found == [*expected, ("NULL",)]
    assert [Decimal(text) for (text,) in found[:-1]] == values


def test_a_tiny_decimal_is_written_as_digits_not_as_an_inexact_double() -> None:
    assert sql.literal(Decimal("0.0000000001")) == "0.0000000001"
    assert sql.literal(Decimal("-12.50")) == "-12.50"


def _encode_datetime2(
    year: int, month: int, day: int, clock: tuple[int, int, int], micros: int, fsp: int
) -> bytes:
    hour, minute, second = clock
    packed = (
        (year * 13 + month) << 22 | day << 17 | hour << 12 | minute << 6 | second
    ) + 0x8000000000
    raw = packed.to_bytes(5, "big")
    width = (fsp + 1) // 2
    if width:
        raw += (micros // (10 ** (6 - 2 * width))).to_bytes(width, "big")
    return raw


def test_datetime_literals_equal_the_decoded_values_including_zero_dates() -> None:
    rng = random.Random(5)
    cases = [(0, 0, 0, (0, 0, 0), 0), (2024, 2, 30, (1, 2, 3), 0), (2024, 2, 29, (23, 59, 59), 0)]
    cases += [
        (2023, 2, 29, (0, 0, 0), 0),
        (1, 1, 1, (0, 0, 0), 0),
        (9999, 12, 31, (23, 59, 59), 999999),
    ]
    for _ in range(500):
        cases.append(
            (
                rng.randrange(0, 10000),
                rng.randrange(0, 13),
                rng.randrange(0, 32),
                (rng.randrange(24), rng.randrange(60), rng.randrange(60)),
                rng.randrange(1_000_000),
            )
        )
    for fsp in range(7):
        for year, month, day, clock, micros in cases:
            raw = _encode_datetime2(year, month, day, clock, micros, fsp)
            assert datetime2_literal(raw, fsp) == sql.literal(decode_datetime2(raw, fsp)), raw


def test_a_template_keeps_braces_of_identifiers() -> None:
    statement = sql.remove_inserted("s{1}.t}", {"a{b": sql.Slot(0), "c": sql.Slot(1)}, ("a{b", "c"))
    text = sql.template(statement.text).format("1", "'x{y}'")
    assert text == sql.remove_inserted("s{1}.t}", {"a{b": 1, "c": "x{y}"}, ("a{b", "c")).text


@pytest.mark.parametrize(("path", "offsets"), _transactions())
def test_the_newer_half_then_the_older_half_are_the_whole(
    path: Path, offsets: tuple[tuple[int, int], ...]
) -> None:
    plans = _plans(path, offsets)
    with map_file(path) as buf:
        fmt = format_of(buf)
        split = halves(buf, fmt, offsets, min_events=2)
        if split is None:
            assert sum(1 for start, _ in offsets if buf[start + 4] != 19) < 2
            return
        whole, newer, older = io.StringIO(), io.StringIO(), io.StringIO()
        write_reverses(buf, fmt, offsets, plans, "#1", whole)
        write_reverses(buf, fmt, split[0], plans, "#1", newer)
        write_reverses(buf, fmt, split[1], plans, "#1", older)
    assert newer.getvalue() and older.getvalue()
    assert newer.getvalue() + older.getvalue() == whole.getvalue()


@pytest.mark.parametrize("collation", [5, 10, 13, 28, 35, 45, 54, 63])
def test_generated_readers_write_text_as_the_decoded_value_in_every_character_set(
    collation: int,
) -> None:
    column = Column(0, tm.T_VARCHAR, 200, True, None, 1, "v", collation=collation)
    values = [
        b"plain",
        b"it's [a] \\ back",
        b"\x00",
        b"",
        b"caf\xe9",
        b"\x82\xa0\x5c",
        b"\x00A\x00[",
    ]
    rows = b"".join(b"\0" + bytes([len(v)]) + v for v in values)
    found, end = build_rows_reader([[column]])(rows, 0, len(rows))
    assert end == len(rows)
    expected = [(sql.literal(decode_value(column, bytes([len(v)]) + v, 0)[0]),) for v in values]
    assert found == expected
