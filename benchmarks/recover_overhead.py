"""drkit's `recover --before` against the bare server doing the same catch-up, in one run.

A sandbox primary writes a backlog of --transactions single-row transactions, then a DROP TABLE.
Both the `replica` and the `delayed` node run delayed by an hour, so both hold the same backlog
in their relay logs. Then, one after the other:
  - bare:  the script itself runs STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=0;
           START SLAVE UNTIL <the DROP's start>; and polls until the applier stops (on `replica`);
  - drkit: `drkit recover --before latest-destructive --yes --parallel 0` as a command (on
           `delayed`), wall time of the whole command including planning and verification.
Prints both times and drkit/bare (target <= 1.10). --parallel N also times drkit's default
parallel catch-up on a third copy, for information.

    python benchmarks/recover_overhead.py [--transactions 100000]
"""

from __future__ import annotations

import argparse
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
from drkit.sandbox.state import load_state  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--transactions", type=int, default=100_000)
    args = parser.parse_args()
    # drkit as installed: pip byte-compiles a package; a source tree run with
    # PYTHONDONTWRITEBYTECODE would compile every module on each command instead.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "drkit")], check=True)
    work = Path(tempfile.mkdtemp(prefix="drkit-bench-recover-"))
    directory = work / "sandbox"
    print(f"sandbox in {directory}")
    topology.up(directory, delay=3600)
    state = load_state(directory / "sandbox.json")
    assert state is not None
    try:
        replica = connect(state, "replica")
        for sql in ("STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 3600", "START SLAVE"):
            one(replica, sql)
        primary = connect(state, "primary")
        for sql in (
            "CREATE DATABASE bench",
            "CREATE TABLE bench.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT, s VARCHAR(40))",
            "CREATE TABLE bench.victim (id INT PRIMARY KEY)",
            "INSERT INTO bench.victim VALUES (1), (2), (3)",
        ):
            one(primary, sql)
        started = time.monotonic()
        cur = primary.cursor()
        for i in range(args.transactions):
            cur.execute("INSERT INTO bench.t (v, s) VALUES (%s, %s)", (i, f"row {i}"))
        cur.close()
        print(
            f"backlog: {args.transactions} transactions written in {time.monotonic() - started:.1f}s"
        )
        one(primary, "DROP TABLE bench.victim")
        target = one(primary, "SELECT @@gtid_binlog_pos AS g")["g"]
        config = directory / "drkit.toml"
        env = {k: v for k, v in os.environ.items() if k != "DRKIT_DEBUG"}
        subprocess.run(
            [sys.executable, "-m", "drkit", "--config", str(config), "index"],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for node in ("replica", "delayed"):
            conn = connect(state, node)
            while one(conn, "SHOW SLAVE STATUS")["Gtid_IO_Pos"] != target:
                time.sleep(0.1)
            conn.close()
        events = subprocess.run(
            [
                sys.executable,
                "-m",
                "drkit",
                "--config",
                str(config),
                "events",
                "--destructive",
                "--limit",
                "1",
                "--json",
            ],
            check=True,
            env=env,
            capture_output=True,
            text=True,
        )
        import json

        drop = json.loads(events.stdout)[0]
        print(f"target: #{drop['id']} {drop['gtid']} at {drop['file']}:{drop['start_pos']}")

        # bare server on `replica`
        started = time.monotonic()
        for sql in (
            "STOP SLAVE",
            "CHANGE MASTER TO MASTER_DELAY = 0",
            f"START SLAVE UNTIL MASTER_LOG_FILE = '{drop['file']}', MASTER_LOG_POS = {drop['start_pos']}",
        ):
            one(replica, sql)
        while one(replica, "SHOW SLAVE STATUS")["Slave_SQL_Running"] == "Yes":
            time.sleep(0.05)
        bare = time.monotonic() - started
        bare_pos = one(replica, "SELECT @@gtid_slave_pos AS g")["g"]

        # drkit on `delayed`
        started = time.monotonic()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "drkit",
                "--config",
                str(config),
                "recover",
                "--before",
                "latest-destructive",
                "--yes",
                "--parallel",
                "0",
            ],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        drkit = time.monotonic() - started
        delayed = connect(state, "delayed")
        drkit_pos = one(delayed, "SELECT @@gtid_slave_pos AS g")["g"]
        assert drkit_pos == bare_pos, (drkit_pos, bare_pos)
        print(f"both stopped at {bare_pos} (target {drop['gtid']} unapplied)")
        print(
            f"bare server catch-up : {bare:8.2f} s  ({args.transactions / bare:,.0f} transactions/s)"
        )
        print(f"drkit recover --before: {drkit:8.2f} s  (whole command: plan, run, verify)")
        print(f"ratio drkit / bare   : {drkit / bare:8.3f}  (target <= 1.10)")
    finally:
        topology.down(directory, purge=True)
        shutil.rmtree(work, ignore_errors=True)  # the relay-log copies drkit made, the lock file
    return 0


if __name__ == "__main__":
    sys.exit(main())
