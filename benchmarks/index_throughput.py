"""Binlog indexing throughput: drkit's indexer against `mariadb-binlog -vv` over the same files.

Creates a binlog of at least --events events (default 1,000,000) with a realistic mixed workload
on the primary of a drkit sandbox (or a throwaway MariaDB with --throwaway, or a server given by
--socket), then times over the same files
  - drkit.binlog.scan_file alone (transactions, table names, row counts),
  - the whole indexer path: scan + classify + SQLite writes with checkpoints (Indexer.scan over an
    archive holding those files, into a fresh index), as configured by default (a backlog this
    long goes to a writer process: two cores), and again in one process ([index]
    writer_process = false),
  - `mariadb-binlog --base64-output=decode-rows -vv FILE > /dev/null`, the baseline,
and prints each rate and its ratio to the baseline (target for the indexer path: >= 0.5).
On a sandbox it also times `drkit index` end to end (the copy through the server's binlog tool
included), for information.

    python benchmarks/index_throughput.py [--events N] [--throwaway | --socket S --user U]
                                          [--files F ...] [--dir D]
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from drkit import config as config_module  # noqa: E402
from drkit.binlog import scan_file  # noqa: E402
from drkit.config import Config, IndexConfig, NodeConfig, PasswordSource, Role  # noqa: E402
from drkit.index.indexer import Indexer  # noqa: E402
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

# Events written per round of the procedure (measured on MariaDB 10.11), used only to size runs.
EVENTS_PER_ROUND = 20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--throwaway", action="store_true", help="a bare server, not a sandbox")
    parser.add_argument("--socket", help="use this running server instead")
    parser.add_argument("--user", default="root")
    parser.add_argument("--files", nargs="*", type=Path, help="time these binlog files only")
    parser.add_argument("--dir", type=Path, help="where the server lives (kept afterwards)")
    args = parser.parse_args()
    if args.files:
        return report(args.files)
    if args.socket:
        return report(generate_on(args.socket, args.user, args.events))
    run = run_throwaway if args.throwaway else run_sandbox
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
        return run(args.dir, args.events)
    with tempfile.TemporaryDirectory(prefix="drkit-bench-") as tmp:
        return run(Path(tmp), args.events)


def run_sandbox(base: Path, events: int) -> int:
    """A drkit sandbox (primary and two replicas), the workload on its primary, then the timings."""
    directory = base / "sandbox"
    result = topology.up(directory, delay=3600, server_options={"max-binlog-size": "256M"})
    try:
        client = SandboxLayout(directory.resolve()).node("primary").client_file
        files = generate(_client_sql(["mariadb", f"--defaults-file={client}"]), events)
        config = config_module.load(result.layout.config_file)
        return report(files, end_to_end=config)
    finally:
        topology.down(directory, purge=True)


def run_throwaway(base: Path, events: int) -> int:
    with throwaway_server(base, ["--max-binlog-size=256M"]) as server:
        files = generate(server.sql, events)
        return report(files)


def _client_sql(argv: list[str]) -> Callable[[str], str]:
    def sql(text: str) -> str:
        result = subprocess.run(
            [*argv, "-N", "-B"], input=text.encode(), capture_output=True, check=True
        )
        return result.stdout.decode()

    return sql


def generate_on(socket: str, user: str, events: int) -> list[Path]:
    return generate(
        _client_sql(["mariadb", "--no-defaults", f"--socket={socket}", f"-u{user}"]), events
    )


def generate(sql: object, events: int) -> list[Path]:
    """Run the workload until the binlog holds at least `events` events; return its files."""
    assert callable(sql)
    sql(SCHEMA)
    sql(PROCEDURE)
    first_file = sql("SHOW MASTER STATUS").split("\t")[0]
    datadir = Path(sql("SELECT @@log_bin_basename").strip()).parent
    rounds = events // EVENTS_PER_ROUND + 1
    started = time.perf_counter()
    done = 0
    chunk = 20_000
    while done < rounds:
        step = min(chunk, rounds - done)
        sql(f"CALL shop.workload({step}, {done + 1})")
        done += step
        sql("FLUSH BINARY LOGS")  # several files, as an archive has
    # One big transaction too: a bulk copy of 50k rows.
    sql(
        "USE shop; CREATE TABLE IF NOT EXISTS orders_archive LIKE orders; "
        "INSERT INTO orders_archive SELECT * FROM orders LIMIT 50000;"
    )
    sql("FLUSH BINARY LOGS")
    print(f"workload: {rounds} rounds in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    names = [line.split("\t")[0] for line in sql("SHOW BINARY LOGS").splitlines()]
    names = [name for name in names if name >= first_file][:-1]  # the last one is empty
    return [datadir / name for name in names]


def report(files: list[Path], end_to_end: Config | None = None) -> int:
    total_bytes = sum(path.stat().st_size for path in files)
    ours, transactions, events, rows = time_scan(files)
    indexed, index_seconds = time_indexer(files, writer_process=True)
    alone, alone_seconds = time_indexer(files, writer_process=False)
    theirs = time_mariadb_binlog(files)
    print(
        f"files: {len(files)}, {total_bytes / 1e6:.1f} MB, {events} events, "
        f"{transactions} transactions, {rows} rows"
    )
    assert indexed == transactions, f"the indexer stored {indexed} of {transactions} transactions"
    assert alone == transactions, f"in one process the indexer stored {alone} of {transactions}"
    for label, seconds in (
        ("drkit scan only", ours),
        ("drkit indexer path", index_seconds),
        ("  ... in one process", alone_seconds),
        ("mariadb-binlog -vv", theirs),
    ):
        print(
            f"{label + ':':23}{seconds:7.2f} s  {events / seconds:10.0f} events/s  "
            f"{transactions / seconds:9.0f} transactions/s  {total_bytes / seconds / 1e6:6.1f} MB/s"
        )
    print(f"ratio scan only / mariadb-binlog:      {theirs / ours:.2f}")
    print(f"ratio indexer path / mariadb-binlog:   {theirs / index_seconds:.2f}  (target >= 0.5)")
    print(f"ratio in one process / mariadb-binlog: {theirs / alone_seconds:.2f}")
    if end_to_end is not None:
        seconds, count = time_drkit_index(end_to_end)
        print(
            f"drkit index end to end (copy through mariadb-binlog --raw, then index): {seconds:.2f} s "
            f"for {count} transactions, {events / seconds:.0f} events/s, "
            f"ratio {theirs / seconds:.2f}"
        )
    return 0


def time_indexer(files: list[Path], *, writer_process: bool) -> tuple[int, float]:
    """Indexer.scan (scan + classify + SQLite with checkpoints) over an archive of these files."""
    with tempfile.TemporaryDirectory(prefix="drkit-bench-index-") as tmp:
        archive = Path(tmp) / "binlogs"
        archive.mkdir()
        for path in files:
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
            started = time.perf_counter()
            indexed = indexer.scan()
            return indexed, time.perf_counter() - started
        finally:
            indexer.close()


def time_drkit_index(config: Config) -> tuple[float, int]:
    """`drkit index` as an operator runs it, into a fresh index and archive."""
    with tempfile.TemporaryDirectory(prefix="drkit-bench-run-") as tmp:
        fresh = dataclasses.replace(
            config, index=IndexConfig(Path(tmp) / "index.db", Path(tmp) / "binlogs")
        )
        indexer = Indexer(fresh)
        try:
            result = indexer.run_once()
        finally:
            indexer.close()
        return result.seconds, result.new


def time_scan(files: list[Path]) -> tuple[float, int, int, int]:
    started = time.perf_counter()
    transactions = events = rows = 0
    for path in files:
        scan = scan_file(path)
        for transaction in scan:
            transactions += 1
            rows += sum(transaction.rows)
        events += scan.events
    return time.perf_counter() - started, transactions, events, rows


def time_mariadb_binlog(files: list[Path]) -> float:
    started = time.perf_counter()
    for path in files:
        subprocess.run(
            ["mariadb-binlog", "--no-defaults", "--base64-output=decode-rows", "-vv", str(path)],
            stdout=subprocess.DEVNULL,
            check=True,
        )
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
