"""`drkit history` for one key in a big index: p50/p95 over random keys, in one run.

A sandbox primary writes --transactions transactions, --changes of them single-row UPDATEs of
bench.h (spread over --keys rows), the others single-row INSERTs into another table, each its own
transaction (server-side loops, so the client does not set the pace); `drkit index` archives and
indexes them. Then, through the facade in-process (what the CLI and the console call, without an
interpreter start):
  - baseline: the first history call for the table, which reads every row image of its
              --changes transactions (and fills the row-key cache beside the index);
  - history:  --runs calls for random keys, each reading only the transactions of its row.
Prints p50/p95 (target p95 < 200 ms at 1,000,000 transactions / 100,000 changes), the baseline,
their ratio, and one CLI call's wall time (interpreter start included).

    python benchmarks/history.py [--transactions 100000 --changes 10000]
    python benchmarks/history.py --transactions 1000000 --changes 100000   # the issue's figure
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.sandbox_sql import connect, one  # noqa: E402
from drkit import config as config_module  # noqa: E402
from drkit.sandbox import topology  # noqa: E402
from drkit.sandbox.state import load_state  # noqa: E402
from drkit.service import Operations  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    others = args.transactions - args.changes
    assert others >= 0, "--changes cannot exceed --transactions"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "drkit")], check=True)
    work = Path(tempfile.mkdtemp(prefix="drkit-bench-history-"))
    directory = work / "sandbox"
    topology.up(directory, delay=3600)
    state = load_state(directory / "sandbox.json")
    assert state is not None
    env = {k: v for k, v in os.environ.items() if k != "DRKIT_DEBUG"}
    try:
        primary = connect(state, "primary")
        started = time.monotonic()
        for sql in (
            "CREATE DATABASE bench",
            "CREATE TABLE bench.h (id INT PRIMARY KEY, v INT, s VARCHAR(20))",
            "CREATE TABLE bench.other (id INT PRIMARY KEY)",
            f"INSERT INTO bench.h SELECT seq, 0, CONCAT('k', seq) FROM bench.seq_1_to_{args.keys}",
            # Interleaved: `chunk` other transactions, then one change of bench.h, and so on.
            "BEGIN NOT ATOMIC DECLARE o INT DEFAULT 0; "
            f"FOR i IN 1..{args.changes} DO "
            f"  FOR j IN 1..{others // args.changes if args.changes else 0} DO "
            "    SET o = o + 1; INSERT INTO bench.other VALUES (o); END FOR; "
            f"  UPDATE bench.h SET v = v + 1, s = CONCAT('v', i) WHERE id = 1 + i MOD {args.keys}; "
            "END FOR; END",
        ):
            one(primary, sql)
        written = time.monotonic() - started
        config_file = directory / "drkit.toml"
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "drkit", "--config", str(config_file), "index"],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        indexed = time.monotonic() - started
        ops = Operations(config_module.load(config_file))
        count = ops.store().count()
        print(
            f"{count} transactions ({args.changes} change bench.h, {args.keys} keys) written in "
            f"{written:.1f}s, indexed in {indexed:.1f}s"
        )
        started = time.monotonic()
        first = ops.history("bench.h", "id=1")
        baseline = time.monotonic() - started
        rng = random.Random(7)
        timings = []
        versions = 0
        for _ in range(args.runs):
            key = rng.randint(1, args.keys)
            started = time.monotonic()
            found = ops.history("bench.h", f"id={key}")
            timings.append(time.monotonic() - started)
            versions += len(found.versions)
        timings.sort()
        p50 = statistics.median(timings) * 1000
        p95 = timings[int(len(timings) * 0.95) - 1] * 1000
        started = time.monotonic()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "drkit",
                "--config",
                str(config_file),
                "history",
                "--table",
                "bench.h",
                "--key",
                "id=2",
                "--json",
            ],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        cli = time.monotonic() - started
        print(
            f"first call (reads all {args.changes} changes, fills the cache): {baseline * 1000:.0f} ms"
            f", {len(first.versions)} versions"
        )
        print(
            f"one key's history over {args.runs} random keys ({versions / args.runs:.0f} versions "
            f"each): p50 {p50:.1f} ms, p95 {p95:.1f} ms (target p95 < 200 ms); "
            f"p95/first call {p95 / 1000 / baseline:.3f}"
        )
        print(f"`drkit history --json` as a command: {cli * 1000:.0f} ms wall")
    finally:
        topology.down(directory, purge=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
