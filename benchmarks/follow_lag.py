"""Index lag while following: how long after a commit on the primary its record is in the index.

Starts a drkit sandbox and `drkit index --follow` (the real command, as a subprocess), then puts a
sustained insert load on the primary (--rate autocommit inserts per second for --seconds; the
target is 5,000/s with a p95 under 50 ms). Two pollers watch in the same run:
  - the index (what `drkit events` reads): the newest GTID in the SQLite file;
  - the baseline, the non-delayed replica's own apply: its gtid_slave_pos.
Each GTID's lag is the time from its commit returning on the primary to the first poll that sees
it. Prints p50/p95 of both and their ratio.

    python benchmarks/follow_lag.py [--rate R] [--seconds S] [--poll P]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.sandbox import Sandbox, start_sandbox, wait_for  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=5000, help="inserts per second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--poll", type=float, default=0.002, help="the pollers' interval")
    args = parser.parse_args()
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
        for watcher in watchers:
            watcher.start()
        try:
            cpu_before = cpu_seconds(follower.pid)
            by_id = load(box, rate, seconds)
            last = last_sequence(box)
            wait_for(
                lambda: last in indexed and last in applied,
                timeout=30,
                what=f"commit {last} (index has {max(indexed, default=0)}, "
                f"replica {max(applied, default=0)})",
            )
            follower_cpu = cpu_seconds(follower.pid) - cpu_before
        finally:
            done.set()
            for watcher in watchers:
                watcher.join()
    finally:
        follower.send_signal(signal.SIGINT)
        follower.wait(timeout=30)
    commits = {seq: by_id[row_id] for seq, row_id in ids_in_index(index).items() if row_id in by_id}
    index_lag = [indexed[seq] - at for seq, at in commits.items()]
    replica_lag = [applied[seq] - at for seq, at in commits.items()]
    achieved = len(commits) / seconds
    print(f"load: {len(commits)} autocommit inserts in {seconds:.0f}s ({achieved:.0f}/s)")
    # What the follower itself spent, whatever the machine's other load did to the lags.
    print(
        f"follower CPU: {follower_cpu:.2f} s, {follower_cpu / len(commits) * 1e6:.0f} µs a "
        f"transaction ({follower_cpu / seconds * 100:.0f}% of a core)"
    )
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
    """Paced autocommit inserts from LOADERS processes (one connection cannot reach thousands
    a second here); when each id's commit returned (CLOCK_MONOTONIC is one clock for every
    process of the machine). Loader k inserts the ids k, k + LOADERS, ...; which GTID each
    insert got is read back from the index afterwards (the statement text names the id).
    """
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    started = time.monotonic() + 0.2  # every loader starts on the same beat
    loaders = [
        context.Process(target=_load_part, args=(box, rate / LOADERS, seconds, started, k, results))
        for k in range(1, LOADERS + 1)
    ]
    for loader in loaders:
        loader.start()
    by_id: dict[int, float] = {}
    for _ in loaders:
        by_id.update(results.get())
    for loader in loaders:
        loader.join()
    return by_id


LOADERS = 3


def _load_part(
    box: Sandbox, rate: float, seconds: float, started: float, first: int, results: Any
) -> None:
    conn = box.connect("primary")
    committed: dict[int, float] = {}
    try:
        cur = conn.cursor()
        n = 0
        while (now := time.monotonic()) - started < seconds:
            due = started + n / rate
            if due > now:
                time.sleep(due - now)
            row_id = first + n * LOADERS
            n += 1
            cur.execute(f"INSERT INTO lag.t VALUES ({row_id}, {row_id})")
            committed[row_id] = time.monotonic()
    finally:
        conn.close()
        results.put(committed)


_INSERTED_ID = re.compile(r"INSERT INTO lag\.t VALUES \((\d+),")


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


def ids_in_index(index: Path) -> dict[int, int]:
    """GTID sequence number -> the id its insert wrote, from the statements in the index."""
    found: dict[int, int] = {}
    with sqlite3.connect(f"file:{index}?mode=ro", uri=True) as conn:
        for gtid, statement in conn.execute("SELECT gtid, statement FROM transactions"):
            match = _INSERTED_ID.search(statement or "")
            if gtid and match:
                found[int(gtid.rsplit("-", 1)[1])] = int(match.group(1))
    return found


def watch(
    newest: Callable[[], int], seen: dict[int, float], done: threading.Event, poll: float
) -> None:
    """Record when each sequence number is first seen (everything up to the newest is there)."""
    highest = 0
    while not done.is_set():
        current = newest()
        now = time.monotonic()
        for seq in range(highest + 1, current + 1):
            seen[seq] = now
        highest = max(highest, current)
        time.sleep(poll)


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
