"""Seeded random truncations and byte corruptions of binlog files without checksums (the test
suite's old files, and the MariaDB 10.11 fixture read without checking its CRCs, as decode_rows
always reads): the reader must end, within a time bound per file, in

- for a truncation: the records of the whole file up to where it was cut, identical, and a
  clean stop ("partial event", "unfinished transaction");
- for a corruption: records, or a BinlogFormatError naming an offset; every record that ends
  before the first damaged byte identical to the undamaged file's; and no record at or after
  an event holding a damaged byte that `mariadb-binlog` calls invalid (but an Incident event,
  which drkit flags as a critical record whatever its number, and files whose format
  description is damaged too, after which the tool reads everything its own way);

never a hang and never another exception. `make test` runs a few seconds of it;
DRKIT_FUZZ_CASES, DRKIT_FUZZ_SECONDS and DRKIT_FUZZ_SEED run more (a failure prints its seed).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from drkit.binlog import BinlogFormatError, Transaction, scan_bytes
from drkit.binlog import transaction as tx
from drkit.binlog.rows import decode_rows_bytes
from tests.support.binlog_oracle import run_mariadb_binlog
from tests.support.scan_modes import scan_mode  # noqa: F401 - a fixture: each test runs on both walks
from tests.support.std_data import MISSING, STD_DATA, std_file

pytestmark = [
    pytest.mark.usefixtures("scan_mode"),
    pytest.mark.integration,
    pytest.mark.skipif(not STD_DATA.is_dir(), reason=MISSING),
]

CASES = int(os.environ.get("DRKIT_FUZZ_CASES", "120"))
SECONDS = float(os.environ.get("DRKIT_FUZZ_SECONDS", "4"))
SEED = int(os.environ.get("DRKIT_FUZZ_SEED", "15"))
PER_FILE_BOUND = 2.0  # seconds for one scan of one damaged file and the decoding of its rows

CHECKSUMLESS = [
    "mariadb-5.5-binlog.000001",
    "ver_5_1_23.001",
    "ver_trunk_row_v2.001",
    "update-full-row.binlog",
    "write-partial-row.binlog",
    "bug33029-slave-relay-bin.000001",
    "binlog_transaction.000001",
    "bug16266.000001",
    "mdev-4645-binlog_group_id.binlog",
    "mdev6020-mysql-bin.000001",
]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "binlog"
TOOL = shutil.which("mariadb-binlog")


@dataclass(frozen=True)
class Outcome:
    records: list[Transaction]
    error: str | None
    stop_reason: str


class Hang(Exception):
    pass


@contextmanager
def time_bound(seconds: float) -> Iterator[None]:
    def expire(_signum: int, _frame: object) -> None:
        raise Hang(f"no end after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def read(data: bytes, name: str) -> Outcome:
    """Scan without checksums, then decode every record's rows: what a damaged file gives."""
    scan = scan_bytes(data, name, verify_checksums=False)
    records: list[Transaction] = []
    try:
        records.extend(scan)
    except BinlogFormatError as exc:
        return Outcome(records, str(exc), "error")
    for record in records:
        if record.row_events:
            try:
                decode_rows_bytes(data, record.row_events, name)
            except BinlogFormatError as exc:
                assert re.search(r"offset \d+", str(exc)), str(exc)
    return Outcome(records, None, scan.stop_reason)


def tool_refuses(data: bytes, folder: Path) -> int | None:
    """The offset of the event mariadb-binlog calls invalid in these bytes, if any."""
    path = folder / "damaged.bin"
    path.write_bytes(data)
    result = run_mariadb_binlog([str(path)])
    found = re.search(rb"Could not read entry at offset (\d+)", result.stderr)
    return int(found.group(1)) if found else None


def _sources() -> list[tuple[str, bytes, bool]]:
    """(name, bytes, has CRCs the tool would check) of every file fuzzed."""
    sources = [(name, std_file(name).read_bytes(), False) for name in CHECKSUMLESS]
    sources += [(p.name, p.read_bytes(), True) for p in sorted(FIXTURES.glob("bin.0*"))]
    return sources


def _event_at(data: bytes, offset: int) -> tuple[int, int] | None:
    """The (start, end) of the event holding `offset`, following the sizes from offset 4."""
    pos = 4
    while pos + 19 <= len(data):
        size = int.from_bytes(data[pos + 9 : pos + 13], "little")
        if size < 19:
            return None
        if pos <= offset < pos + size:
            return pos, pos + size
        pos += size
    return None


def test_truncated_files_give_the_whole_files_records_up_to_the_cut() -> None:
    rng = random.Random(SEED)
    deadline = time.monotonic() + SECONDS / 2
    cases = 0
    for name, data, _crc in _sources():
        whole = read(data, name)
        assert whole.error is None, whole.error
        cuts = sorted(rng.sample(range(4, len(data)), min(len(data) - 4, max(3, CASES // 12))))
        for cut in cuts:
            if time.monotonic() > deadline and cases >= len(_sources()):
                break
            cases += 1
            with time_bound(PER_FILE_BOUND):
                part = read(data[:cut], name)
            context = f"seed {SEED}: {name} cut at {cut}"
            assert part.error is None, context
            expected = [t for t in whole.records if t.end_pos <= cut]
            assert part.records == expected, context
            assert part.stop_reason in ("partial event", "unfinished transaction", "end of file")
    assert cases >= len(_sources())


def test_corrupted_files_give_records_or_an_error_naming_the_offset(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    sources = _sources()
    wholes = {name: read(data, name) for name, data, _crc in sources}
    deadline = time.monotonic() + SECONDS
    for case in range(CASES):
        if time.monotonic() > deadline and case >= 20:
            break
        name, data, crc = rng.choice(sources)
        damaged = bytearray(data)
        offsets = sorted(rng.randrange(4, len(data)) for _ in range(rng.randint(1, 3)))
        for offset in offsets:
            damaged[offset] = rng.randrange(256)
        context = (
            f"seed {SEED}, case {case}: {name} bytes {offsets} -> {[damaged[o] for o in offsets]}"
        )
        started = time.monotonic()
        try:
            with time_bound(PER_FILE_BOUND):
                outcome = read(bytes(damaged), name)
        except Hang:
            pytest.fail(f"{context}: the reader did not end")
        except Exception as exc:  # the point: nothing else may come out
            pytest.fail(f"{context}: {type(exc).__name__}: {exc}")
        assert time.monotonic() - started < PER_FILE_BOUND, context
        if outcome.error is not None:
            assert re.search(r"offset \d+", outcome.error), f"{context}: {outcome.error}"
        whole = wholes[name].records
        intact = [t for t in whole if t.end_pos <= offsets[0]]
        assert outcome.records[: len(intact)] == intact, context
        if TOOL is None or crc:
            continue
        refused = tool_refuses(bytes(damaged), tmp_path)
        event = _event_at(bytes(damaged), refused) if refused is not None else None
        if event is None or not any(event[0] <= o < event[1] for o in offsets):
            continue  # no refusal, or one of an event not damaged itself (the tool's own view)
        if offsets[0] < 4 + int.from_bytes(damaged[13:17], "little"):
            continue  # a damaged format description: the tool reads what follows its own way
        late = [t for t in outcome.records if t.end_pos > event[0]]
        if late and late[0].start_pos == event[0] and late[0].kind == tx.INCIDENT:
            continue  # an Incident event the tool cannot read: drkit flags it, loudly
        assert not late, (
            f"{context}: the tool refuses the event at {event[0]}, drkit read {late[0]}"
        )
