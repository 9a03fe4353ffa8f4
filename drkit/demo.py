"""`make demo`: the drop-table drill on a local sandbox, told as the story of an incident."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from drkit.drill.playbook import StepSpec, load_playbook
from drkit.drill.reports import write_reports
from drkit.drill.runner import DrillReport, DrillRunner, RunOptions, StepResult
from drkit.errors import DrkitError
from drkit.sandbox import topology

PLAYBOOK = Path(__file__).resolve().parents[1] / "playbooks" / "drills" / "drop-table.yaml"

# What to tell the reader before each step of the drop-table drill, by step number.
STORY = {
    1: "A production-like topology starts on this machine: a primary, a replica, and a replica "
    "that applies every change an hour late.",
    2: "The shop application writes orders and customers.",
    3: "drkit fingerprints the tables (row counts and checksums) so the rescue can be proven.",
    4: "drkit indexes the primary's binlog: every transaction with its GTID, position and tables.",
    5: "Disaster: someone runs DROP TABLE shop.orders on the primary. The replica drops it at once.",
    6: "drkit reads the new binlog events and flags the DROP as destructive.",
    7: "drkit freezes the delayed replica: it still has shop.orders, and now it keeps it.",
    8: "drkit rolls the delayed replica forward to the transaction just before the DROP.",
    9: "Checking the rescued copy against the fingerprint taken before the disaster.",
    10: "drkit copies the rescued table back into the primary with the server's own dump tool.",
    11: "Checking the primary's restored table against the same fingerprint.",
    12: "The delayed replica goes back to its hour of delay, ready for the next mistake.",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drkit.demo", description=__doc__)
    parser.add_argument(
        "--dir", type=Path, default=Path("demo"), help="Where the demo sandbox lives."
    )
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--backlog", type=int, default=500)
    args = parser.parse_args(argv)
    try:
        return run(args.dir, args.rows, args.backlog)
    except DrkitError as exc:
        print(f"demo: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return int(exc.exit_code)


def run(directory: Path, rows: int, backlog: int) -> int:
    directory = directory.resolve()
    # A demo starts from nothing, every time: the previous run's sandbox goes first.
    topology.down(directory / "sandbox", purge=True)
    playbook = load_playbook(PLAYBOOK, {"rows": str(rows), "backlog": str(backlog)})
    narrator = Narrator()
    runner = DrillRunner(playbook, RunOptions(work_dir=directory, keep=True), on_step=narrator.step)
    print("drkit demo: a DROP TABLE on the primary, and its recovery from the delayed replica\n")
    report = runner.run()
    paths = write_reports(report, directory / "report")
    print()
    print(outcome(report))
    print(f"\nThe full report: {paths[1]} (also report.json and junit.xml beside it).")
    config = directory / "sandbox" / "drkit.toml"
    print("The sandbox is still running. Try:")
    print(f"  .venv/bin/drkit --config {config} status")
    print(f"  .venv/bin/drkit --config {config} events --destructive")
    print(f"  .venv/bin/drkit --config {config} tui")
    print("Noticed too late (the delayed replica applied it too)? The archive's row images:")
    print(f"  .venv/bin/drkit --config {config} history --table shop.orders --key id=1")
    print(f"  .venv/bin/drkit --config {config} flashback ID --dry-run   # a DELETE or UPDATE")
    print(f"  .venv/bin/drkit sandbox down --dir {directory / 'sandbox'} --purge")
    return 0 if report.passed else 1


class Narrator:
    """Prints the story line of each step, then what happened, as the drill goes."""

    def __init__(self) -> None:
        self.count = 0

    def step(self, spec: StepSpec, result: StepResult | None) -> None:
        if result is None:
            self.count += 1
            print(f"{self.count:>2}. {STORY.get(self.count, spec.title)}")
        elif result.ok:
            print(f"    -> {result.detail} ({result.seconds:.2f}s)")
        else:
            print(f"    !! FAILED: {result.error}")


def outcome(report: DrillReport) -> str:
    m = report.metrics
    found: dict[str, Any] = next(
        (s.data.get("transaction", {}) for s in report.steps if s.kind == "detect"), {}
    )
    lines = ["What drkit found:"]
    if found:
        lines.append(
            f"  #{found.get('id')} GTID {found.get('gtid')} at {found.get('file')}:{found.get('start_pos')}: "
            f"{(found.get('destructive') or {}).get('reason', '')}"
        )
    lines.append("The numbers:")
    lines.append(f"  time to detect the DROP        {_seconds(m.time_to_detect)}")
    lines.append(f"  time to freeze the replica     {_seconds(m.time_to_freeze)}")
    lines.append(f"  time to recover (RTO)          {_seconds(m.rto)}")
    lines.append(f"  transactions lost (RPO)        {'-' if m.rpo is None else m.rpo}")
    lines.append(
        f"  verifications matched          {m.verifications - m.verifications_failed}/{m.verifications}"
    )
    lines.append(
        "Result: "
        + (
            "the table is back on the primary, row for row."
            if report.passed
            else "the drill FAILED."
        )
    )
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


if __name__ == "__main__":
    sys.exit(main())
