"""`drkit asof` of a 100,000-row table rewound over 10,000 changes, against the server's own
tools doing the same job (`mariadb-binlog --flashback` of the same range piped into a scratch
copy), in one run.

A sandbox (delayed replica without delay) gets bench.t with --rows rows committed (SET
timestamp) a quarter of an hour ago; T lies after them; then --changes single-row transactions
(updates, deletes and inserts) ten minutes ago, which the delayed replica applies. The
primary's COUNT(*) and CHECKSUM TABLE at T are the truth. Then, each answer written as a table
on the primary:
  - drkit:    `drkit asof --table bench.t --at T --into bench.t_asof --yes --json` (the whole
              command: pin the replica's rows, stream the unchanged ones with mariadb-dump |
              mariadb while the archive's images are undone on the touched keys, replace
              those rows, verify);
  - baseline: `mariadb-dump bench t` from the delayed replica piped into `mariadb scratch` on
              the primary (the scratch copy), then `mariadb-binlog --flashback --table t
              --rewrite-db bench->scratch --start-position P --stop-position Q` over the
              archived files of the range, piped into `mariadb` on the primary.
Every copy must match the truth. Also timed: `drkit asof ... --csv FILE` (the answer with no
table written). --repeat rounds (3), alternating who goes first; prints every time, the medians
and drkit/baseline of the medians (goal: below 1).

    python benchmarks/asof.py [--rows 100000] [--changes 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
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
from drkit.sandbox import topology  # noqa: E402
from drkit.sandbox.state import load_state  # noqa: E402
from drkit.timeparse import iso  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="Rounds; medians are compared.")
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "drkit")], check=True)
    work = Path(tempfile.mkdtemp(prefix="drkit-bench-asof-"))
    directory = work / "sandbox"
    print(f"sandbox in {directory}")
    topology.up(directory, delay=0)
    state = load_state(directory / "sandbox.json")
    assert state is not None
    env = {k: v for k, v in os.environ.items() if k != "DRKIT_DEBUG"}
    config = directory / "drkit.toml"
    drkit = [sys.executable, "-m", "drkit", "--config", str(config)]
    try:
        primary = connect(state, "primary")
        now = time.time()
        truth, span = _workload(primary, args.rows, args.changes, now)
        _caught_up(state, primary)
        subprocess.run([*drkit, "index"], check=True, env=env, stdout=subprocess.DEVNULL)
        at = iso(now - 750)
        times: dict[str, list[float]] = {"baseline": [], "into": [], "csv": []}
        report: dict[str, object] = {}
        for round_ in range(args.repeat):
            # Alternate who goes first: the machine's load drifts within a round.
            order = ("baseline", "into", "csv") if round_ % 2 == 0 else ("csv", "into", "baseline")
            for what in order:
                if what == "baseline":
                    times[what].append(
                        _baseline(state, primary, directory, work, span, env, f"scratch{round_}")
                    )
                    assert _fingerprint(primary, f"scratch{round_}.t") == truth, "baseline wrong"
                elif what == "into":
                    target = f"bench.t_asof{round_}"
                    started = time.monotonic()
                    done = subprocess.run(
                        [
                            *drkit,
                            "asof",
                            "--table",
                            "bench.t",
                            "--at",
                            at,
                            "--into",
                            target,
                            "--yes",
                            "--json",
                        ],
                        env=env,
                        capture_output=True,
                        text=True,
                        check=False,
                    )
                    times[what].append(time.monotonic() - started)
                    assert done.returncode == 0, done.stdout + done.stderr
                    report = json.loads(done.stdout)
                    assert report["verified"], report
                    assert _fingerprint(primary, target) == truth, "drkit's copy differs from T"
                else:
                    started = time.monotonic()
                    subprocess.run(
                        [
                            *drkit,
                            "asof",
                            "--table",
                            "bench.t",
                            "--at",
                            at,
                            "--csv",
                            str(work / "t.csv"),
                        ],
                        check=True,
                        env=env,
                        stdout=subprocess.DEVNULL,
                    )
                    times[what].append(time.monotonic() - started)
                    lines = sum(1 for _ in (work / "t.csv").open()) - 1
                    assert lines == truth[0], (lines, truth)
                # The copies written reach the delayed replica: the index must place it again.
                _caught_up(state, primary)
                subprocess.run([*drkit, "index"], check=True, env=env, stdout=subprocess.DEVNULL)
        undone = report["undone"]
        assert isinstance(undone, dict)
        print(
            f"bench.t at {at}: {truth[0]} rows, checksum {truth[1]}; {args.changes} changes "
            f"({undone['insert']} inserts, {undone['update']} updates, {undone['delete']} "
            "deletes undone); every copy matches"
        )
        base = statistics.median(times["baseline"])
        into = statistics.median(times["into"])
        csv_ = statistics.median(times["csv"])
        shown = {k: ", ".join(f"{t:.2f}" for t in v) for k, v in times.items()}
        print(
            f"baseline dump | load + mariadb-binlog --flashback | mariadb: {base:6.2f} s  ({shown['baseline']})"
        )
        print(
            f"drkit asof --into (verified)                           : {into:6.2f} s  ({shown['into']})"
        )
        print(
            f"drkit asof --csv (no table written)                    : {csv_:6.2f} s  ({shown['csv']})"
        )
        print(
            f"ratio drkit --into / baseline (medians of {args.repeat}): {into / base:6.3f}  (goal < 1)"
        )
        print(f"ratio drkit --csv / baseline  (medians of {args.repeat}): {csv_ / base:6.3f}")
        best = min(times["baseline"])
        print(
            f"best of {args.repeat}: --into / baseline {min(times['into']) / best:6.3f}, "
            f"--csv / baseline {min(times['csv']) / best:6.3f}"
        )
    finally:
        topology.down(directory, purge=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _workload(
    primary: object, rows: int, changes: int, now: float
) -> tuple[tuple[int, int], tuple[str, int, str, int]]:
    """The table at T (its fingerprint) and the binlog position where the changes start."""
    rng = random.Random(17)
    one(primary, f"SET timestamp = {now - 900:.0f}")
    one(primary, "CREATE DATABASE bench")
    one(
        primary,
        "CREATE TABLE bench.t (id INT PRIMARY KEY, v INT, s VARCHAR(40), "
        "d DECIMAL(10,2), at DATETIME NULL)",
    )
    for first in range(1, rows + 1, 2000):
        values = ", ".join(
            f"({i}, {rng.randint(0, 10**6)}, 'row {i}', {i % 1000}.{i % 100:02d}, "
            f"'2026-01-01 00:00:00' + INTERVAL {i} SECOND)"
            for i in range(first, min(first + 2000, rows + 1))
        )
        one(primary, f"INSERT INTO bench.t VALUES {values}")
    truth = _fingerprint(primary, "bench.t")
    start = one(primary, "SHOW MASTER STATUS")
    assert start is not None
    one(primary, f"SET timestamp = {now - 600:.0f}")
    cur = primary.cursor()  # type: ignore[attr-defined]
    next_id = rows + 1
    for _ in range(changes):
        pick = rng.random()
        if pick < 0.7:
            cur.execute(
                "UPDATE bench.t SET v = %s, at = NULL WHERE id = %s",
                (rng.randint(0, 10**6), rng.randint(1, rows)),
            )
        elif pick < 0.85:
            cur.execute("DELETE FROM bench.t WHERE id = %s", (rng.randint(1, rows),))
        else:
            cur.execute("INSERT INTO bench.t (id, v, s) VALUES (%s, 1, 'new')", (next_id,))
            next_id += 1
    cur.close()
    end = one(primary, "SHOW MASTER STATUS")
    assert end is not None
    return truth, (
        str(start["File"]),
        int(start["Position"]),
        str(end["File"]),
        int(end["Position"]),
    )


def _baseline(
    state: object,
    primary: object,
    directory: Path,
    work: Path,
    span: tuple[str, int, str, int],
    env: dict[str, str],
    scratch: str,
) -> float:
    """Dump the delayed copy into scratch on the primary, then pipe the flashback into it."""
    admin = state.admin  # type: ignore[attr-defined]
    nodes = state.nodes  # type: ignore[attr-defined]
    for name in ("delayed", "primary"):
        (work / f"{name}.cnf").write_text(
            f"[client]\nuser={admin.user}\npassword={admin.password}\nhost=127.0.0.1\n"
            f"port={nodes[name].port}\n"
        )
        (work / f"{name}.cnf").chmod(0o600)
    first_file, position, last_file, stop = span
    archive = [
        p
        for p in sorted((directory / "binlogs").glob("*.[0-9]*"))
        if first_file <= p.name <= last_file
    ]
    started = time.monotonic()
    one(primary, f"CREATE DATABASE {scratch}")
    dump = subprocess.Popen(
        [
            "mariadb-dump",
            f"--defaults-extra-file={work / 'delayed.cnf'}",
            "--single-transaction",
            "bench",
            "t",
        ],
        stdout=subprocess.PIPE,
        env=env,
    )
    subprocess.run(
        ["mariadb", f"--defaults-extra-file={work / 'primary.cnf'}", scratch],
        stdin=dump.stdout,
        check=True,
        env=env,
    )
    assert dump.wait() == 0
    flashback = subprocess.Popen(
        ["mariadb-binlog", "--flashback", "--database=bench", "--table=t"]
        + [f"--rewrite-db=bench->{scratch}", f"--start-position={position}"]
        + [f"--stop-position={stop}"]
        + [str(path) for path in archive],
        stdout=subprocess.PIPE,
        env=env,
    )
    subprocess.run(
        ["mariadb", f"--defaults-extra-file={work / 'primary.cnf'}"],
        stdin=flashback.stdout,
        check=True,
        env=env,
    )
    assert flashback.wait() == 0
    return time.monotonic() - started


def _fingerprint(conn: object, table: str) -> tuple[int, int]:
    count = one(conn, f"SELECT COUNT(*) AS n FROM {table}")
    checksum = one(conn, f"CHECKSUM TABLE {table} EXTENDED")
    assert count is not None and checksum is not None
    return int(count["n"]), int(checksum["Checksum"])


def _caught_up(state: object, primary: object) -> None:
    target = one(primary, "SELECT @@gtid_binlog_pos AS g")["g"]  # type: ignore[index]
    delayed = connect(state, "delayed")
    while one(delayed, "SELECT @@gtid_slave_pos AS g")["g"] != target:  # type: ignore[index]
        time.sleep(0.1)
    delayed.close()


if __name__ == "__main__":
    sys.exit(main())
