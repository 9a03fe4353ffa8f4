"""`drkit inspect --at T` against the bare server rolling forward to T and answering, in one run.

A sandbox primary writes --transactions single-row transactions committed (SET timestamp) a
quarter of an hour ago, then one more ten minutes ago; T lies between. Both `replica` and
`delayed` run delayed by an hour, so both hold the backlog in their relay logs. Then:
  - bare:  STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=0; START SLAVE UNTIL <the later one's
           start>; poll until the applier stops; SELECT COUNT(*), SUM(v) (on `replica`);
  - drkit: `drkit inspect --at T -e "SELECT COUNT(*), SUM(v) ..." --yes --json` (on `delayed`):
           time to the first answer = the whole command's wall time less what drkit did after
           answering (restoring the delay), as drkit reports it.
Both answers must be equal. Prints both times and drkit/bare (target <= 1.10).

    python benchmarks/inspect_overhead.py [--transactions 100000]
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
from drkit.sandbox.state import load_state  # noqa: E402
from drkit.timeparse import iso  # noqa: E402

QUERY = "SELECT COUNT(*) AS n, SUM(v) AS total FROM bench.t"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument(
        "--profile", metavar="FILE", help="Run drkit under cProfile, writing its stats to FILE."
    )
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "drkit")], check=True)
    work = Path(tempfile.mkdtemp(prefix="drkit-bench-inspect-"))
    directory = work / "sandbox"
    print(f"sandbox in {directory}")
    topology.up(directory, delay=3600)
    state = load_state(directory / "sandbox.json")
    assert state is not None
    env = {k: v for k, v in os.environ.items() if k != "DRKIT_DEBUG"}
    config = directory / "drkit.toml"
    try:
        replica = connect(state, "replica")
        for sql in ("STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 3600", "START SLAVE"):
            one(replica, sql)
        primary = connect(state, "primary")
        now = time.time()
        one(primary, f"SET timestamp = {now - 900:.0f}")
        for sql in (
            "CREATE DATABASE bench",
            "CREATE TABLE bench.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT, s VARCHAR(40))",
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
        later = one(primary, "SHOW MASTER STATUS")
        assert later is not None
        one(primary, f"SET timestamp = {now - 600:.0f}")
        one(primary, "INSERT INTO bench.t (v, s) VALUES (-1, 'after T')")
        target = one(primary, "SELECT @@gtid_binlog_pos AS g")["g"]  # type: ignore[index]
        subprocess.run(
            [sys.executable, "-m", "drkit", "--config", str(config), "index"],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for node in ("replica", "delayed"):
            conn = connect(state, node)
            while one(conn, "SHOW SLAVE STATUS")["Gtid_IO_Pos"] != target:  # type: ignore[index]
                time.sleep(0.1)
            conn.close()
        at = iso(now - 750)

        # bare server on `replica`
        started = time.monotonic()
        for sql in (
            "STOP SLAVE",
            "CHANGE MASTER TO MASTER_DELAY = 0",
            f"START SLAVE UNTIL MASTER_LOG_FILE = '{later['File']}', "
            f"MASTER_LOG_POS = {later['Position']}",
        ):
            one(replica, sql)
        while one(replica, "SHOW SLAVE STATUS")["Slave_SQL_Running"] == "Yes":  # type: ignore[index]
            time.sleep(0.05)
        bare_answer = one(replica, QUERY)
        bare = time.monotonic() - started

        # drkit on `delayed`
        started = time.monotonic()
        profile = ["-m", "cProfile", "-o", args.profile] if args.profile else []
        done = subprocess.run(
            [
                sys.executable,
                *profile,
                "-m",
                "drkit",
                "--config",
                str(config),
                "inspect",
                "--at",
                at,
                "-e",
                QUERY,
                "--yes",
                "--json",
            ],
            check=True,
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.monotonic() - started
        report = json.loads(done.stdout)
        first_answer = wall - (report["seconds"] - report["seconds_to_answer"])
        ((count, total),) = report["results"][0]["rows"]
        assert bare_answer is not None
        assert (count, int(total)) == (bare_answer["n"], int(bare_answer["total"])), (
            (count, total),
            bare_answer,
        )
        print(f"both answered n={count}, sum={total} as of {at}")
        print(f"bare roll-forward + query: {bare:8.2f} s")
        print(f"drkit inspect, to answer : {first_answer:8.2f} s  (whole command {wall:.2f} s)")
        print(f"ratio drkit / bare       : {first_answer / bare:8.3f}  (target <= 1.10)")
    finally:
        topology.down(directory, purge=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
