"""An accelerated soak of `drkit guard`: months of binlog in minutes, with retention doing its job.

A sandbox (the delayed replica `--delay` seconds late) runs `drkit guard --metrics` with
`[retention] keep` and `interval` in seconds. A workload thread writes `--transactions`
single-row transactions (inserts, and deletes that keep the table small) in `--rotations` bursts,
each ended by FLUSH BINARY LOGS; the primary then purges the binlogs every copy has fetched
(drkit's archive, both replicas). Meanwhile the guard is restarted `--restarts` times (SIGTERM,
as systemd does), and `--drops` times a table is dropped on the primary and the time to the
delayed applier reported stopped is taken (the applier is started again after each).

Printed: the guard's RSS and open file descriptors at the start and end of each of its lives
and overall (flat: ratio near 1), the index and archive against what retention allows (the plan
`drkit prune --dry-run` shows after the last scheduled prune: what aged since) and against what
the workload wrote, the scheduled prunes, and the freeze latency percentiles against a bare
`STOP SLAVE SQL_THREAD` in the same run.

    python benchmarks/soak.py [--transactions N] [--rate R]   # N: $DRKIT_SOAK_TRANSACTIONS or 20000
    python benchmarks/soak.py --interval 0                   # the same without scheduled prunes

The issue's full run is `--transactions 2000000` (120 rotations of about 16,700 transactions):
at the default 1,500 transactions a second that is about 25 minutes of writing, some 0.7 GB of
binlog through the primary, the replicas and the archive (retention keeps the archive to tens of
MB), and a machine where the guard keeps up with that rate (otherwise the freeze latency measures
the guard's backlog: each DROP's line says how far behind it was).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.sandbox_sql import connect, rows  # noqa: E402
from drkit.sandbox import topology  # noqa: E402
from drkit.sandbox.state import load_state  # noqa: E402

DEFAULT_TRANSACTIONS = int(os.environ.get("DRKIT_SOAK_TRANSACTIONS", "20000"))
KEEP_FILES = 2  # binlog files the primary keeps beyond what every copy has fetched
CAUGHT_UP = 100  # transactions behind the primary below which the guard counts as caught up


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def process_size(pid: int) -> tuple[int, int]:
    """Resident memory (bytes) and open file descriptors of a process."""
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def mib(count: float) -> str:
    return f"{count / 1048576:8.1f} MiB"


@dataclass
class Life:
    """One run of the guard process, from following to SIGTERM."""

    pid: int
    start: tuple[int, int] = (0, 0)
    end: tuple[int, int] = (0, 0)
    metrics: dict[str, float] = field(default_factory=dict)


class Guard:
    """`drkit guard --metrics` as a child in its own process group."""

    def __init__(self, config: Path, port: int, log: Path) -> None:
        self.port = port
        handle = log.open("ab")
        argv = [sys.executable, "-m", "drkit", "--config", str(config), "guard"]
        self.process = subprocess.Popen(
            [*argv, "--metrics", f"127.0.0.1:{port}"],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=handle,
            start_new_session=True,
        )
        handle.close()
        state_path = config.parent / "drkit-guard.json"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError, KeyError):
                state = json.loads(state_path.read_text())
                if state["pid"] == self.process.pid and state["primary"].startswith("following"):
                    self.life = Life(self.process.pid)
                    return
            if self.process.poll() is not None:
                raise SystemExit(f"the guard exited: {log.read_text()[-2000:]}")
            time.sleep(0.05)
        raise SystemExit("the guard did not start following the primary")

    def metrics(self) -> dict[str, float]:
        url = f"http://127.0.0.1:{self.port}/metrics"
        with urllib.request.urlopen(url, timeout=30) as response:
            text = response.read().decode()
        found = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                found[name] = float(value)
        return found

    def stop(self) -> None:
        self.life.end = process_size(self.process.pid)
        with contextlib.suppress(OSError):
            self.life.metrics = self.metrics()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=120)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)


class Workload(threading.Thread):
    """Writes the transactions in bursts, rotating and purging the primary's binlogs."""

    def __init__(
        self, state: Any, directory: Path, total: int, rotations: int, rate: float
    ) -> None:
        super().__init__(name="workload", daemon=True)
        self.state = state
        self.rate = rate  # transactions per second at most (0: as fast as the primary goes)
        self.index = directory / "index.db"
        self.total = total
        self.rotations = rotations
        self.written = 0
        self.bursts = 0
        self.purged = 0
        self.files = 0  # binlog files the primary wrote during the soak
        self.binlog_bytes = 0  # every binlog file the primary wrote, measured before its purge
        self.error: BaseException | None = None
        self.done = threading.Event()

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:
            self.error = exc
        finally:
            self.done.set()

    def _run(self) -> None:
        primary = connect(self.state, "primary")
        per_file = max(1, self.total // self.rotations)
        # Paced: a tenth of a second's worth at a time, as a primary's steady load would come.
        step = max(1, int(self.rate / 10)) if self.rate > 0 else per_file
        seen: dict[str, int] = {}
        in_file = 0
        started = time.monotonic()
        try:
            while self.written < self.total:
                if self.rate > 0:
                    time.sleep(max(0.0, started + self.written / self.rate - time.monotonic()))
                n = min(step, per_file - in_file, self.total - self.written)
                rows(primary, f"CALL soak.burst({n})")
                self.written += n
                in_file += n
                if in_file < per_file and self.written < self.total:
                    continue
                rows(primary, "FLUSH BINARY LOGS")
                self.bursts += 1
                in_file = 0
                for log in rows(primary, "SHOW BINARY LOGS"):
                    seen[str(log["Log_name"])] = int(log["File_size"])
                self.purged += self._purge(primary)
                self.files = len(seen)
            self.binlog_bytes = sum(seen.values())
        finally:
            primary.close()

    def _purge(self, primary: Any) -> int:
        """PURGE BINARY LOGS up to what drkit's archive and both replicas have fetched; how many
        files went."""
        fetched = [self._indexed_file()]
        for node in ("replica", "delayed"):
            conn = connect(self.state, node)
            try:
                fetched.append(str(rows(conn, "SHOW SLAVE STATUS")[0]["Master_Log_File"]))
            finally:
                conn.close()
        names = [str(log["Log_name"]) for log in rows(primary, "SHOW BINARY LOGS")]
        if None in fetched or not all(f in names for f in fetched):
            return 0
        target = min(names.index(str(f)) for f in fetched) - KEEP_FILES
        if target <= 0:
            return 0
        rows(primary, f"PURGE BINARY LOGS TO '{names[target]}'")
        return target

    def _indexed_file(self) -> str | None:
        """The file of the index's checkpoint: the archive holds everything before it."""
        try:
            with sqlite3.connect(f"file:{self.index}?mode=ro", uri=True, timeout=30) as conn:
                row = conn.execute("SELECT file FROM checkpoint WHERE id = 1").fetchone()
        except sqlite3.Error:
            return None
        return str(row[0]) if row else None


@dataclass(frozen=True)
class Sample:
    """The index and archive at one moment, and how much of each retention would remove now."""

    rows: int
    archive_bytes: int
    prunable_rows: int
    prunable_bytes: int

    @property
    def rows_ratio(self) -> float:
        return self.rows / max(self.rows - self.prunable_rows, 1)

    @property
    def bytes_ratio(self) -> float:
        return self.archive_bytes / max(self.archive_bytes - self.prunable_bytes, 1)


class Sampler(threading.Thread):
    """Takes a Sample every `every` seconds until stopped."""

    def __init__(self, config: Path, every: float) -> None:
        super().__init__(name="sampler", daemon=True)
        self.config = config
        self.every = every
        self.samples: list[Sample] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.every):
            with contextlib.suppress(Exception):  # a file pruned while it was measured
                self.samples.append(sample(self.config))


