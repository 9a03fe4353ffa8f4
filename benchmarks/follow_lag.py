"""Index lag while following: how long after a commit on the primary its record is in the index.

Starts a drkit sandbox and `drkit index --follow` (the real command, as a subprocess), then puts a
sustained insert load on the primary (--rate autocommit inserts per second for --seconds; the
target is 5,000/s with a p95 under 50 ms), from stored procedures looping on the primary: each
notes when every commit of its returned, on the server's clock. Two pollers watch in the same run:
  - the index (what `drkit events` reads): the newest GTID in the SQLite file;
  - the baseline, the non-delayed replica's own apply: its gtid_slave_pos.
Each GTID's lag is the time from its commit returning on the primary to the first poll that sees
it. Prints p50/p95 of both and their ratio.

    python benchmarks/follow_lag.py [--rate R] [--seconds S] [--poll P]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.sandbox import Sandbox, start_sandbox, wait_for  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=5000, help="inserts per second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--poll", type=float, default=0.002, help="the pollers' interval")
    args = parser.parse_args()
    # The connector announces that stored_results() becomes a property some day.
    warnings.filterwarnings("ignore", message=".*stored_results", category=DeprecationWarning)
    with tempfile.TemporaryDirectory(prefix="drkit-bench-lag-") as tmp:
        box = start_sandbox(Path(tmp) / "sandbox", delay=3600)
        try:
            return run(box, args.rate, args.seconds, args.poll)
        finally:
            box.down(purge=True)


def run(box: Sandbox, rate: float, seconds: float, poll: float) -> int:
    box.sql("primary", "CREATE DATABASE lag", "CREATE TABLE lag.t (id INT PRIMARY KEY, v INT)")
    index = box.config().index.path
    log = box.directory / "follow.log"
    with log.open("wb") as sink:
        follower = subprocess.Popen(
            [sys.executable, "-m", "drkit", "--config", str(box.config_file), "index", "--follow"],
            stdout=sink,
            stderr=sink,
        )
    try:
        wait_for(
            lambda: newest_in_index(index) > 0, timeout=30, what="the follower's first records"
        )
        indexed: dict[int, float] = {}
        applied: dict[int, float] = {}
        done = threading.Event()
        watchers = [
            threading.Thread(
                target=watch, args=(index_position(index), indexed, done, poll), daemon=True
            ),
            threading.Thread(
                target=watch, args=(replica_position(box), applied, done, poll), daemon=True
            ),
        ]
        wal = WalWatch(index.with_name(index.name + "-wal"))
        watchers.append(threading.Thread(target=wal.run, args=(done, poll), daemon=True))
        for watcher in watchers:
            watcher.start()
        try:
            servers = server_pids(box)
            follower_before = cpu_seconds(follower.pid)
            waited_before = waited_for_cpu(follower.pid)
            servers_before = {name: cpu_seconds(pid) for name, pid in servers.items()}
            commits = load(box, rate, seconds)
            servers_cpu = {
                name: cpu_seconds(pid) - servers_before[name] for name, pid in servers.items()
            }
            last = last_sequence(box)
            wait_for(
                lambda: last in indexed and last in applied,
                timeout=30,
                what=f"commit {last} (index has {max(indexed, default=0)}, "
                f"replica {max(applied, default=0)})",
            )
            follower_cpu = cpu_seconds(follower.pid) - follower_before
            follower_waited = waited_for_cpu(follower.pid) - waited_before
        finally:
            done.set()
            for watcher in watchers:
                watcher.join()
    finally:
        follower.send_signal(signal.SIGINT)
        follower.wait(timeout=30)
    missing = set(commits) - gtids_in_index(index)
    if missing:
        print(f"{len(missing)} commits never reached the index, e.g. {min(missing)}")
        return 1
    index_lag = [indexed[seq] - at for seq, at in commits.items()]
    replica_lag = [applied[seq] - at for seq, at in commits.items()]
    print(
        f"load: {len(commits)} autocommit inserts in {seconds:.0f}s "
        f"({len(commits) / seconds:.0f}/s of the {rate:.0f}/s asked), "
        f"{LOADERS} stored-procedure loaders"
    )
    print(
        "server CPU: "
        + ", ".join(
            f"{name} {used:.2f} s ({used / seconds * 100:.0f}% of a core)"
            for name, used in servers_cpu.items()
        )
    )
    # What the follower itself spent, whatever the machine's other load did to the lags.
    print(
        f"follower CPU: {follower_cpu:.2f} s, {follower_cpu / len(commits) * 1e6:.0f} µs a "
        f"transaction ({follower_cpu / seconds * 100:.0f}% of a core); its main thread waited "
        f"{follower_waited:.2f} s for a core (load average {os.getloadavg()[0]:.1f})"
    )
    print(f"index WAL: {wal.largest / 1e6:.1f} MB at its largest")
    index_p50, index_p95 = quantiles(index_lag)
    replica_p50, replica_p95 = quantiles(replica_lag)
    print(f"index lag (commit -> record in the index):  p50 {ms(index_p50)}  p95 {ms(index_p95)}")
    print(
        f"replica apply lag (commit -> on the replica): p50 {ms(replica_p50)}  p95 {ms(replica_p95)}"
    )
    print(
        f"ratio index / replica: p50 {index_p50 / replica_p50:.1f}  p95 {index_p95 / replica_p95:.1f}"
    )
    return 0


def load(box: Sandbox, rate: float, seconds: float) -> dict[int, float]:
    """Paced autocommit inserts, each loader a stored procedure looping on the primary itself
    (a Python client pays a round trip and its own CPU per insert, and could not reach
    5,000 a second on two cores). Each procedure paces itself with SLEEP, notes after every
    insert the GTID it committed (`@@last_gtid`) and the server's clock in a temporary table
    (not binlogged under ROW format), and returns them: GTID sequence -> when its commit
    returned, on the machine's wall clock (the watchers' clock).
    """
    box.sql("primary", "DROP PROCEDURE IF EXISTS lag.paced_inserts", PACED_INSERTS)
    started = time.time() + 0.3  # every loader starts on the same beat
    parts: list[dict[int, float]] = []
    loaders = [
        threading.Thread(
            target=lambda k=k: parts.append(_load_part(box, rate / LOADERS, seconds, started, k))
        )
        for k in range(1, LOADERS + 1)
    ]
    for loader in loaders:
        loader.start()
    for loader in loaders:
        loader.join()
    if len(parts) != LOADERS:
        raise SystemExit("a loader failed (see above)")
    committed: dict[int, float] = {}
    for part in parts:
        committed.update(part)
    return committed


LOADERS = 2  # connections, so that commits overlap as an application's would

PACED_INSERTS = """
CREATE PROCEDURE lag.paced_inserts(first INT, step INT, per_second DOUBLE, started DOUBLE,
                                   seconds DOUBLE)
