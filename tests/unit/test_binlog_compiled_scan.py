"""The compiled walk (drkit/binlog/_scanner.c) reads every binlog exactly as the pure-Python
walk does: every Transaction field, the position, finished, stop reason, event and abandoned
counts, and the error's words on a damaged file, over the fixtures, MariaDB's test-suite files,
the benchmark files when this machine has them (/work/bench), and seeded damage of each kind
the compiled walk reads (truncations, flipped bytes, rows events and table maps damaged, with
and without checksums verified). DRKIT_FUZZ_CASES and DRKIT_FUZZ_SEED run more.
"""

from __future__ import annotations

import gc
import json
import os
import random
import struct
import subprocess
import sys
import weakref
import zlib
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import pytest

from drkit.binlog import BinlogFormatError
from drkit.binlog import events as ev
from drkit.binlog import scan as scan_module
from drkit.binlog.rowcount import build_row_counter
from drkit.binlog.tablemap import Column
from drkit.binlog.transaction import DML, OTHER, ROWS_UNCOUNTED, TableChange, Transaction
from tests.support.scan_modes import ScanOutcome, reading_with, scan_outcome
from tests.support.std_data import STD_DATA, std_data_binlogs
from tests.unit.test_binlog_mysql import (
    BinlogWriter,
    gtid_body,
    query_body,
    row,
    rows_body,
    table_map_body,
)

if TYPE_CHECKING:
    from drkit.binlog._scanner import Walker

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "binlog"
FIXTURE_FILES = sorted(FIXTURES.glob("bin.0*"))
STD_FILES = std_data_binlogs() if STD_DATA.is_dir() else []
BENCH = Path("/work/bench")
BENCH_FILES = sorted(BENCH.glob("*/*-bin.0*")) if BENCH.is_dir() else []
CASES = int(os.environ.get("DRKIT_FUZZ_CASES", "120"))
SEED = int(os.environ.get("DRKIT_FUZZ_SEED", "15"))


def _mysql_file(transactions: int = 40) -> bytes:
    """A MySQL 8 file as test_binlog_mysql builds them: GTID, BEGIN, Rows_query (every other),
    Table_map, Write/Update rows, Xid; a DDL now and then."""
    w = BinlogWriter()
    for number in range(1, transactions + 1):
        w.event(ev.GTID_LOG_EVENT, gtid_body(number))
        if number % 10 == 0:
            w.event(ev.QUERY_EVENT, query_body("ALTER TABLE orders ADD COLUMN x INT"))
            continue
        w.event(ev.QUERY_EVENT, query_body("BEGIN"))
        if number % 2:
            w.event(ev.ROWS_QUERY_LOG_EVENT, b"\x10INSERT INTO orders VALUES (...)")
        w.event(ev.TABLE_MAP_EVENT, table_map_body())
        images = row(number, "n" * (number % 7), None if number % 3 else b"{}")
        w.event(ev.WRITE_ROWS_EVENT, rows_body(images * (1 + number % 4)))
        if number % 4 == 1:
            w.event(ev.UPDATE_ROWS_EVENT, rows_body(images + images, update=True))
        w.event(ev.XID_EVENT, struct.pack("<Q", number))
    return w.bytes()


MYSQL = _mysql_file()


def _same_both_ways(
    data: bytes, name: str, *, verify: bool = True, start: int | None = None
) -> ScanOutcome:
    pure = scan_outcome(data, name, "pure", verify=verify, start_pos=start)
    compiled = scan_outcome(data, name, "compiled", verify=verify, start_pos=start)
    assert compiled == pure
    return compiled


