"""The index's write cost alone: IndexStore.append_rows over the rows of real binlog files.

The files are scanned, classified and laid out once (Recorder.rows over batches of the
indexer's size); then only the writes are timed, into a fresh index each time, under each
variant of the index's SQLite settings, interleaved round by round with the current settings
(the baseline) in the same run. Each variant's index is compared table by table with the
baseline's: a variant that stores different rows is reported, not timed.

    python benchmarks/index_write.py --files /work/bench/files/mysql-bin.* [--repeat R]
                                     [--variant NAME ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from drkit.binlog import scan_file  # noqa: E402
from drkit.classify import ClassifyRules  # noqa: E402
from drkit.index.indexer import BATCH  # noqa: E402
from drkit.index.layout import FindingRow, TableRow, TransactionRow  # noqa: E402
from drkit.index.recording import Recorder, scanned  # noqa: E402
from drkit.index.schema import DEFERRED_INDEXES  # noqa: E402
from drkit.index.store import IndexStore  # noqa: E402
from drkit.model.coords import BinlogCoord  # noqa: E402

SMALLEST_BATCH = 500  # rows are laid out in batches of this size; larger batches join them


@dataclasses.dataclass(frozen=True)
class Batch:
    rows: list[TransactionRow]
    table_rows: list[TableRow]
    finding_rows: list[FindingRow]
    checkpoint: BinlogCoord


@dataclasses.dataclass(frozen=True)
class Variant:
    """One way of writing the index: its page size, PRAGMAs set after IndexStore opens it, the
    batch size, and whether the batches go through IndexStore.bulk_load()."""

    name: str
    batch: int = BATCH
    pragmas: tuple[str, ...] = ()
    page_size: int = 4096  # set before the file is created (main's index: SQLite's default)
    bulk: bool = False
    limit: int | None = None  # only the first transactions (small commits: following)
    baseline: str = "main's settings (baseline)"  # the variant this one is compared to


FOLLOWING = "commits of 10, 4096 (baseline)"
VARIANTS = (
    Variant("main's settings (baseline)"),
    Variant("batch 500", batch=500),
    Variant("batch 10000", batch=10_000),
    Variant("wal_autocheckpoint 4000", pragmas=("PRAGMA wal_autocheckpoint = 4000",)),
    Variant("synchronous OFF", pragmas=("PRAGMA synchronous = OFF",)),
    Variant("page_size 8192", page_size=8192),
    Variant("page_size 16384", page_size=16384),
    Variant("page_size 65536", page_size=65536),
    Variant(
        "deferred indexes never built",
        pragmas=tuple(f"DROP INDEX {name}" for name in DEFERRED_INDEXES),
    ),
    Variant("bulk_load(), 4096", bulk=True),
    Variant("bulk_load(), 8192", bulk=True, page_size=8192),
    Variant("bulk_load(), 16384", bulk=True, page_size=16384),
    Variant("bulk_load(), 65536", bulk=True, page_size=65536),
    Variant(FOLLOWING, batch=10, limit=20_000, baseline=FOLLOWING),
    Variant("commits of 10, 8192", batch=10, limit=20_000, page_size=8192, baseline=FOLLOWING),
    Variant("commits of 10, 16384", batch=10, limit=20_000, page_size=16384, baseline=FOLLOWING),
    Variant("commits of 10, 65536", batch=10, limit=20_000, page_size=65536, baseline=FOLLOWING),
)
BASELINES = {VARIANTS[0].name, FOLLOWING}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", nargs="+", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--variant", action="append", help="only these (the baseline always)")
    args = parser.parse_args()
    chosen = [
        v
        for v in VARIANTS
        if v.name in BASELINES or not args.variant or any(w in v.name for w in args.variant)
    ]
    started = time.perf_counter()
    pieces = laid_out(sorted(args.files))
    count = sum(len(piece.rows) for piece in pieces)
    print(
        f"laid out {count} transactions of {len(args.files)} files in "
        f"{time.perf_counter() - started:.1f} s (not timed below)"
    )
    runs: dict[str, list[Timing]] = {v.name: [] for v in chosen}
    expected: dict[int | None, str] = {}
    with tempfile.TemporaryDirectory(prefix="drkit-bench-write-") as tmp:
        for round_number in range(args.repeat):
            for number, variant in enumerate(chosen):
                path = Path(tmp) / f"{round_number}-{number}-index.db"
                timing = write(path, pieces, variant)
                digest = table_digest(path)
                if variant.name in BASELINES:
                    expected.setdefault(variant.limit, digest)
                if digest != expected[variant.limit]:
                    print(f"!! {variant.name}: the index's rows differ from its baseline's")
                runs[variant.name].append(timing)
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
    print(f"append_rows over {count} transactions; best of {args.repeat}")
    for variant in chosen:
        timings = runs[variant.name]
        best = min(timings, key=lambda t: t.wall)
        base_runs = runs[variant.baseline]
        base = min(base_runs, key=lambda t: t.wall)
        rounds = " ".join(f"{b.wall / t.wall:.2f}" for b, t in zip(base_runs, timings, strict=True))
        written = variant.limit or count
        print(
            f"{variant.name + ':':32}{best.wall:6.2f} s  cpu {best.cpu:5.2f} s  "
            f"{written / best.wall:7.0f} tx/s  {best.size_mb:6.1f} MB  "
            f"ratio {base.wall / best.wall:.2f} (rounds {rounds}; cpu {base.cpu / best.cpu:.2f})"
        )
    return 0


def laid_out(files: list[Path]) -> list[Batch]:
    """The rows of every transaction of the files, in batches of SMALLEST_BATCH."""
    recorder = Recorder(ClassifyRules())
    pieces: list[Batch] = []
    next_id = 1
    for path in files:
        batch = []
        for transaction in scan_file(path):
            batch.append(scanned(transaction))
            if len(batch) == SMALLEST_BATCH:
                pieces.append(_piece(recorder, batch, next_id, path, transaction.end_pos))
                next_id += len(batch)
                batch = []
        if batch:
            pieces.append(_piece(recorder, batch, next_id, path, batch[-1][3]))
            next_id += len(batch)
    return pieces


def _piece(recorder: Recorder, batch: list, first: int, path: Path, end: int) -> Batch:
    return Batch(*recorder.rows(batch, first), BinlogCoord(path.name, end))


def joined(pieces: list[Batch], size: int) -> Iterator[Batch]:
    """The pieces as batches of about `size` transactions (never across a file)."""
    group: list[Batch] = []
    for piece in pieces:
        if group and (
            group[-1].checkpoint.file != piece.checkpoint.file
            or sum(len(p.rows) for p in group) + len(piece.rows) > size
        ):
            yield _join(group)
            group = []
        group.append(piece)
    if group:
        yield _join(group)


def _first(pieces: list[Batch], limit: int | None) -> list[Batch]:
    """The pieces holding the first `limit` transactions (all of them without a limit)."""
    if limit is None:
        return pieces
    taken: list[Batch] = []
    for piece in pieces:
        if sum(len(p.rows) for p in taken) >= limit:
            break
        taken.append(piece)
    return taken


def _join(group: list[Batch]) -> Batch:
    if len(group) == 1:
        return group[0]
    return Batch(
        [row for p in group for row in p.rows],
        [row for p in group for row in p.table_rows],
        [row for p in group for row in p.finding_rows],
        group[-1].checkpoint,
    )


@dataclasses.dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float
    size_mb: float


def write(path: Path, pieces: list[Batch], variant: Variant) -> Timing:
    """Time opening a fresh index, every append_rows of the variant, and closing it."""
    taken = _first(pieces, variant.limit)
    if variant.batch < SMALLEST_BATCH:
        batches = [small for piece in taken for small in _split(piece, variant.batch)]
    else:
        batches = list(joined(taken, variant.batch))
    conn = sqlite3.connect(path)
    try:
        conn.execute(f"PRAGMA page_size = {variant.page_size}")
        conn.execute("VACUUM")  # an empty database of that page size: IndexStore keeps it
    finally:
        conn.close()
    wall, cpu = measured(lambda: _append_all(path, batches, variant))
    return Timing(wall, cpu, path.stat().st_size / 1e6)


def _split(piece: Batch, size: int) -> Iterator[Batch]:
    by_id: dict[int, list[TableRow]] = {}
    for row in piece.table_rows:
        by_id.setdefault(row[0], []).append(row)
    found: dict[int, list[FindingRow]] = {}
    for finding in piece.finding_rows:
        found.setdefault(finding[0], []).append(finding)
    for start in range(0, len(piece.rows), size):
        rows = piece.rows[start : start + size]
        ids = [row[0] for row in rows]
        yield Batch(
            rows,
            [t for i in ids for t in by_id.get(i, ())],
            [f for i in ids for f in found.get(i, ())],
            BinlogCoord(rows[-1][2], rows[-1][5]),
        )


def _append_all(path: Path, batches: list[Batch], variant: Variant) -> None:
    store = IndexStore(path)
    try:
        for pragma in variant.pragmas:
            store.conn.execute(pragma)
        if variant.bulk:
            with store.bulk_load():
                for b in batches:
                    store.append_rows(b.rows, b.table_rows, b.checkpoint, b.finding_rows)
        else:
            for b in batches:
                store.append_rows(b.rows, b.table_rows, b.checkpoint, b.finding_rows)
    finally:
        store.close()


def measured(work: Callable[[], object]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    work()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


KEYS = {
    "meta": "key",
    "transactions": "id",
    "transaction_tables": "tx_id, schema_name, table_name",
    "findings": "tx_id, seq",
}


def table_digest(path: Path) -> str:
    """A digest of every row of every table but the checkpoint's clock, in key order."""
    digest = hashlib.sha256()
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for table, key in KEYS.items():
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY {key}"):
                digest.update(repr(row).encode())
        digest.update(repr(conn.execute("SELECT file, pos FROM checkpoint").fetchall()).encode())
    finally:
        conn.close()
    return digest.hexdigest()


if __name__ == "__main__":
    sys.exit(main())
