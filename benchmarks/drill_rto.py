"""RTO of the drop-table drill as the backlog grows, beside the bare server's catch-up.

For each backlog (default 1 000, 10 000 and 100 000 update transactions written before the DROP):
  - drill: the shipped drop-table drill (detect, freeze, recover --before, extract, verify) on a
    fresh sandbox; RTO = DROP committed -> the table verified back on the primary's side of recovery;
  - bare:  a second fresh sandbox with the same seeded workload and DROP, where the script itself
    runs STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=0; START SLAVE UNTIL <the DROP> on the delayed
    replica and times the catch-up alone.
Prints both and their ratio per backlog, to show how RTO grows with the backlog.

    python benchmarks/drill_rto.py [--backlogs 1000,10000,100000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from drkit import config as config_module  # noqa: E402
from drkit.dialect.sql import Sql  # noqa: E402
from drkit.drill.playbook import load_playbook  # noqa: E402
from drkit.drill.runner import DrillRunner, RunOptions  # noqa: E402
from drkit.io.mysql import connect  # noqa: E402
from drkit.sandbox import topology  # noqa: E402

PLAYBOOK = ROOT / "playbooks" / "drills" / "drop-table.yaml"


def drill_rto(backlog: int, work: Path) -> float:
    book = load_playbook(PLAYBOOK, {"backlog": str(backlog), "rows": "2000"})
    report = DrillRunner(book, RunOptions(work_dir=work / f"drill-{backlog}")).run()
    if not report.passed or report.metrics.rto is None:
        failed = [s for s in report.steps if not s.ok]
        raise SystemExit(f"drill failed at backlog {backlog}: {failed}")
    return report.metrics.rto


def bare_catch_up(backlog: int, work: Path) -> float:
    # The same workload and disaster as the drill, up to the DROP, then the bare server's UNTIL.
    book = load_playbook(PLAYBOOK, {"backlog": str(backlog), "rows": "2000"})
    prefix = book.steps[: [s.kind for s in book.steps].index("detect")]
    from dataclasses import replace

    runner = DrillRunner(
        replace(book, steps=prefix), RunOptions(work_dir=work / f"bare-{backlog}", keep=True)
    )
    report = runner.run()
    assert report.passed, [s for s in report.steps if not s.ok]
    sandbox = runner.sandbox_dir
    assert sandbox is not None
    try:
        config = config_module.load(sandbox / "drkit.toml")
        primary = connect(config.node("primary"))
        target = primary.one(Sql("SELECT @@gtid_binlog_pos AS g", changes=False))["g"]  # type: ignore[index]
        primary.close()
        drop_file, drop_start = _drop_start(config)
        delayed = connect(config.node("delayed"))
        while delayed.one(Sql("SHOW SLAVE STATUS", changes=False))["Gtid_IO_Pos"] != target:  # type: ignore[index]
            time.sleep(0.05)
        started = time.monotonic()
        for text in (
            "STOP SLAVE",
            "CHANGE MASTER TO MASTER_DELAY = 0",
            f"START SLAVE UNTIL MASTER_LOG_FILE = '{drop_file}', MASTER_LOG_POS = {drop_start}",
        ):
            delayed.run(Sql(text))
        while delayed.one(Sql("SHOW SLAVE STATUS", changes=False))["Slave_SQL_Running"] == "Yes":  # type: ignore[index]
            time.sleep(0.02)
        elapsed = time.monotonic() - started
        tables = delayed.one(
            Sql(
                "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_NAME = 'orders'",
                changes=False,
            )
        )
        assert tables and tables["n"] == 1, "the bare catch-up stopped before the DROP"
        delayed.close()
        return elapsed
    finally:
        topology.down(sandbox, purge=True)


def _drop_start(config: config_module.Config) -> tuple[str, int]:
    """Where the DROP starts in the primary's binlog, from drkit's index (the same data)."""
    from drkit.index.indexer import Indexer
    from drkit.index.store import IndexStore

    with Indexer(config) as indexer:
        indexer.run_once()
    with IndexStore(config.index.path, readonly=True) as store:
        drop = store.latest_destructive()
    assert drop is not None
    return drop.file, drop.start_pos


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backlogs", default="1000,10000,100000")
    args = parser.parse_args()
    backlogs = [int(x) for x in args.backlogs.split(",")]
    work = Path(tempfile.mkdtemp(prefix="drkit-bench-rto-"))
    print(f"{'backlog':>8}  {'drill RTO':>10}  {'bare catch-up':>13}  {'ratio':>6}")
    for backlog in backlogs:
        rto = drill_rto(backlog, work)
        bare = bare_catch_up(backlog, work)
        print(f"{backlog:>8}  {rto:>9.2f}s  {bare:>12.2f}s  {rto / bare:>6.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