def sample(config: Path) -> Sample:
    """What is kept against what `[retention]` allows at this moment (the prune's own plan)."""
    from drkit.config import load
    from drkit.retention.run import plan_prune

    loaded = load(config)
    plan = plan_prune(loaded)
    folder = loaded.index.archive_dir
    archive = sum(p.stat().st_size for p in folder.iterdir() if not p.name.startswith("."))
    with sqlite3.connect(f"file:{loaded.index.path}?mode=ro", uri=True, timeout=30) as conn:
        indexed = int(conn.execute("SELECT COUNT(*) FROM transactions").fetchone()[0])
    return Sample(indexed, archive, plan.rows, plan.file_bytes)


@dataclass(frozen=True)
class Trial:
    seconds: float  # DROP sent -> the delayed applier reported stopped
    backlog: int  # transactions the guard had not judged yet when the DROP was sent


def freeze_trial(state: Any, number: int, guard_state: Path) -> Trial:
    """DROP a table on the primary; seconds until the delayed replica reports its applier stopped
    (then started again once the guard has recorded the freeze: the soak goes on), and how far
    behind the primary the guard was when the DROP was sent."""
    primary, delayed = connect(state, "primary"), connect(state, "delayed")
    try:
        rows(primary, f"CREATE TABLE soak.drop_{number} (id INT)")
        time.sleep(0.3)
        written = _seq(rows(primary, "SELECT @@gtid_binlog_pos AS p")[0]["p"])
        seen = 0
        with contextlib.suppress(OSError, ValueError, TypeError):
            seen = _seq(json.loads(guard_state.read_text()).get("last_seen_gtid"))
        started = time.perf_counter()
        rows(primary, f"DROP TABLE soak.drop_{number}")
        deadline = started + 60
        while rows(delayed, "SHOW SLAVE STATUS")[0]["Slave_SQL_Running"] == "Yes":
            if time.perf_counter() > deadline:
                raise SystemExit(f"drop {number}: the guard did not freeze within 60 s")
            time.sleep(0.002)
        took = time.perf_counter() - started
        # Started again too soon, the guard would see its freeze undone and freeze again.
        while not frozen_for(guard_state, f"soak.drop_{number}"):
            if time.perf_counter() > deadline:
                raise SystemExit(f"drop {number}: the guard did not record its freeze")
            time.sleep(0.05)
        rows(delayed, "START SLAVE SQL_THREAD")
        return Trial(took, max(written - seen, 0))
    finally:
        primary.close()
        delayed.close()