BEGIN
  DECLARE n INT DEFAULT 0;
  DECLARE ahead DOUBLE;
  CREATE TEMPORARY TABLE commits (gtid VARCHAR(64), at DOUBLE) ENGINE = MEMORY;
  WHILE UNIX_TIMESTAMP(SYSDATE(6)) - started < seconds DO
    SET ahead = started + n / per_second - UNIX_TIMESTAMP(SYSDATE(6));
    IF ahead > 0 THEN DO SLEEP(ahead); END IF;
    INSERT INTO lag.t VALUES (first + n * step, n);
    INSERT INTO commits VALUES (@@last_gtid, UNIX_TIMESTAMP(SYSDATE(6)));
    SET n = n + 1;
  END WHILE;
  SELECT gtid, at FROM commits;
  DROP TEMPORARY TABLE commits;
END
"""


def _load_part(
    box: Sandbox, rate: float, seconds: float, started: float, first: int
) -> dict[int, float]:
    conn = box.connect("primary")
    try:
        cur = conn.cursor()
        cur.callproc("lag.paced_inserts", (first, LOADERS, rate, started, seconds))
        committed: dict[int, float] = {}
        for result in cur.stored_results():
            for gtid, at in result.fetchall():
                committed[int(str(gtid).rsplit("-", 1)[1])] = float(at)
        return committed
    finally:
        conn.close()


def waited_for_cpu(pid: int) -> float:
    """Seconds a process's main thread has spent runnable but waiting for a core (Linux
    schedstat): how much the machine's other load delayed it."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def last_sequence(box: Sandbox) -> int:
    conn = box.connect("primary")
    try:
        cur = conn.cursor()
        cur.execute("SELECT @@gtid_binlog_pos")
        return int(str(cur.fetchone()[0]).rsplit("-", 1)[1])
    finally:
        conn.close()


def gtids_in_index(index: Path) -> set[int]:
    """The GTID sequence numbers the index holds."""
    with sqlite3.connect(f"file:{index}?mode=ro", uri=True) as conn:
        return {
            int(gtid.rsplit("-", 1)[1])
            for (gtid,) in conn.execute("SELECT gtid FROM transactions WHERE gtid IS NOT NULL")
        }


def server_pids(box: Sandbox) -> dict[str, int]:
    """The sandbox's servers' process ids, by node name."""
    return {name: node.pid for name, node in box.state.nodes.items() if node.pid is not None}


def watch(
    newest: Callable[[], int], seen: dict[int, float], done: threading.Event, poll: float
) -> None:
    """Record when each sequence number is first seen (everything up to the newest is there)."""
    highest = 0
    while not done.is_set():
        current = newest()
        now = time.time()  # the loaders' clock: the server's wall clock
        for seq in range(highest + 1, current + 1):
            seen[seq] = now
        highest = max(highest, current)
        time.sleep(poll)


class WalWatch:
    """The largest the index's write-ahead log grew (checkpoints keep it small)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.largest = 0

    def run(self, done: threading.Event, poll: float) -> None:
        while not done.is_set():
            with contextlib.suppress(FileNotFoundError):
                self.largest = max(self.largest, self.path.stat().st_size)
            time.sleep(poll * 10)


def newest_in_index(index: Path) -> int:
    if not index.exists():
        return 0
    conn = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT gtid FROM transactions ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.Error:
        return 0
    finally:
        conn.close()
    return int(row[0].rsplit("-", 1)[1]) if row and row[0] else 0


def index_position(index: Path) -> Callable[[], int]:
    """The newest GTID sequence in the index, through one connection kept open (opening one
    per poll costs the machine more than the indexer's own work)."""
    conn = sqlite3.connect(f"file:{index}?mode=ro", uri=True, check_same_thread=False)

    def newest() -> int:
        try:
            row = conn.execute("SELECT gtid FROM transactions ORDER BY id DESC LIMIT 1").fetchone()
        except sqlite3.Error:
            return 0
        return int(row[0].rsplit("-", 1)[1]) if row and row[0] else 0

    return newest


def replica_position(box: Sandbox) -> Callable[[], int]:
    conn = box.connect("replica")

    def newest() -> int:
        cur = conn.cursor()  # the closure keeps the connection open
        cur.execute("SELECT @@gtid_slave_pos")
        text = str(cur.fetchone()[0] or "")
        return int(text.rsplit("-", 1)[1]) if text else 0

    return newest


def quantiles(values: list[float]) -> tuple[float, float]:
    return statistics.median(values), statistics.quantiles(values, n=20)[18]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


if __name__ == "__main__":
    sys.exit(main())
