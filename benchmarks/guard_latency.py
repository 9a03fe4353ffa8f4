"""How fast `drkit guard` freezes the delayed replica, against a bare STOP SLAVE SQL_THREAD.

A sandbox (delay one hour) runs `drkit guard` as a background command. Each trial creates a table
on the primary, lets the guard go idle for a random 0.2-0.6 s, then drops it and polls the delayed replica until
SHOW SLAVE STATUS reports its applier stopped: the time from sending the DROP (its commit happens
inside that round trip) to that report. The baseline, in the same run: a bare `STOP SLAVE
SQL_THREAD` round trip over an open connection to the delayed replica. Prints p50 and p95 of both
and their ratio (target: guard p95 < 1 s). --sweep also times other poll intervals and reports the
guard's CPU use while idle at each, which is what the default poll interval trades against.

    python benchmarks/guard_latency.py [--trials 20] [--sweep]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.sandbox_sql import connect, rows  # noqa: E402
from drkit.guard.watch import POLL  # noqa: E402
from drkit.sandbox import topology  # noqa: E402
from drkit.sandbox.state import load_state  # noqa: E402

# Seconds the guard sits idle before each DROP, as it would at night; random, so the DROP does
# not arrive in step with the guard's poll.
IDLE = (0.2, 0.6)


def applier_running(delayed) -> bool:  # type: ignore[no-untyped-def]
    return rows(delayed, "SHOW SLAVE STATUS")[0]["Slave_SQL_Running"] == "Yes"


def start_applier(delayed) -> None:  # type: ignore[no-untyped-def]
    rows(delayed, "START SLAVE SQL_THREAD")
    while not applier_running(delayed):
        time.sleep(0.005)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class GuardCommand:
    def __init__(self, config: Path, poll: float, log: Path) -> None:
        self.config = config
        handle = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "drkit", "--config", str(config), "guard", "--poll", str(poll)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=handle,
            start_new_session=True,
        )
        handle.close()
        state_path = config.parent / "drkit-guard.json"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                state = json.loads(state_path.read_text())
                if state.get("pid") == self.process.pid and state["primary"].startswith(
                    "following"
                ):
                    return
            except (OSError, ValueError, KeyError):
                pass
            if self.process.poll() is not None:
                raise SystemExit(f"the guard exited: {log.read_text()}")
            time.sleep(0.05)
        raise SystemExit("the guard did not start following the primary")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)


def guard_trials(
    state, config: Path, poll: float, trials: int, work: Path
) -> tuple[list[float], float]:  # type: ignore[no-untyped-def]
    primary = connect(state, "primary")
    delayed = connect(state, "delayed")
    rows(primary, "CREATE DATABASE IF NOT EXISTS bench")
    guard = GuardCommand(config, poll, work / f"guard-{poll}.log")
    try:
        time.sleep(1.0)
        before = cpu_seconds(guard.process.pid)
        time.sleep(5.0)
        idle_cpu = (cpu_seconds(guard.process.pid) - before) / 5.0
        samples = []
        for trial in range(trials):
            if not applier_running(delayed):
                start_applier(delayed)
            table = f"bench.t_{str(poll).replace('.', '_')}_{trial}"
            rows(primary, f"CREATE TABLE {table} (id INT)")
            time.sleep(random.uniform(*IDLE))
            started = time.perf_counter()
            rows(primary, f"DROP TABLE {table}")
            while applier_running(delayed):
                time.sleep(0.001)
            samples.append(time.perf_counter() - started)
    finally:
        guard.stop()
        primary.close()
        delayed.close()
    return samples, idle_cpu


def bare_trials(state, trials: int) -> list[float]:  # type: ignore[no-untyped-def]
    delayed = connect(state, "delayed")
    samples = []
    try:
        for _ in range(trials):
            if not applier_running(delayed):
                start_applier(delayed)
            started = time.perf_counter()
            rows(delayed, "STOP SLAVE SQL_THREAD")
            samples.append(time.perf_counter() - started)
            assert not applier_running(delayed)
        start_applier(delayed)
    finally:
        delayed.close()
    return samples


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--sweep", action="store_true", help="also try other poll intervals")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="drkit-bench-guard-"))
    directory = work / "sandbox"
    print(f"sandbox in {directory}")
    topology.up(directory, delay=3600)
    state = load_state(directory / "sandbox.json")
    assert state is not None
    config = directory / "drkit.toml"
    try:
        bare = bare_trials(state, args.trials)
        polls = sorted({POLL, 0.005, 0.05, 0.1}) if args.sweep else [POLL]
        results = {poll: guard_trials(state, config, poll, args.trials, work) for poll in polls}
    finally:
        topology.down(directory, purge=True)
    bare50, bare95 = percentile(bare, 0.5), percentile(bare, 0.95)
    print(f"\n{args.trials} trials each")
    print(f"bare STOP SLAVE SQL_THREAD round trip:   p50 {ms(bare50)}   p95 {ms(bare95)}")
    for poll, (samples, idle_cpu) in results.items():
        p50, p95 = percentile(samples, 0.5), percentile(samples, 0.95)
        mark = " (default)" if poll == POLL else ""
        print(
            f"guard, poll {poll * 1000:5.1f} ms{mark}: DROP -> applier stopped "
            f"p50 {ms(p50)}   p95 {ms(p95)}   max {ms(max(samples))}   "
            f"idle CPU {idle_cpu * 100:4.1f}%"
        )
        print(
            f"    ratio to the bare stop: p50 x{p50 / bare50:.0f}, p95 x{p95 / bare95:.0f}; "
            f"p95 {'<' if p95 < 1.0 else '>='} 1 s target; mean {ms(statistics.mean(samples))}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
