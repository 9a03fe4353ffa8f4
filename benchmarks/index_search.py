"""Search latency on a big index: `drkit events --destructive --since` and `--table` queries.

Builds an index of --transactions (default 1,000,000) transactions through IndexStore.append: a
month of traffic ending now, 1 to 3 tables per transaction out of 60 with a skewed popularity, DDL
now and then, one destructive transaction in 2,000. Then times each query shape, --runs times:
  - the store query (IndexStore.search, what the TUI timeline calls),
  - the `drkit events` command path in-process (config, open, search, render; no interpreter start),
and prints p50/p95 per shape (target: p95 < 50 ms), and the ratio of each p95 to the baseline
measured in the same run: `SELECT COUNT(*) FROM transactions`, a full scan of the same table.

    python benchmarks/index_search.py [--transactions N] [--runs R] [--dir D]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from drkit.cli import cli  # noqa: E402
from drkit.index.records import Destructive, TableRows  # noqa: E402
from drkit.index.store import Filters, IndexStore, NewTransaction  # noqa: E402
from drkit.model.coords import BinlogCoord  # noqa: E402

SCHEMAS = ["shop", "crm", "billing", "auth", "stats"]
TABLES = [f"{schema}.t{n:02d}" for schema in SCHEMAS for n in range(12)]
HOT = ["shop.t00", "shop.t01", "crm.t00", "auth.t00"]  # most transactions touch one of these
DESTRUCTIVE_EVERY = 2000
CLASSES = [
    ("drop_table", "critical", "DROP TABLE removes {t} with all its rows"),
    ("truncate", "critical", "TRUNCATE removes every row of {t}"),
    ("delete_without_where", "critical", "DELETE without WHERE removes every row of {t}"),
    ("update_without_where", "high", "UPDATE without WHERE changes every row of {t}"),
    ("mass_delete", "high", "1500 rows deleted from {t} in one transaction (mass_rows is 1000)"),
    ("mass_update", "medium", "2000 rows updated in {t} in one transaction (mass_rows is 1000)"),
    ("alter_drop", "high", "ALTER TABLE {t} drops column note"),
    ("rename_table", "medium", "RENAME TABLE moves {t}"),
]
SPAN = 30 * 86400
FILE_SIZE = 256 * 1024 * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--dir", type=Path, help="keep the index here (reused when present)")
    args = parser.parse_args()
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
        return run(args.dir, args.transactions, args.runs)
    with tempfile.TemporaryDirectory(prefix="drkit-bench-search-") as tmp:
        return run(Path(tmp), args.transactions, args.runs)


def run(base: Path, transactions: int, runs: int) -> int:
    index = base / "index.db"
    config = base / "drkit.toml"
    config.write_text(
        '[index]\npath = "index.db"\narchive_dir = "binlogs"\n\n'
        '[nodes.primary]\nrole = "primary"\nhost = "127.0.0.1"\nport = 1\nuser = "nobody"\n'
        'password = ""\n'
    )
    now = time.time()
    if not index.exists():
        started = time.perf_counter()
        build(index, transactions, now)
        print(f"built {transactions} transactions in {time.perf_counter() - started:.1f}s")
    else:
        now = stored_end(index)
    size = sum(p.stat().st_size for p in base.glob("index.db*"))
    store = IndexStore(index, readonly=True)
    try:
        counted = store.count()
        destructive = len(store.search(Filters(destructive=True, limit=None)))
        print(f"index: {counted} transactions, {destructive} destructive, {size / 1e6:.0f} MB")
        counting = percentiles(store.count, max(10, runs // 10))
        print(f"SELECT COUNT(*) (SQLite counts the smallest index): p95 {ms(counting[1])}")
        baseline = percentiles(lambda: full_scan(store), max(10, runs // 10))
        print(
            "baseline, a full scan of the table (SELECT COUNT(*) ... WHERE kind <> ''): "
            f"p50 {ms(baseline[0])}  p95 {ms(baseline[1])}"
        )
        shapes = {
            "--destructive --since -2h": (
                Filters(destructive=True, since=now - 7200, limit=50),
                ["--destructive", "--since", "-2h"],
            ),
            "--destructive --since -7d": (
                Filters(destructive=True, since=now - 7 * 86400, limit=50),
                ["--destructive", "--since", "-7d"],
            ),
            "--table shop.t00 (hot)": (
                Filters(table="shop.t00", limit=50),
                ["--table", "shop.t00"],
            ),
            "--table stats.t11 (cold)": (
                Filters(table="stats.t11", limit=50),
                ["--table", "stats.t11"],
            ),
            "--table shop.t00 --since -2h": (
                Filters(table="shop.t00", since=now - 7200, limit=50),
                ["--table", "shop.t00", "--since", "-2h"],
            ),
            "--table 'shop.*'": (Filters(table="shop.*", limit=50), ["--table", "shop.*"]),
            "--table 'shop.*' --destructive": (
                Filters(table="shop.*", destructive=True, limit=50),
                ["--table", "shop.*", "--destructive"],
            ),
        }
        # Not a target shape: newest first before a time far back walks every newer row.
        shapes["(info) --until -20d"] = (
            Filters(until=now - 20 * 86400, limit=50),
            ["--until", "-20d"],
        )
        print(f"{'query':34}{'store p50':>11}{'p95':>9}{'command p50':>13}{'p95':>9}  p95/baseline")
        worst = 0.0
        for label, (filters, argv) in shapes.items():
            found = len(store.search(filters))
            query = percentiles(lambda f=filters: store.search(f), runs)  # type: ignore[misc]
            command = percentiles(lambda a=argv: events_command(config, a), runs)  # type: ignore[misc]
            if not label.startswith("(info)"):
                worst = max(worst, query[1], command[1])
            print(
                f"{label:34}{ms(query[0]):>11}{ms(query[1]):>9}{ms(command[0]):>13}"
                f"{ms(command[1]):>9}  {command[1] / baseline[1]:.2f}  ({found} rows)"
            )
        print(
            f"worst p95 of the target shapes: {ms(worst)} (target < 50 ms); ratio to the "
            "full-scan baseline: "
            f"{worst / baseline[1]:.2f}"
        )
    finally:
        store.close()
    return 0


def build(index: Path, transactions: int, now: float) -> None:
    """Append `transactions` realistic records, oldest first, ending at `now`."""
    rng = random.Random(42)
    store = IndexStore(index)
    try:
        first_ts = now - SPAN
        step = SPAN / transactions
        file_no, pos = 1, 4
        batch: list[NewTransaction] = []
        for n in range(1, transactions + 1):
            size = rng.randint(300, 3000)
            if pos + size > FILE_SIZE:
                file_no, pos = file_no + 1, 4
            file = f"mysql-bin.{file_no:06d}"
            batch.append(record(rng, n, file, pos, size, int(first_ts + n * step)))
            pos += size
            if len(batch) == 10_000:
                store.append(batch, BinlogCoord(file, pos))
                batch = []
        if batch:
            store.append(batch, BinlogCoord(file, pos))
        store.conn.execute("ANALYZE")
    finally:
        store.close()


def record(rng: random.Random, n: int, file: str, pos: int, size: int, ts: int) -> NewTransaction:
    if n % DESTRUCTIVE_EVERY == 0:
        table = rng.choice(TABLES)
        category, severity, reason = rng.choice(CLASSES)
        kind = "dml" if category.startswith(("delete", "update", "mass")) else "ddl"
        rows = TableRows(table, deletes=1500) if kind == "dml" else TableRows(table)
        return NewTransaction(
            gtid=f"0-1-{n}",
            file=file,
            start_pos=pos,
            end_pos=pos + size,
            timestamp=ts,
            server_id=1,
            kind=kind,
            tables=(rows,),
            statement=f"-- destructive statement on {table}",
            destructive=Destructive(category, severity, reason.format(t=table)),
        )
    if n % 500 == 0:
        table = rng.choice(TABLES)
        return NewTransaction(
            f"0-1-{n}", file, pos, pos + size, ts, 1, "ddl", (TableRows(table),),
            f"ALTER TABLE {table} ADD INDEX (c{n % 7})", None,
        )  # fmt: skip
    count = rng.choice((1, 1, 1, 2, 2, 3))
    names = {rng.choice(HOT) if rng.random() < 0.5 else rng.choice(TABLES) for _ in range(count)}
    tables = tuple(
        TableRows(name, rng.randint(0, 3), rng.randint(0, 2), rng.randint(0, 1)) for name in names
    )
    statement = "; ".join(
        f"UPDATE {name} SET status = 'paid', note = 'n{n}' WHERE id = {n}" for name in names
    )
    events = tuple((pos + 40 + 60 * k, pos + 100 + 60 * k) for k in range(2 * len(names)))
    return NewTransaction(
        f"0-1-{n}", file, pos, pos + size, ts, 1, "dml", tables, statement, None, events
    )


def events_command(config: Path, argv: list[str]) -> None:
    """`drkit events` as the console script runs it, minus the interpreter start."""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        cli.main(
            args=["--config", str(config), "events", *argv],
            prog_name="drkit",
            standalone_mode=False,
        )


def percentiles(action: Callable[[], object], runs: int) -> tuple[float, float]:
    """p50 and p95 of `runs` timed calls, in seconds (after one warm-up call)."""
    action()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    cuts = statistics.quantiles(timings, n=20)
    return statistics.median(timings), cuts[18]


def full_scan(store: IndexStore) -> int:
    """What every query would cost without an index: read each row of the table once."""
    return int(
        store.conn.execute("SELECT COUNT(*) FROM transactions WHERE kind <> ''").fetchone()[0]
    )


def stored_end(index: Path) -> float:
    conn = sqlite3.connect(index)
    try:
        return float(conn.execute("SELECT MAX(ts) FROM transactions").fetchone()[0])
    finally:
        conn.close()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


if __name__ == "__main__":
    sys.exit(main())