def _seq(gtid: object) -> int:
    """The sequence number of a single-domain MariaDB GTID (position) such as 0-1-42."""
    return int(str(gtid).rsplit("-", 1)[-1]) if gtid else 0


def frozen_for(guard_state: Path, table: str) -> bool:
    """Whether the guard's state file records a confirmed freeze for a finding on `table`."""
    try:
        state = json.loads(guard_state.read_text())
    except (OSError, ValueError):
        return False
    finding = state.get("last_finding") or {}
    action = state.get("last_action") or {}
    return (
        table in finding.get("tables", [])
        and action.get("action") == "frozen"
        and not state.get("pending")
    )


def bare_stops(state: Any, trials: int) -> list[float]:
    delayed = connect(state, "delayed")
    samples = []
    try:
        for _ in range(trials):
            started = time.perf_counter()
            rows(delayed, "STOP SLAVE SQL_THREAD")
            samples.append(time.perf_counter() - started)
            rows(delayed, "START SLAVE SQL_THREAD")
    finally:
        delayed.close()
    return samples


def prepare(state: Any) -> None:
    primary = connect(state, "primary")
    try:
        for statement in (
            "CREATE DATABASE soak",
            "CREATE TABLE soak.events (id BIGINT AUTO_INCREMENT PRIMARY KEY, payload VARCHAR(200))",
            # One transaction per statement (autocommit): an insert, and from the 500th on a
            # delete by key of an old row, so the table stays small and nothing is "mass".
            "CREATE PROCEDURE soak.burst(n INT) BEGIN DECLARE i INT DEFAULT 0; "
            "WHILE i < n DO "
            "INSERT INTO soak.events (payload) VALUES (REPEAT('x', 100)); SET i = i + 1; "
            "IF i < n AND LAST_INSERT_ID() > 500 THEN "
            "DELETE FROM soak.events WHERE id = LAST_INSERT_ID() - 500; SET i = i + 1; END IF; "
            "END WHILE; END",
        ):
            rows(primary, statement)
    finally:
        primary.close()


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def report(
    lives: list[Life],
    trials: list[Trial],
    bare: list[float],
    workload: Workload,
    directory: Path,
    args: argparse.Namespace,
    seconds: float,
    samples: list[Sample],
) -> None:
    print(
        f"\n{workload.written} transactions in {seconds:.0f}s ({workload.written / seconds:,.0f}/s)"
        f", {workload.bursts} rotations ({workload.files} binlog files), "
        f"{workload.purged} purged by the primary, {len(lives)} guard lives ({len(lives) - 1} restarts)"
    )
    print("\nguard process      RSS start -> end            open fds start -> end")
    for number, life in enumerate(lives, 1):
        (rss0, fd0), (rss1, fd1) = life.start, life.end
        print(
            f"  life {number} pid {life.pid:<7} {mib(rss0)} -> {mib(rss1)} (x{rss1 / rss0:.2f})"
            f"   {fd0:4d} -> {fd1:4d}"
        )
    first, last = lives[0].start, lives[-1].end
    print(
        f"  overall          {mib(first[0])} -> {mib(last[0])} (x{last[0] / first[0]:.2f})"
        f"   {first[1]:4d} -> {last[1]:4d} (x{last[1] / first[1]:.2f})"
    )

    archive = [p for p in (directory / "binlogs").iterdir() if not p.name.startswith(".")]
    archive_bytes = sum(p.stat().st_size for p in archive)
    index_bytes = sum(p.stat().st_size for p in directory.glob("index.db*") if p.is_file())
    with sqlite3.connect(f"file:{directory / 'index.db'}?mode=ro", uri=True) as conn:
        indexed = int(conn.execute("SELECT COUNT(*) FROM transactions").fetchone()[0])
        first_id, last_id = conn.execute("SELECT MIN(id), MAX(id) FROM transactions").fetchone()
    dry = subprocess.run(
        [
            sys.executable,
            "-m",
            "drkit",
            "--config",
            str(directory / "drkit.toml"),
            "prune",
            "--dry-run",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    plan = json.loads(dry.stdout)["plan"]
    allowed_rows = indexed - int(plan["rows"])
    allowed_bytes = archive_bytes - int(plan["file_bytes"])
    print(
        f"\nretention: keep {args.keep}s, "
        + (f"prune every {args.interval}s" if args.interval else "no scheduled prune (baseline)")
        + f", delayed replica {args.delay}s late"
    )
    print(
        f"  index   {indexed:>9} rows (ids {first_id}..{last_id}), {mib(index_bytes)} on disk;"
        f" retention allows {allowed_rows} now: x{indexed / max(allowed_rows, 1):.2f};"
        f" the workload wrote {last_id} (x{indexed / last_id:.3f} of it kept)"
    )
    print(
        f"  archive {len(archive):>9} files, {mib(archive_bytes)};"
        f" retention allows {mib(allowed_bytes)} now: x{archive_bytes / max(allowed_bytes, 1):.2f};"
        f" the primary wrote {mib(workload.binlog_bytes)}"
        f" (x{archive_bytes / max(workload.binlog_bytes, 1):.3f} of it kept)"
    )
    for reason in plan["kept"]:
        print(f"  kept: {reason}")
    if samples:
        rows_peak = max(samples, key=lambda x: x.rows)
        bytes_peak = max(samples, key=lambda x: x.archive_bytes)
        print(
            f"  during the run ({len(samples)} samples, one per interval): index at most "
            f"{rows_peak.rows} rows (retention allowed {rows_peak.rows - rows_peak.prunable_rows}"
            f" then), worst x{max(x.rows_ratio for x in samples):.2f} of what it allowed; archive "
            f"at most {mib(bytes_peak.archive_bytes).strip()} (allowed "
            f"{mib(bytes_peak.archive_bytes - bytes_peak.prunable_bytes).strip()}), worst "
            f"x{max(x.bytes_ratio for x in samples):.2f}"
        )
    # What the scheduled prunes removed, from the audit log: every life's, whatever its last
    # scrape said; their outcomes from the guards' metrics.
    audited = [
        json.loads(line)
        for line in (directory / "drkit-audit.jsonl").read_text().splitlines()
        if '"kind": "prune"' in line
    ]
    rows_pruned = sum(int(r["rows_removed"]) for r in audited)
    bytes_pruned = sum(int(r["bytes_freed"]) for r in audited)
    files_pruned = sum(len(r["files_removed"]) for r in audited)
    outcomes = {
        outcome: sum(
            life.metrics.get(f'drkit_retention_prunes_total{{outcome="{outcome}"}}', 0)
            for life in lives
        )
        for outcome in ("done", "skipped", "failed")
    }
    print(
        f"  scheduled prunes: {len(audited)} audited; "
        + ", ".join(f"{n:.0f} {outcome}" for outcome, n in outcomes.items())
        + f" in the guards' last scrapes; {rows_pruned} rows and {files_pruned} files "
        f"({mib(bytes_pruned).strip()}) removed"
    )

    b50, b95 = percentile(bare, 0.5), percentile(bare, 0.95)
    if trials:
        print(
            f"\nfreeze latency during the run ({len(trials)} DROPs), against a bare STOP SLAVE "
            f"SQL_THREAD (p50 {b50 * 1000:.2f} ms, p95 {b95 * 1000:.2f} ms):"
        )
        caught_up = [t.seconds for t in trials if t.backlog < CAUGHT_UP]
        for label, values in (
            ("all DROPs", [t.seconds for t in trials]),
            (f"the guard caught up (< {CAUGHT_UP} transactions behind)", caught_up),
        ):
            if not values:
                continue
            p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
            print(
                f"  {label} ({len(values)}): p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
                f"max {max(values) * 1000:.1f} ms (p95 x{p95 / b95:.0f} the bare stop); "
                f"target p95 < 1 s: {'met' if p95 < 1 else 'NOT met'}"
            )
        print(
            "  each DROP: "
            + ", ".join(f"{t.seconds * 1000:.0f} ms ({t.backlog} behind)" for t in trials)
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--transactions", type=int, default=DEFAULT_TRANSACTIONS)
    parser.add_argument("--rotations", type=int, default=120)
    parser.add_argument("--restarts", type=int, default=4)
    parser.add_argument(
        "--rate", type=float, default=1500, help="transactions per second at most (0: no limit)"
    )
    parser.add_argument("--drops", type=int, default=12)
    parser.add_argument("--delay", type=int, default=20, help="the delayed replica's delay (s)")
    parser.add_argument("--keep", type=int, default=10, help="[retention] keep (s)")
    parser.add_argument("--interval", type=int, default=2, help="[retention] interval (s)")
    parser.add_argument(
        "--keep-sandbox", action="store_true", help="keep the sandbox and the guard's log"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="drkit-soak-"))
    directory = work / "sandbox"
    print(f"sandbox in {directory}")
    fast = {"innodb_flush_log_at_trx_commit": "2", "sync_binlog": "0"}
    topology.up(directory, delay=args.delay, server_options=fast)
    state = load_state(directory / "sandbox.json")
    assert state is not None
    config = directory / "drkit.toml"
    interval = f"{args.interval}s" if args.interval > 0 else "off"  # off: the baseline
    with config.open("a", encoding="utf-8") as handle:
        handle.write(
            f'\n[retention]\nkeep = "{args.keep}s"\ninterval = "{interval}"\nmin_free = "1%"\n'
        )
    lives: list[Life] = []
    trials: list[Trial] = []
    guard: Guard | None = None
    # Stopped with SIGTERM or Ctrl-C, it still stops its guard and its sandbox.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        prepare(state)
        bare = bare_stops(state, 20)
        guard = Guard(config, free_port(), work / "guard.log")
        time.sleep(2)
        guard.life.start = process_size(guard.process.pid)
        workload = Workload(state, directory, args.transactions, args.rotations, args.rate)
        started = time.monotonic()
        workload.start()
        restart_at = [
            args.transactions * (k + 1) // (args.restarts + 1) for k in range(args.restarts)
        ]
        drop_at = [args.transactions * (k + 1) // (args.drops + 1) for k in range(args.drops)]
        # Milestones the workload passed (all of them once it is done) are taken in turn.
        sampler = Sampler(config, args.interval or 2)
        sampler.start()
        while not workload.done.wait(0.2) or drop_at or restart_at:
            if workload.error is not None:
                break
            if drop_at and (workload.written >= drop_at[0] or workload.done.is_set()):
                drop_at.pop(0)
                trial = freeze_trial(state, len(trials), directory / "drkit-guard.json")
                trials.append(trial)
            if restart_at and (workload.written >= restart_at[0] or workload.done.is_set()):
                restart_at.pop(0)
                guard.stop()
                lives.append(guard.life)
                time.sleep(1.0)  # down a moment: the workload goes on, the next life catches up
                guard = Guard(config, free_port(), work / "guard.log")
                time.sleep(2)
                guard.life.start = process_size(guard.process.pid)
        if workload.error is not None:
            raise workload.error
        seconds = time.monotonic() - started
        sampler.stop.set()
        sampler.join()
        samples = sampler.samples
        # Let the guard catch up, the delay pass and a last scheduled prune run.
        time.sleep(args.delay + args.keep + 2 * args.interval)
        guard.stop()
        lives.append(guard.life)
        report(lives, trials, bare, workload, directory, args, seconds, samples)
    finally:
        if guard is not None and guard.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(guard.process.pid, signal.SIGKILL)
        if not args.keep_sandbox:
            topology.down(directory, purge=True)
            shutil.rmtree(work, ignore_errors=True)  # the guard's log too
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
