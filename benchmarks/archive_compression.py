"""Compressing the archive (`[retention] compress = "zstd"`): ratio and cost on a sysbench-like binlog.

A sandbox primary runs sysbench's oltp_write_only transactions in a server-side loop (per
transaction: an UPDATE of the indexed column k, an UPDATE of the char(120) column c with
sysbench's digit groups, a DELETE and an INSERT of one row; binlog_row_image=FULL), then the
binlog files are copied aside. On those files, in this process:
  - compression: the bytes kept (compressed / original) and the time to compress, against the
    baseline of copying the same files (what archiving costs without compression);
  - full read: scanning every transaction (what `index --rebuild` does), compressed against plain;
  - random access: decoding one transaction's row images (what flashback, history and asof do
    per transaction), for --samples random transactions, compressed against plain: in a row (a
    file's frames stay decompressed for the next read) and each cold.

    python benchmarks/archive_compression.py [--transactions 20000] [--level 3]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.sandbox_sql import connect, one  # noqa: E402
from drkit import compression  # noqa: E402
from drkit.binlog import scan_file  # noqa: E402
from drkit.binlog.rows import decode_rows  # noqa: E402
from drkit.sandbox import topology  # noqa: E402
from drkit.sandbox.state import load_state  # noqa: E402

ROWS = 10_000
# sysbench's c: eleven groups of eleven digits; pad: five groups.
_DIGITS = "LPAD(FLOOR(RAND() * 99999999999), 11, '0')"
C_VALUE = f"CONCAT_WS('-', {', '.join([_DIGITS] * 10)})"
PAD_VALUE = f"CONCAT_WS('-', {', '.join([_DIGITS] * 5)})"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--transactions", type=int, default=20_000)
    parser.add_argument("--level", type=int, default=compression.DEFAULT_LEVEL)
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="drkit-bench-compress-"))
    directory = work / "sandbox"
    topology.up(directory, delay=3600)
    state = load_state(directory / "sandbox.json")
    assert state is not None
    try:
        files = _workload(state, directory, work, args.transactions)
        _measure(files, work, args.level, args.samples)
    finally:
        topology.down(directory, purge=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _workload(state: object, directory: Path, work: Path, transactions: int) -> list[Path]:
    primary = connect(state, "primary")
    started = time.monotonic()
    for sql in (
        "CREATE DATABASE sbtest",
        "CREATE TABLE sbtest.sbtest1 (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, "
        "k INT NOT NULL DEFAULT 0, c CHAR(120) NOT NULL DEFAULT '', "
        "pad CHAR(60) NOT NULL DEFAULT '', KEY k_1 (k))",
        f"INSERT INTO sbtest.sbtest1 (id, k, c, pad) SELECT seq, FLOOR(RAND() * {ROWS}), "
        f"{C_VALUE}, {PAD_VALUE} FROM sbtest.seq_1_to_{ROWS}",
        "BEGIN NOT ATOMIC DECLARE r INT; "
        f"FOR i IN 1..{transactions} DO "
        f"  SET r = 1 + FLOOR(RAND() * {ROWS}); "
        "  START TRANSACTION; "
        "  UPDATE sbtest.sbtest1 SET k = k + 1 WHERE id = r; "
        f"  UPDATE sbtest.sbtest1 SET c = {C_VALUE} WHERE id = 1 + (r * 7) MOD {ROWS}; "
        "  DELETE FROM sbtest.sbtest1 WHERE id = r; "
        f"  INSERT INTO sbtest.sbtest1 (id, k, c, pad) VALUES (r, FLOOR(RAND() * {ROWS}), "
        f"  {C_VALUE}, {PAD_VALUE}); "
        "  COMMIT; "
        "END FOR; END",
        "FLUSH BINARY LOGS",
    ):
        one(primary, sql)
    names = [str(row[0]) for row in _all(primary, "SHOW BINARY LOGS")][:-1]
    datadir = Path(str(one(primary, "SELECT @@datadir AS d")["d"]))  # type: ignore[index]
    primary.close()
    print(f"workload: {transactions} transactions in {time.monotonic() - started:.1f}s")
    source = work / "source"
    source.mkdir()
    files = []
    for name in names:
        shutil.copyfile(datadir / name, source / name)
        files.append(source / name)
    return files


def _all(conn: object, sql: str) -> list[tuple[object, ...]]:
    cur = conn.cursor()  # type: ignore[attr-defined]
    cur.execute(sql)
    found = list(cur.fetchall())
    cur.close()
    return found


def _measure(files: list[Path], work: Path, level: int, samples: int) -> None:
    plain = work / "plain"
    packed = work / "packed"
    for folder in (plain, packed):
        folder.mkdir()
    total = sum(path.stat().st_size for path in files)

    started = time.perf_counter()
    for path in files:
        shutil.copyfile(path, plain / path.name)
        _sync(plain / path.name)
    copy_seconds = time.perf_counter() - started
    for path in files:
        shutil.copyfile(path, packed / path.name)
    started = time.perf_counter()
    stored = sum(compression.compress_file(packed / path.name, level)[1] for path in files)
    compress_seconds = time.perf_counter() - started

    scan_plain, count = _scan_all(plain, files)
    scan_packed, count_packed = _scan_all(packed, files)
    assert count == count_packed, "the compressed archive holds the same transactions"

    chosen = _sample(plain, files, samples)
    plain_times = _decode_each(plain, chosen)
    packed_times = _decode_each(packed, chosen)
    cold_times = _decode_each(packed, chosen, cold=True)

    mb = total / 1e6
    print(f"binlog: {len(files)} files, {mb:.1f} MB, {count} transactions; zstd level {level}")
    print(
        f"size: {stored / 1e6:.1f} MB compressed; kept {stored / total:.3f} of the bytes "
        f"(ratio {total / stored:.1f}:1)"
    )
    print(
        f"compress: {compress_seconds:.2f}s ({mb / compress_seconds:.0f} MB/s); "
        f"baseline copy {copy_seconds:.2f}s; ratio {compress_seconds / copy_seconds:.1f}x"
    )
    print(
        f"full scan: compressed {scan_packed:.2f}s, plain {scan_plain:.2f}s; "
        f"ratio {scan_packed / scan_plain:.2f}x"
    )
    p50_plain, p50_packed = statistics.median(plain_times), statistics.median(packed_times)
    p95_plain = _p95(plain_times)
    p95_packed = _p95(packed_times)
    print(
        f"one transaction's row images ({len(chosen)} samples): compressed p50 "
        f"{p50_packed * 1e3:.2f} ms p95 {p95_packed * 1e3:.2f} ms, plain p50 "
        f"{p50_plain * 1e3:.2f} ms p95 {p95_plain * 1e3:.2f} ms; ratio p50 "
        f"{p50_packed / p50_plain:.1f}x"
    )
    p50_cold = statistics.median(cold_times)
    print(
        f"the same, each read cold (its frames not decompressed yet): p50 {p50_cold * 1e3:.2f} ms "
        f"p95 {_p95(cold_times) * 1e3:.2f} ms; ratio p50 {p50_cold / p50_plain:.1f}x"
    )


def _sync(path: Path) -> None:
    # compress_file syncs what it writes: so does the baseline.
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


def _scan_all(folder: Path, files: list[Path]) -> tuple[float, int]:
    started = time.perf_counter()
    count = sum(1 for path in files for _ in scan_file(folder / path.name))
    return time.perf_counter() - started, count


def _sample(folder: Path, files: list[Path], samples: int) -> list[tuple[str, tuple]]:
    every = [
        (path.name, t.row_events)
        for path in files
        for t in scan_file(folder / path.name)
        if t.row_events
    ]
    return random.Random(19).sample(every, min(samples, len(every)))


def _decode_each(folder: Path, chosen: list[tuple[str, tuple]], cold: bool = False) -> list[float]:
    times = []
    for name, offsets in chosen:
        if cold:
            compression.drop_cached_frames()
        started = time.perf_counter()
        rows = decode_rows(folder / name, offsets)
        times.append(time.perf_counter() - started)
        assert rows, "every sampled transaction has row images"
    return times


def _p95(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.95) - 1]


if __name__ == "__main__":
    raise SystemExit(main())
