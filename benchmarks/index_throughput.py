"""Binlog indexing throughput: drkit's indexer against `mariadb-binlog -vv` over the same files.

Two workload shapes, each written into binlog files of its own (at least --events events each,
default 1,000,000) on the primary of a drkit sandbox (or a throwaway MariaDB with --throwaway, or
a server given by --socket):
  - mixed: the shop workload below (single-row inserts and updates, a few mass changes, one
    50k-row INSERT ... SELECT);
  - oltp: what sysbench's `oltp_read_write` writes to the binlog (its reads never reach it): per
    transaction an index update, a non-index update, a delete and an insert of the same id, on
    tables drawn from 8 `sbtestN` tables of 10,000 rows, as sysbench writes them (a stored
    procedure generates them: no sysbench needed).
For each shape, over the same files, --repeat times interleaved (the best of each is kept: this
2-core machine is shared, and a neighbour's burst slows a run, never speeds one up):
  - drkit.binlog.scan_file alone (transactions, table names, row counts),
  - the indexer path: scan + classify + SQLite with checkpoints (Indexer.scan over an archive
    holding those files, into a fresh index) as configured by default (a backlog this long goes
    to a writer process: two cores), and in one process ([index] writer_process = false),
  - `mariadb-binlog --base64-output=decode-rows -vv FILE > /dev/null`, the baseline;
and prints each rate, its ratio to the baseline, and the CPU seconds each used. On a sandbox it
also times `drkit index` end to end as an operator runs it (its own process, a fresh index and
archive, the copy through the server's binlog tool included) against `mariadb-binlog -vv` over
the same files (all the primary's), with its peak RSS (writer process included): target >= 1.0.
With --end-to-end-only, only that last part runs, on the sandbox already running in D/sandbox (one
a run with --dir D left behind with --keep-sandbox, or any `drkit sandbox up` there), without
writing anything to its primary.

    python benchmarks/index_throughput.py [--events N] [--repeat R] [--workload mixed|oltp|both]
                                          [--throwaway | --socket S --user U]
                                          [--files F ...] [--dir D [--keep-sandbox]]
                                          [--end-to-end-only --dir D]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from drkit.binlog import scan_file  # noqa: E402
from drkit.config import Config, IndexConfig, NodeConfig, PasswordSource, Role  # noqa: E402
from drkit.config.loading import load as load_config  # noqa: E402
from drkit.index.indexer import Indexer  # noqa: E402
from drkit.io.archive import ArchiveWriter  # noqa: E402
from drkit.sandbox import topology  # noqa: E402
from drkit.sandbox.layout import SandboxLayout  # noqa: E402
from tests.support.throwaway_server import throwaway_server  # noqa: E402

SCHEMA = """
CREATE DATABASE IF NOT EXISTS shop;
USE shop;
DROP TABLE IF EXISTS customers, orders, order_log, counters;
CREATE TABLE customers (
  id INT UNSIGNED PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  email VARCHAR(200) NOT NULL,
  country CHAR(2) NOT NULL,
  balance DECIMAL(14,4) NOT NULL DEFAULT 0,
  birth DATE NULL,
  active TINYINT NOT NULL DEFAULT 1,
  score DOUBLE NULL,
  updated TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB;
CREATE TABLE orders (
  id BIGINT UNSIGNED PRIMARY KEY AUTO_INCREMENT,
  customer_id INT UNSIGNED NOT NULL,
  status ENUM('new','paid','shipped','cancelled') NOT NULL DEFAULT 'new',
  amount DECIMAL(12,2) NOT NULL,
  currency CHAR(3) NOT NULL DEFAULT 'EUR',
  note VARCHAR(255) NULL,
  tags SET('gift','express','fragile') NOT NULL DEFAULT '',
  created DATETIME(6) NOT NULL,
  details TEXT NULL,
  KEY (customer_id)
) ENGINE=InnoDB;
CREATE TABLE order_log (
  id BIGINT UNSIGNED PRIMARY KEY AUTO_INCREMENT,
  order_id BIGINT UNSIGNED NOT NULL,
  kind SMALLINT NOT NULL,
  at DATETIME NOT NULL,
  data JSON NULL
) ENGINE=InnoDB;
CREATE TABLE counters (id INT PRIMARY KEY, hits BIGINT NOT NULL, last INT NOT NULL) ENGINE=InnoDB;
"""

PROCEDURE = """
USE shop;
DROP PROCEDURE IF EXISTS workload;
DELIMITER //
CREATE PROCEDURE workload(IN rounds INT, IN first_customer INT)
BEGIN
  DECLARE i INT DEFAULT 0;
  DECLARE c INT;
  DECLARE o BIGINT;
  WHILE i < rounds DO
    SET c = first_customer + i;
    INSERT INTO customers (id, name, email, country, balance, birth, active, score)
      VALUES (c, CONCAT('Customer ', c), CONCAT('c', c, '@example.com'),
              ELT(1 + c % 4, 'FR', 'DE', 'NL', 'PT'), c % 1000 + 0.1234,
              IF(c % 3 = 0, NULL, DATE('1970-01-01') + INTERVAL c % 15000 DAY), c % 2,
              IF(c % 5 = 0, NULL, c / 7));
    START TRANSACTION;
      INSERT INTO orders (customer_id, status, amount, note, tags, created, details)
        VALUES (c, 'new', (c % 50000) / 100, IF(c % 2 = 0, NULL, CONCAT('note ', c)),
                IF(c % 3 = 0, 'gift,express', ''), NOW(6),
                IF(c % 10 = 0, REPEAT('detail ', 20), NULL));
      SET o = LAST_INSERT_ID();
      UPDATE customers SET balance = balance - 1.5, score = c * 1.25 WHERE id = c;
      INSERT INTO order_log (order_id, kind, at, data)
        VALUES (o, 1, NOW(), IF(c % 4 = 0, JSON_OBJECT('order', o, 'by', c), NULL));
    COMMIT;
    INSERT INTO counters VALUES (c % 100, 1, c) ON DUPLICATE KEY UPDATE hits = hits + 1, last = c;
    IF i % 7 = 0 THEN
      UPDATE orders SET status = 'paid' WHERE id = o;
    END IF;
    IF i % 500 = 499 THEN
      UPDATE orders SET status = 'shipped', note = 'batch'
        WHERE status = 'paid' AND id > o - 500;
      DELETE FROM order_log WHERE order_id > o - 400 AND order_id < o - 300;
    END IF;
    SET i = i + 1;
  END WHILE;
END//
DELIMITER ;
"""

OLTP_TABLES = 8
OLTP_TABLE_SIZE = 10_000
OLTP_SCHEMA = "CREATE DATABASE IF NOT EXISTS sbtest; USE sbtest;\n" + "".join(
    f"""
DROP TABLE IF EXISTS sbtest{n};
CREATE TABLE sbtest{n} (
  id INT NOT NULL AUTO_INCREMENT,
  k INT NOT NULL DEFAULT 0,
  c CHAR(120) NOT NULL DEFAULT '',
  pad CHAR(60) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  KEY k_{n} (k)
) ENGINE=InnoDB;
INSERT INTO sbtest{n} (id, k, c, pad)
  SELECT seq, FLOOR(1 + RAND() * {OLTP_TABLE_SIZE}), REPEAT('83868641912-', 10),
         REPEAT('67847967377-', 5)
  FROM seq_1_to_{OLTP_TABLE_SIZE};
"""
    for n in range(1, OLTP_TABLES + 1)
)

# One random group of digits as sysbench's c and pad columns are made of, repeated.
_DIGITS = "LPAD(FLOOR(RAND() * 99999999999), 11, '0')"
_C = f"SUBSTRING(REPEAT(CONCAT({_DIGITS}, '-'), 10), 1, 119)"
_PAD = f"SUBSTRING(REPEAT(CONCAT({_DIGITS}, '-'), 5), 1, 59)"
_TABLE = f"FLOOR(1 + RAND() * {OLTP_TABLES})"
_ID = f"FLOOR(1 + RAND() * {OLTP_TABLE_SIZE})"
# sysbench's oltp_read_write writes, per transaction (its reads are not binlogged):
#   UPDATE sbtestN SET k=k+1 WHERE id=?      (index_updates, on a random table)
#   UPDATE sbtestN SET c=? WHERE id=?        (non_index_updates, on a random table)
#   DELETE FROM sbtestN WHERE id=?, then INSERT INTO sbtestN (id, k, c, pad) VALUES (?, ?, ?, ?)
#                                            (delete_inserts, one random table, the same id)
OLTP_PROCEDURE = f"""
USE sbtest;
DROP PROCEDURE IF EXISTS oltp_read_write;
DELIMITER //
CREATE PROCEDURE oltp_read_write(IN rounds INT)
BEGIN
  DECLARE i INT DEFAULT 0;
  DECLARE t INT;
  DECLARE r INT;
  WHILE i < rounds DO
    START TRANSACTION;
      EXECUTE IMMEDIATE CONCAT('UPDATE sbtest', {_TABLE}, ' SET k=k+1 WHERE id=', {_ID});
      EXECUTE IMMEDIATE CONCAT('UPDATE sbtest', {_TABLE}, ' SET c=''', {_C}, ''' WHERE id=', {_ID});
      SET t = {_TABLE};
      SET r = {_ID};
      EXECUTE IMMEDIATE CONCAT('DELETE FROM sbtest', t, ' WHERE id=', r);
      EXECUTE IMMEDIATE CONCAT('INSERT INTO sbtest', t, ' (id, k, c, pad) VALUES (', r, ', ',
        {_ID}, ', ''', {_C}, ''', ''', {_PAD}, ''')');
    COMMIT;
    SET i = i + 1;
  END WHILE;
END//
DELIMITER ;
"""

# Events written per round of each procedure (measured on MariaDB 10.11), used only to size runs.
EVENTS_PER_ROUND = {"mixed": 20, "oltp": 14}
WORKLOADS = ("mixed", "oltp")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="per workload shape")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds, the best kept")
    parser.add_argument("--workload", choices=(*WORKLOADS, "both"), default="both")
    parser.add_argument("--throwaway", action="store_true", help="a bare server, not a sandbox")
    parser.add_argument("--socket", help="use this running server instead")
    parser.add_argument("--user", default="root")
    parser.add_argument("--files", nargs="*", type=Path, help="time these binlog files only")
    parser.add_argument("--dir", type=Path, help="where the server lives")
    parser.add_argument(
        "--keep-sandbox", action="store_true", help="leave the sandbox in --dir running"
    )
    parser.add_argument(
        "--end-to-end-only",
        action="store_true",
        help="time only `drkit index` end to end, on the sandbox running in --dir",
    )
    args = parser.parse_args()
    workloads = WORKLOADS if args.workload == "both" else (args.workload,)
    if args.end_to_end_only:
        if not args.dir:
            parser.error("--end-to-end-only needs --dir: the folder holding a running sandbox")
        return end_to_end_on(args.dir / "sandbox", args.repeat)
    if args.files:
        return report({"given files": args.files}, args.repeat)
    if args.socket:
        sql = _client_sql(["mariadb", "--no-defaults", f"--socket={args.socket}", f"-u{args.user}"])
        return report(generate_all(sql, args.events, workloads), args.repeat)

    def run(base: Path) -> int:
        if args.throwaway:
            return run_throwaway(base, args.events, workloads, args.repeat)
        return run_sandbox(base, args.events, workloads, args.repeat, keep=args.keep_sandbox)

    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
        return run(args.dir)
    with tempfile.TemporaryDirectory(prefix="drkit-bench-") as tmp:
        return run(Path(tmp))


def run_sandbox(
    base: Path, events: int, workloads: tuple[str, ...], repeat: int, *, keep: bool = False
) -> int:
    """A drkit sandbox (primary and two replicas), the workloads on its primary, the timings."""
    directory = base / "sandbox"
    result = topology.up(directory, delay=3600, server_options={"max-binlog-size": "256M"})
    try:
        sql = _primary_sql(directory)
        report(generate_all(sql, events, workloads), repeat)
        end_to_end(result.layout.config_file, binlog_files(sql), repeat)
        return 0
    finally:
        if not keep:
            topology.down(directory, purge=True)


def end_to_end_on(directory: Path, repeat: int) -> int:
    """`drkit index` end to end on a running sandbox's primary, as it is (nothing written to it)."""
    layout = SandboxLayout(directory.resolve())
    if not layout.config_file.exists():
        print(
            f"no sandbox in {directory}: run with --dir and --keep-sandbox first", file=sys.stderr
        )
        return 2
    end_to_end(layout.config_file, binlog_files(_primary_sql(directory)), repeat)
    return 0


def _primary_sql(directory: Path) -> Callable[[str], str]:
    client = SandboxLayout(directory.resolve()).node("primary").client_file
    return _client_sql(["mariadb", f"--defaults-file={client}"])


def run_throwaway(base: Path, events: int, workloads: tuple[str, ...], repeat: int) -> int:
    with throwaway_server(base, ["--max-binlog-size=256M"]) as server:
        return report(generate_all(server.sql, events, workloads), repeat)


def _client_sql(argv: list[str]) -> Callable[[str], str]:
    def sql(text: str) -> str:
        result = subprocess.run(
            [*argv, "-N", "-B"], input=text.encode(), capture_output=True, check=True
        )
        return result.stdout.decode()

    return sql


def generate_all(
    sql: Callable[[str], str], events: int, workloads: tuple[str, ...]
) -> dict[str, list[Path]]:
    return {workload: generate(sql, workload, events) for workload in workloads}


def generate(sql: Callable[[str], str], workload: str, events: int) -> list[Path]:
    """Run one workload until its own binlog files hold at least `events` events; return them."""
    sql("FLUSH BINARY LOGS")  # the shape's files hold its workload alone
    if workload == "mixed":
        sql(SCHEMA)
        sql(PROCEDURE)
    else:
        sql(OLTP_SCHEMA)
        sql(OLTP_PROCEDURE)
    first_file = sql("SHOW MASTER STATUS").split("\t")[0]
    rounds = events // EVENTS_PER_ROUND[workload] + 1
    started = time.perf_counter()
    done = 0
    chunk = 20_000
    while done < rounds:
        step = min(chunk, rounds - done)
        if workload == "mixed":
            sql(f"CALL shop.workload({step}, {done + 1})")
        else:
            sql(f"CALL sbtest.oltp_read_write({step})")
        done += step
        sql("FLUSH BINARY LOGS")  # several files, as an archive has
    if workload == "mixed":
        # One big transaction too: a bulk copy of 50k rows.
        sql(
            "USE shop; CREATE TABLE IF NOT EXISTS orders_archive LIKE orders; "
            "INSERT INTO orders_archive SELECT * FROM orders LIMIT 50000;"
        )
        sql("FLUSH BINARY LOGS")
    print(
        f"{workload} workload: {rounds} rounds in {time.perf_counter() - started:.1f}s",
        file=sys.stderr,
    )
    files = binlog_files(sql)
    return [path for path in files if path.name >= first_file][:-1]  # the last one is empty


def binlog_files(sql: Callable[[str], str]) -> list[Path]:
    """Every binlog file the server has, oldest first."""
    datadir = Path(sql("SELECT @@log_bin_basename").strip()).parent
    return [datadir / line.split("\t")[0] for line in sql("SHOW BINARY LOGS").splitlines()]


Result = TypeVar("Result")


@dataclasses.dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float  # this process's and its children's (a writer process, mariadb-binlog)
    peak_rss_mb: float = 0.0


def measured(work: Callable[[], Result]) -> tuple[Timing, Result]:
    before_self = resource.getrusage(resource.RUSAGE_SELF)
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = work()
    wall = time.perf_counter() - started
    after_self = resource.getrusage(resource.RUSAGE_SELF)
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(
        getattr(after, field) - getattr(before, field)
        for before, after in ((before_self, after_self), (before_children, after_children))
        for field in ("ru_utime", "ru_stime")
    )
    return Timing(wall, cpu), result


def report(shapes: dict[str, list[Path]], repeat: int) -> int:
    for workload, files in shapes.items():
        report_shape(workload, files, repeat)
    return 0


def report_shape(workload: str, files: list[Path], repeat: int) -> None:
    total_bytes = sum(path.stat().st_size for path in files)
    runs: dict[str, list[Timing]] = {label: [] for label in LABELS}
    counts: tuple[int, int, int] = (0, 0, 0)
    for _ in range(repeat):
        # Interleaved: a neighbour's burst falls on one round of each, not on all of one.
        timing, _ = measured(lambda: time_mariadb_binlog(files))
        runs[BASELINE].append(timing)
        timing, counts = measured(lambda: scan_counts(files))
        runs[SCAN].append(timing)
        for label, in_process in ((INDEXER, True), (ALONE, False)):

            def index_here(in_process: bool = in_process) -> int:
                return index_files(files, writer_process=in_process)

            timing, indexed = measured(index_here)
            assert indexed == counts[0], f"{label}: stored {indexed} of {counts[0]} transactions"
            runs[label].append(timing)
    transactions, events, rows = counts
    print(
        f"== {workload}: {len(files)} files, {total_bytes / 1e6:.1f} MB, {events} events, "
        f"{transactions} transactions, {rows} rows; best of {repeat}"
    )
    best = {label: min(timings, key=lambda t: t.wall) for label, timings in runs.items()}
    for label, timing in best.items():
        print(
            f"{label + ':':23}{timing.wall:7.2f} s  {events / timing.wall:10.0f} events/s  "
            f"{transactions / timing.wall:9.0f} transactions/s  "
            f"{total_bytes / timing.wall / 1e6:6.1f} MB/s  cpu {timing.cpu:6.2f} s"
        )
    theirs = best[BASELINE]
    for label in (SCAN, INDEXER, ALONE):
        rounds = " ".join(
            f"{base.wall / ours.wall:.2f}"
            for base, ours in zip(runs[BASELINE], runs[label], strict=True)
        )
        print(
            f"ratio {label.strip(' .') + ' / mariadb-binlog:':36} "
            f"{theirs.wall / best[label].wall:.2f}  (each round: {rounds}; "
            f"cpu {theirs.cpu / best[label].cpu:.2f})"
        )


BASELINE = "mariadb-binlog -vv"
SCAN = "drkit scan only"
INDEXER = "drkit indexer path"
ALONE = "  ... in one process"
LABELS = (SCAN, INDEXER, ALONE, BASELINE)


def index_files(
    files: list[Path], *, writer_process: bool, contents: list[dict[str, str]] | None = None
) -> int:
    """Indexer.scan (scan + classify + SQLite with checkpoints) over an archive of these files;
    the index's contents (`index_contents`) are appended to `contents` when given."""
    with tempfile.TemporaryDirectory(prefix="drkit-bench-index-") as tmp:
        archive = Path(tmp) / "binlogs"
        archive.mkdir()
        for path in files:
            # A hard link when it can: the copy is the copier's work, timed end to end only.
            if path.stat().st_dev == archive.stat().st_dev:
                os.link(path, archive / path.name)
            else:
                shutil.copyfile(path, archive / path.name)
        primary = NodeConfig(
            "primary", Role.PRIMARY, "127.0.0.1", 1, "nobody", PasswordSource(literal="")
        )
        config = Config(
            Path(tmp) / "drkit.toml",
            {"primary": primary},
            IndexConfig(Path(tmp) / "index.db", archive, writer_process=writer_process),
        )
        indexer = Indexer(config)
        try:
            count = indexer.scan()
        finally:
            indexer.close()
        if contents is not None:
            contents.append(index_contents(config.index.path))
        return count


def index_contents(index: Path) -> dict[str, str]:
    """A digest of every row of every table of an index, in a fixed order: equal digests, equal
    indexes. Left out: `meta` (it names the primary only when `drkit index` asked it) and the
    time a checkpoint was written (`checkpoint.updated_at`), which differ from run to run."""
    conn = sqlite3.connect(index)
    try:
        tables = [
            str(row[0])
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'meta' "
                "ORDER BY name"
            )
        ]
        digests = {}
        for table in tables:
            columns = [
                f'"{row[1]}"'
                for row in conn.execute(f'PRAGMA table_info("{table}")')
                if (table, row[1]) != ("checkpoint", "updated_at")
            ]
            listed = ", ".join(columns)
            digest = hashlib.sha256()
            for row in conn.execute(f'SELECT {listed} FROM "{table}" ORDER BY {listed}'):
                digest.update(repr(row).encode())
            digests[table] = digest.hexdigest()
        return digests
    finally:
        conn.close()


def end_to_end(config_file: Path, files: list[Path], repeat: int) -> None:
    """`drkit index` as an operator runs it (its own process), into a fresh index and archive,
    against mariadb-binlog -vv over every file the primary has; and, in the same rounds, its two
    parts alone: the indexer path over the same files already archived, and the copy alone."""
    runs: dict[str, list[Timing]] = {label: [] for label in END_TO_END_LABELS}
    indexed = 0
    primary = load_config(config_file).require_primary()
    for round_number in range(repeat):
        timing, _ = measured(lambda: time_mariadb_binlog(files))
        runs[BASELINE].append(timing)
        found: dict[str, tuple[int, dict[str, str]]] = {}

        def index_end_to_end(
            number: int = round_number, into: dict[str, tuple[int, dict[str, str]]] = found
        ) -> None:
            timing, indexed, contents = drkit_index(config_file, number)
            runs[END_TO_END].append(timing)
            into[END_TO_END] = (indexed, contents)

        def index_archived(into: dict[str, tuple[int, dict[str, str]]] = found) -> None:
            contents: list[dict[str, str]] = []
            timing, indexed = measured(
                lambda: index_files(files, writer_process=True, contents=contents)
            )
            runs[INDEXER].append(timing)
            into[INDEXER] = (indexed, contents[0])

        # Each first in turn: the one that runs second pays for the first one's writeback.
        for step in (index_end_to_end, index_archived)[:: 1 if round_number % 2 == 0 else -1]:
            step()
        indexed = found[END_TO_END][0]
        assert found[INDEXER][0] == indexed, f"indexer path: {found[INDEXER][0]} of {indexed}"
        # The same index whether the files are scanned while copied or after: every table.
        assert found[END_TO_END][1] == found[INDEXER][1], "drkit index wrote another index"
        timing, _ = measured(lambda: copy_alone(primary, files[0].name))
        runs[COPY].append(timing)
    best = {label: min(timings, key=lambda t: t.wall) for label, timings in runs.items()}
    size = sum(path.stat().st_size for path in files)
    print(
        f"== drkit index end to end (own process, fresh index and archive, copy included): "
        f"{len(files)} files, {size / 1e6:.1f} MB, {indexed} transactions; best of {repeat}"
    )
    ours = best[END_TO_END]
    print(
        f"{END_TO_END + ':':36}{ours.wall:7.2f} s  cpu {ours.cpu:6.2f} s  "
        f"peak RSS {ours.peak_rss_mb:.0f} MB (the largest of its processes)"
    )
    for label in (INDEXER, COPY, BASELINE):
        print(f"{label + ':':36}{best[label].wall:7.2f} s  cpu {best[label].cpu:6.2f} s")
    for label, target in ((BASELINE, "; target >= 1.0"), (INDEXER, "")):
        rounds = " ".join(
            f"{base.wall / o.wall:.2f}"
            for base, o in zip(runs[label], runs[END_TO_END], strict=True)
        )
        print(
            f"ratio drkit index end to end / {label}: {best[label].wall / ours.wall:.2f}"
            f"  (each round: {rounds}{target})"
        )


END_TO_END = "drkit index"
COPY = "copy alone (mariadb-binlog --raw)"
END_TO_END_LABELS = (END_TO_END, INDEXER, COPY, BASELINE)


def copy_alone(primary: NodeConfig, first_file: str) -> None:
    """The copy `drkit index` starts, alone: the server's tool into a fresh folder."""
    with tempfile.TemporaryDirectory(prefix="drkit-bench-copy-") as tmp:
        ArchiveWriter(primary, Path(tmp) / "binlogs").fetch_to_last(first_file)


# Runs a command and reports the CPU seconds and peak RSS of it and its children alone.
_RUSAGE_WRAPPER = (
    "import resource, subprocess, sys, time\n"
    "started = time.perf_counter()\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "wall = time.perf_counter() - started\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(code, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)\n"
)


def drkit_index(config_file: Path, round_number: int) -> tuple[Timing, int, dict[str, str]]:
    folder = config_file.parent / f"bench-{round_number}"
    bench_config = config_file.with_name(f"drkit-bench-{round_number}.toml")
    text = config_file.read_text()
    text = text.replace('path = "index.db"', f'path = "{folder.name}/index.db"', 1)
    text = text.replace('archive_dir = "binlogs"', f'archive_dir = "{folder.name}/binlogs"', 1)
    bench_config.write_text(text)
    bench_config.chmod(0o600)
    try:
        command = [sys.executable, "-m", "drkit", "--config", str(bench_config), "index"]
        result = subprocess.run(
            [sys.executable, "-c", _RUSAGE_WRAPPER, *command],
            capture_output=True,
            text=True,
            check=True,
        )
        code, wall, cpu, peak_kb = result.stdout.split()
        assert code == "0", f"drkit index exited {code}: {result.stderr}"
        with sqlite3.connect(folder / "index.db") as conn:
            indexed = int(conn.execute("SELECT COUNT(*) FROM transactions").fetchone()[0])
        writers = result.stderr.count("with a writer process")
        assert writers == 1, f"drkit index started {writers} writer processes:\n{result.stderr}"
        timing = Timing(float(wall), float(cpu), int(peak_kb) / 1024)
        return timing, indexed, index_contents(folder / "index.db")
    finally:
        bench_config.unlink()
        shutil.rmtree(folder, ignore_errors=True)


def scan_counts(files: list[Path]) -> tuple[int, int, int]:
    """Transactions, events and rows of the files, as drkit's scanner reads them."""
    transactions = events = rows = 0
    for path in files:
        scan = scan_file(path)
        for transaction in scan:
            transactions += 1
            rows += sum(transaction.rows)
        events += scan.events
    return transactions, events, rows


def time_mariadb_binlog(files: list[Path]) -> None:
    for path in files:
        subprocess.run(
            ["mariadb-binlog", "--no-defaults", "--base64-output=decode-rows", "-vv", str(path)],
            stdout=subprocess.DEVNULL,
            check=True,
        )


if __name__ == "__main__":
    sys.exit(main())
