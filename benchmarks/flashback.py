"""`drkit flashback --sql FILE` against `mariadb-binlog --flashback -vv` on the same binlog file,
in one run, with each one's peak RSS.

A sandbox primary holds bench.t with --rows rows (id, an integer, a string, a decimal, a time);
the binlog file holds that load (one INSERT ... SELECT) and then the `DELETE FROM bench.t`;
`drkit index` archives and indexes it. Then, one after the other, each writing to a file:
  - drkit:    `drkit flashback <id> --sql FILE` (the whole command: index lookup, the
              primary's table facts, the row images read from the archive newest first into
              literal texts by generated code, one guarded INSERT per row, and the primary
              asked, batch by batch while the file is written, which rows changed since);
  - baseline: `mariadb-binlog --flashback -vv <the archived file>` (base64 BINLOG events and
              their pseudo-SQL, as the trial restore used), over the whole file as handed to it,
              and again with --start-position/--stop-position at the DELETE's own bytes.
Prints the wall times, drkit/baseline for both (goal <= 1.0) and peak RSS (drkit: < 300 MB; one
process, holding one Rows event's statements at a time).

    python benchmarks/flashback.py [--rows 100000]   # --rows 1000000 for the issue's figure
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.sandbox_sql import connect, one  # noqa: E402
from drkit.sandbox import topology  # noqa: E402
from drkit.sandbox.binaries import find_program  # noqa: E402
from drkit.sandbox.state import load_state  # noqa: E402


def timed(argv: list[str], output: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MB) and CPU seconds (user + system) of one command, its stdout
    to `output`. On a shared machine the CPU seconds say what the wall time cannot."""
    started = time.monotonic()
    with output.open("wb") as sink:
        process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        stderr = process.stderr.read().decode() if process.stderr else ""
        raise SystemExit(f"{argv[0]} failed ({process.returncode}): {stderr}")
    return seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "drkit")], check=True)
    work = Path(tempfile.mkdtemp(prefix="drkit-bench-flashback-"))
    directory = work / "sandbox"
    topology.up(directory, delay=3600)
    state = load_state(directory / "sandbox.json")
    assert state is not None
    env = {k: v for k, v in os.environ.items() if k != "DRKIT_DEBUG"}
    config = directory / "drkit.toml"
    try:
        primary = connect(state, "primary")
        for sql in (
            "CREATE DATABASE bench",
            "CREATE TABLE bench.t (id INT PRIMARY KEY, v INT, s VARCHAR(40), d DECIMAL(12,2),"
            " at DATETIME(6))",
            f"INSERT INTO bench.t SELECT seq, seq * 7, CONCAT('row ', seq), seq / 100,"
            f" '2026-01-01' + INTERVAL seq SECOND FROM bench.seq_1_to_{args.rows}",
            "DELETE FROM bench.t",
        ):
            one(primary, sql)
        binlog = one(primary, "SHOW MASTER STATUS")
        assert binlog is not None
        drkit = [sys.executable, "-m", "drkit", "--config", str(config)]
        subprocess.run([*drkit, "index"], check=True, env=env, stdout=subprocess.DEVNULL)
        archived = directory / "binlogs" / str(binlog["File"])
        size = archived.stat().st_size
        print(f"{args.rows} rows deleted in one transaction; {archived.name}: {size / 1e6:.1f} MB")

        sql_file = work / "undo.sql"
        drkit_s, drkit_mb, drkit_cpu = timed(
            [*drkit, "flashback", "latest-destructive", "--sql", str(sql_file)],
            work / "drkit.out",
            env,
        )
        tool = find_program("mariadb-binlog", "mysqlbinlog")
        assert tool is not None
        base_s, base_mb, base_cpu = timed(
            [str(tool), "--flashback", "-vv", str(archived)], work / "fb.out", env
        )
        done = subprocess.run(
            [*drkit, "events", "--limit", "1", "--json"], check=True, env=env, capture_output=True
        )
        event = json.loads(done.stdout)[0]
        exact_s, exact_mb, exact_cpu = timed(
            [
                str(tool),
                "--flashback",
                "-vv",
                f"--start-position={event['start_pos']}",
                f"--stop-position={event['end_pos']}",
                str(archived),
            ],
            work / "fb-exact.out",
            env,
        )
        statements = sum(1 for line in sql_file.open() if line.startswith("INSERT"))
        assert statements == args.rows, f"{statements} statements for {args.rows} rows"
        print(
            f"drkit flashback --sql: {drkit_s:.2f} s ({drkit_cpu:.2f} s CPU), "
            f"peak RSS {drkit_mb:.0f} MB"
        )
        print(
            f"mariadb-binlog --flashback -vv FILE: {base_s:.2f} s ({base_cpu:.2f} s CPU), "
            f"peak RSS {base_mb:.0f} MB"
        )
        print(
            f"mariadb-binlog --flashback -vv --start/--stop-position: {exact_s:.2f} s "
            f"({exact_cpu:.2f} s CPU), peak RSS {exact_mb:.0f} MB"
        )
        print(
            f"ratio drkit/baseline: {drkit_s / base_s:.2f} against the whole file, "
            f"{drkit_s / exact_s:.2f} against the transaction's bytes (goal <= 1.0); "
            "RSS goal < 300 MB"
        )
        print(
            f"CPU ratio drkit/baseline: {drkit_cpu / base_cpu:.2f} against the whole file, "
            f"{drkit_cpu / exact_cpu:.2f} against the transaction's bytes"
        )
    finally:
        topology.down(directory, purge=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
