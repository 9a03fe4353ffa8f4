"""Binlog indexing throughput: drkit's scan against `mariadb-binlog -vv` over the same files.

Creates a binlog of at least --events events (default 1,000,000) with a realistic mixed workload
on a throwaway MariaDB (or on a server given by --socket), then times
  - drkit.binlog.scan_file over every file (transactions, table names, row counts), and
  - `mariadb-binlog --base64-output=decode-rows -vv FILE > /dev/null` over the same files,
and prints both rates and their ratio (target: >= 0.5).

    python benchmarks/index_throughput.py [--events N] [--socket S --user U] [--files F ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from drkit.binlog import scan_file  # noqa: E402
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
    parser.add_argument("--socket", help="use this running server instead of a throwaway one")
    parser.add_argument("--user", default="root")
    parser.add_argument("--files", nargs="*", type=Path, help="time these binlog files only")
    parser.add_argument("--dir", type=Path, help="where the throwaway server lives (kept)")
    args = parser.parse_args()
    if args.files:
        return report(args.files)
    if args.socket:
        return report(generate_on(args.socket, args.user, args.events))
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
        return run_throwaway(args.dir, args.events)
    with tempfile.TemporaryDirectory(prefix="drkit-bench-") as tmp:
        return run_throwaway(Path(tmp), args.events)


def run_throwaway(base: Path, events: int) -> int:
    with throwaway_server(base, ["--max-binlog-size=256M"]) as server:
        files = generate(server.sql, events)
        return report(files)


def generate_on(socket: str, user: str, events: int) -> list[Path]:
    def sql(text: str) -> str:
        result = subprocess.run(
            ["mariadb", "--no-defaults", f"--socket={socket}", f"-u{user}", "-N", "-B"],
            input=text.encode(),
            capture_output=True,
            check=True,
        )
        return result.stdout.decode()

    return generate(sql, events)


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


def report(files: list[Path]) -> int:
    total_bytes = sum(path.stat().st_size for path in files)
    ours, transactions, events, rows = time_scan(files)
    theirs = time_mariadb_binlog(files)
    print(
        f"files: {len(files)}, {total_bytes / 1e6:.1f} MB, {events} events, "
        f"{transactions} transactions, {rows} rows"
    )
    print(
        f"drkit scan:            {ours:7.2f} s  {events / ours:10.0f} events/s  "
        f"{transactions / ours:9.0f} transactions/s  {total_bytes / ours / 1e6:6.1f} MB/s"
    )
    print(
        f"mariadb-binlog -vv:    {theirs:7.2f} s  {events / theirs:10.0f} events/s  "
        f"{transactions / theirs:9.0f} transactions/s  {total_bytes / theirs / 1e6:6.1f} MB/s"
    )
    print(f"ratio (drkit rate / mariadb-binlog rate): {theirs / ours:.2f}  (target >= 0.5)")
    return 0


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