@pytest.mark.parametrize("source", ["mariadb", "mysql"])
def test_the_compiled_walk_takes_the_common_transactions(
    source: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    taken: list[int] = []
    original = scan_module.BinlogScan._compiled_walker

    class Spy:
        def __init__(self, walker: object) -> None:
            self.walker = walker

        def run(self, *args: object) -> object:
            found, pos, events = self.walker.run(*args)  # type: ignore[attr-defined]
            taken.append(len(found))
            return found, pos, events

    def spying(self: scan_module.BinlogScan, fmt: ev.FormatDescription) -> object:
        walker = original(self, fmt)
        return None if walker is None else Spy(walker)

    monkeypatch.setattr(scan_module.BinlogScan, "_compiled_walker", spying)
    cache = scan_module.TableMapCache()
    path = FIXTURE_FILES[0]
    if source == "mysql":
        path = tmp_path / "binlog.000001"
        path.write_bytes(MYSQL)
    with reading_with("compiled"):
        first = list(scan_module.scan_file(path, table_maps=cache))
        taken.clear()
        again = list(scan_module.scan_file(path, table_maps=cache))
    assert again == first
    # Once its table maps and row shapes are known (the first scan handed each new one to
    # Python), every transaction of GTID, Annotate_rows, Table_map, Rows and Xid events goes
    # through the compiled walk.
    common = [t for t in again if t.row_events and not t.flags and t.gtid]
    assert common and sum(taken) == len(common), (sum(taken), len(common))


@pytest.mark.parametrize("path", FIXTURE_FILES + STD_FILES, ids=lambda path: path.name)
def test_every_test_binlog_reads_the_same_both_ways(path: Path) -> None:
    data = path.read_bytes()
    outcome = _same_both_ways(data, path.name)
    _same_both_ways(data, path.name, verify=False)
    if outcome.records:
        middle = outcome.records[len(outcome.records) // 2]
        _same_both_ways(data, path.name, start=middle.start_pos)


def test_a_mysql_file_reads_the_same_both_ways() -> None:
    outcome = _same_both_ways(MYSQL, "binlog.000001")
    assert len(outcome.records) == 40
    assert outcome.records[0].gtid == "3e11fa47-71ca-11e1-9e33-c80aa9429562:1"
    assert outcome.records[0].statements == ("INSERT INTO orders VALUES (...)",)
    assert [t.kind for t in outcome.records[8:10]] == ["dml", "ddl"]


@pytest.mark.parametrize("path", BENCH_FILES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_the_benchmark_files_read_the_same_both_ways(path: Path) -> None:
    outcome = _same_both_ways(path.read_bytes(), path.name)
    assert outcome.error is None


def _event_spans(data: bytes) -> list[tuple[int, int, int]]:
    """(type, start, end) of each event from offset 4, as far as the sizes hold."""
    spans = []
    pos = 4
    while pos + 19 <= len(data):
        size = int.from_bytes(data[pos + 9 : pos + 13], "little")
        if size < 19 or pos + size > len(data):
            break
        spans.append((data[pos + 4], pos, pos + size))
        pos += size
    return spans


def _damaged(data: bytes, rng: random.Random) -> tuple[bytes, bool]:
    """One seeded damage, and whether to verify checksums while reading it."""
    spans = _event_spans(data)
    wanted = rng.choice(
        [None, ev.TABLE_MAP_EVENT, ev.WRITE_ROWS_EVENT_V1, ev.UPDATE_ROWS_EVENT_V1, ev.GTID_EVENT]
    )
    chosen = [s for s in spans if s[0] == wanted] or spans
    kind = rng.randrange(4)
    if kind == 0:  # a truncation
        return data[: rng.randrange(4, len(data))], True
    damaged = bytearray(data)
    _type, start, end = rng.choice(chosen)
    for _ in range(rng.randint(1, 4)):
        # Mostly inside the body (counts, bitmaps, lengths), sometimes in the header.
        at = (
            rng.randrange(start + 19, end)
            if kind < 3 and end > start + 19
            else rng.randrange(start, end)
        )
        damaged[at] = rng.randrange(256) if kind != 2 else damaged[at] ^ (1 << rng.randrange(8))
    return bytes(damaged), rng.random() < 0.2


def test_damaged_files_read_the_same_both_ways() -> None:
    rng = random.Random(SEED)
    sources = [(p.name, p.read_bytes()) for p in FIXTURE_FILES] + [("binlog.000001", MYSQL)]
    sources += [(p.name, p.read_bytes()) for p in STD_FILES if p.stat().st_size < 2_000_000]
    errors = 0
    for case in range(CASES * 4):
        name, data = sources[case % len(sources)]
        damaged, verify = _damaged(data, rng)
        try:
            outcome = _same_both_ways(damaged, name, verify=verify)
        except AssertionError as exc:
            raise AssertionError(f"case {case} of seed {SEED} ({name})") from exc
        errors += outcome.error is not None
    assert errors  # the damage reached the readers' checks, not only bytes nobody reads


def _fixed(index: int, size: int, nullable: bool = False) -> Column:
    return Column(index, 3, 0, nullable, size, 0)


def _variable(index: int, prefix: int, nullable: bool = False) -> Column:
    return Column(index, 15, 0, nullable, None, prefix)


SHAPES = [
    [_fixed(0, 4)],
    [_fixed(0, 4), _variable(1, 1), _variable(2, 2, nullable=True)],
    [_fixed(0, 8, nullable=True), _variable(1, 4, nullable=True), _variable(2, 3)],
    [_variable(i, 1, nullable=i % 2 == 0) for i in range(11)],
]


@pytest.mark.parametrize("shape", range(len(SHAPES)))
@pytest.mark.parametrize("update", [False, True])
def test_row_plans_count_what_generated_counters_count(shape: int, update: bool) -> None:
    columns = SHAPES[shape]
    rng = random.Random(SEED + shape)
    with reading_with("pure"):
        generated = build_row_counter(columns, columns if update else None)
    with reading_with("compiled"):
        planned = build_row_counter(columns, columns if update else None)
    assert type(planned).__name__ == "RowPlan"
    for _ in range(max(200, CASES * 5)):
        data = bytes(
            rng.randrange(256) if rng.random() < 0.5 else rng.randrange(4)
            for _ in range(rng.randrange(0, 60))
        )
        start = rng.randrange(0, len(data) + 1)
        try:
            want = generated(data, start, len(data))
        except (IndexError, ValueError, struct.error):  # what _count_rows takes as no count
            want = None
        got = planned(data, start, len(data))
        if want is None or want[1] != len(data):
            assert got[1] != len(data), (data.hex(), start)  # both: no count
        else:
            assert got == want, (data.hex(), start)


def test_without_the_compiled_module_the_scan_reads_the_same(tmp_path: Path) -> None:
    # What an install without a C compiler has: no drkit.binlog._scanner at all.
    script = tmp_path / "without.py"
    script.write_text(
        "import json, sys\n"
        "sys.modules['drkit.binlog._scanner'] = None  # its import now raises ImportError\n"
        "from drkit.binlog import compiled, scan_file\n"
        "records = [t._asdict() for t in scan_file(sys.argv[1])]\n"
        "print(json.dumps({'available': compiled.available(), 'records': records}, default=sorted))\n"
    )
    result = subprocess.run(
        [sys.executable, str(script), str(FIXTURE_FILES[0])],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    found = json.loads(result.stdout)
    assert found["available"] is False
    with reading_with("compiled"):
        expected = [t._asdict() for t in scan_module.scan_file(FIXTURE_FILES[0])]
    assert found["records"] == json.loads(json.dumps(expected, default=sorted))


# A hostile reader's findings (branch creview): each test below failed before its fix.


def test_an_abandoned_scan_is_collected_with_its_mapping() -> None:
    # The walker holds the scan's bound method and the scan's suspended generator holds the
    # walker: a cycle the collector must see through, or the scan, its mmap and its file
    # descriptor stay for the life of the process (a caller that stops early: an exception out
    # of its loop, a next() for one record).
    with reading_with("compiled"):
        scan = scan_module.scan_file(FIXTURE_FILES[0])
        first = next(scan)
    assert first.gtid
    gone = weakref.ref(scan)
    del scan
    gc.collect()
    assert gone() is None


def _walker(data: bytes, name: str, **changes: object) -> tuple[Walker, list[Transaction]]:
    """A compiled walker over data as BinlogScan makes one (its table maps already parsed, by a
    first scan), with some of its arguments changed; and what that first scan read."""
    from drkit.binlog._scanner import Walker  # here, not at import: it may not be built

    with reading_with("compiled"):
        scan = scan_module.scan_bytes(data, name)
        records = list(scan)
    fmt = scan.format
    assert fmt is not None
    arguments: dict[str, object] = {
        "file": name,
        "by_id": {},
        "by_body": scan._tables.by_body,
        "transaction": Transaction,
        "table_change": TableChange,
        "no_flags": frozenset(),
        "uncounted_flags": frozenset({ROWS_UNCOUNTED}),
        "dml": DML,
        "other": OTHER,
        "mariadb": fmt.mariadb,
        "post_header_lens": fmt.post_header_lens,
        "header_len": fmt.header_len,
        "crc_len": fmt.checksum_len,
        "mysql_gtids": not fmt.never_writes(ev.GTID_LOG_EVENT),
        "begin_probe": scan._plain_begin,
    }
    arguments.update(changes)
    return Walker(**arguments), records  # type: ignore[arg-type]  # checked by Walker itself


def test_a_walker_asked_to_verify_checksums_a_format_without_reads_no_checksum() -> None:
    # Before: the 4 bytes after each event (the next event's, or past the buffer's end for the
    # last one) were read as its checksum, and the walk stopped at the first transaction.
    w = BinlogWriter(checksum=False)
    for number in range(1, 4):
        w.event(ev.GTID_LOG_EVENT, gtid_body(number))
        w.event(ev.QUERY_EVENT, query_body("BEGIN"))
        w.event(ev.TABLE_MAP_EVENT, table_map_body())
        w.event(ev.WRITE_ROWS_EVENT, rows_body(row(number, "n", None)))
        w.event(ev.XID_EVENT, struct.pack("<Q", number))
    data = w.bytes()
    walker, records = _walker(data, "binlog.000001")
    assert len(records) == 3
    found, pos, _events = walker.run(data, records[0].start_pos, True, False)
    assert found == records
    assert pos == len(data)


@pytest.mark.parametrize("header_len", [256, 2**31 - 1])
def test_a_walker_refuses_a_header_longer_than_a_format_can_declare(header_len: int) -> None:
    # Before: accepted, and `header_len + crc_len` overflowed an int for the largest.
    with pytest.raises(ValueError, match="does not take"):
        _walker(MYSQL, "binlog.000001", header_len=header_len)


def _warm_outcome(
    data: bytes, warm: bytes, name: str, mode: str, *, verify: bool, start: int | None = None
) -> ScanOutcome:
    """Scan data as `mode` reads it, with table maps and row shapes already known from `warm`:
    the compiled walk then takes every transaction it can, damaged or not (a cold scan hands
    each first table map and row shape to Python)."""
    with reading_with(mode):
        cache = scan_module.TableMapCache()
        list(scan_module.BinlogScan(name, lambda: nullcontext(warm), None, False, cache))
        scan = scan_module.BinlogScan(name, lambda: nullcontext(data), start, verify, cache)
        records: list[Transaction] = []
        error = None
        try:
            records.extend(scan)
        except BinlogFormatError as exc:
            error = f"{exc} (hint: {exc.hint})"
    return ScanOutcome(
        records,
        scan.position,
        scan.finished,
        scan.next_file,
        scan.stop_reason,
        scan.events,
        scan.abandoned,
        error,
    )


def _as_relay_log(data: bytes) -> bytes:
    """The file with its format description's end position zeroed (checksum redone): the scan
    then takes it for a relay log and no longer checks each event's end against its header,
    so a damaged event size reaches the walks unchecked."""
    size = int.from_bytes(data[4 + 9 : 4 + 13], "little")
    fde = bytearray(data[4 : 4 + size])
    fde[13:17] = bytes(4)
    fde[-4:] = zlib.crc32(fde[:-4]).to_bytes(4, "little")
    return data[:4] + bytes(fde) + data[4 + size :]


def _header_damage(data: bytes, rng: random.Random) -> bytes:
    """An event's size, type or end position replaced: small, large, or one bit off."""
    _type, start, _end = rng.choice(_event_spans(data)[1:])
    damaged = bytearray(data)
    field = rng.choice([(9, 4), (4, 1), (13, 4)])
    at, width = start + field[0], field[1]
    old = int.from_bytes(damaged[at : at + width], "little")
    new = rng.choice(
        [
            rng.randrange(0, 40),
            rng.randrange(2 ** (8 * width)),
            old ^ (1 << rng.randrange(8 * width)),
        ]
    )
    damaged[at : at + width] = (new % 2 ** (8 * width)).to_bytes(width, "little")
    return bytes(damaged)


@pytest.mark.parametrize("positions", ["own", "relay"])
def test_damaged_files_read_the_same_both_ways_with_table_maps_known(positions: str) -> None:
    rng = random.Random(SEED + (positions == "relay"))
    sources = [(p.name, p.read_bytes()) for p in FIXTURE_FILES] + [("binlog.000001", MYSQL)]
    if positions == "relay":
        sources = [(name, _as_relay_log(data)) for name, data in sources]
    errors = 0
    for case in range(CASES * 2):
        name, data = sources[case % len(sources)]
        if rng.random() < 0.4:
            damaged, verify = _header_damage(data, rng), False
        else:
            damaged, verify = _damaged(data, rng)
        pure = _warm_outcome(damaged, data, name, "pure", verify=verify)
        compiled = _warm_outcome(damaged, data, name, "compiled", verify=verify)
        assert compiled == pure, f"case {case} of seed {SEED} ({name}, {positions})"
        errors += pure.error is not None
    assert errors  # the damage reached the readers' checks


def test_records_made_by_the_compiled_walk_hash_as_python_makes_them() -> None:
    # Python 3.14 caches a tuple's hash in the tuple (-1 until computed); the compiled walk
    # allocates its named tuples itself, so it must leave that cache unset, or every record
    # it made would hash to 0 and sets of records would hold duplicates.
    pure = scan_outcome(MYSQL, "binlog.000001", "pure").records
    compiled = _warm_outcome(MYSQL, MYSQL, "binlog.000001", "compiled", verify=True).records
    assert compiled == pure
    assert [hash(t) for t in compiled] == [hash(t) for t in pure]
    assert [hash(c) for t in compiled for c in t.tables] == [
        hash(c) for t in pure for c in t.tables
    ]
    assert len(set(compiled) | set(pure)) == len(pure)


def test_a_walker_refuses_record_classes_of_other_fields() -> None:
    # Before: accepted, and the walk made 13-item Transactions of a class declaring 14 fields
    # (reading the 14th raised IndexError far from here). Refused, the scan reads alone.
    longer = NamedTuple("Longer", [(name, object) for name in (*Transaction._fields, "more")])
    shorter = NamedTuple("Shorter", [(name, object) for name in TableChange._fields[:-1]])
    with pytest.raises(ValueError, match="does not fill"):
        _walker(MYSQL, "binlog.000001", transaction=longer)
    with pytest.raises(ValueError, match="does not fill"):
        _walker(MYSQL, "binlog.000001", table_change=shorter)
    with pytest.raises(TypeError, match="named tuples"):
        _walker(MYSQL, "binlog.000001", transaction=tuple)


@pytest.mark.parametrize("source", ["mariadb", "mysql"])
def test_a_scan_started_inside_an_event_reads_the_same_both_ways(source: str) -> None:
    # A wrong start position (an operator's, or a damaged checkpoint's) puts the walks on bytes
    # that are no header: sizes, types and lengths all arbitrary.
    if source == "mysql":
        name, data = "binlog.000001", MYSQL
    else:
        name, data = FIXTURE_FILES[0].name, FIXTURE_FILES[0].read_bytes()
    rng = random.Random(SEED)
    for _ in range(CASES):
        start = rng.randrange(5, len(data))
        verify = rng.random() < 0.5
        pure = _warm_outcome(data, data, name, "pure", verify=verify, start=start)
        compiled = _warm_outcome(data, data, name, "compiled", verify=verify, start=start)
        assert compiled == pure, (start, verify)
