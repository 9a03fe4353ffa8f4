"""`drkit index --follow` against a live sandbox primary: new transactions arrive in the index, a
rotation and primary restarts (crash and clean) lose nothing, Ctrl-C stops cleanly, and an indexer
killed with SIGKILL at random moments of a heavy workload resumes exactly."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.support.indexing import (
    archive_differences,
    copier_pids,
    drkit_argv,
    following,
    index_starts,
    indexed_gtids,
    primary_starts,
    wait_indexed,
    writer_pids,
)
from tests.support.sandbox import Sandbox, pids_alive, wait_for

pytestmark = pytest.mark.integration

FILL = """
CREATE PROCEDURE w.fill(IN rounds INT)
BEGIN
  DECLARE i INT DEFAULT 0;
  WHILE i < rounds DO
    INSERT INTO w.t (v) VALUES (i);
    IF i % 10 = 0 THEN
      START TRANSACTION;
        INSERT INTO w.t (v) VALUES (-i);
        UPDATE w.t SET v = v + 1 WHERE id = LAST_INSERT_ID();
      COMMIT;
    END IF;
    IF i % 500 = 0 THEN
      INSERT INTO w.t (v) SELECT seq FROM w.seq_1_to_300;
    END IF;
    IF i % 1000 = 999 THEN
      INSERT INTO w.scratch VALUES (i);
      DELETE FROM w.scratch;
    END IF;
    SET i = i + 1;
  END WHILE;
END
"""


@pytest.fixture(scope="module")
def box(module_box: Sandbox) -> Sandbox:
    module_box.sql(
        "primary",
        "CREATE DATABASE w",
        "CREATE TABLE w.t (id INT PRIMARY KEY AUTO_INCREMENT, v INT NOT NULL)",
        "CREATE TABLE w.scratch (id INT PRIMARY KEY)",
        FILL,
    )
    return module_box


def write(box: Sandbox, count: int = 1) -> set[str]:
    """`count` autocommit inserts on the primary; their GTIDs."""
    conn = box.connect("primary")
    try:
        cur = conn.cursor()
        gtids = set()
        for n in range(count):
            cur.execute(f"INSERT INTO w.t (v) VALUES ({n})")
            cur.execute("SELECT @@last_gtid")
            gtids.add(str(cur.fetchone()[0]))
        return gtids
    finally:
        conn.close()


def test_follow_indexes_new_transactions_as_they_commit(box: Sandbox, tmp_path: Path) -> None:
    index = box.config().index.path
    archive = box.config().index.archive_dir
    log = tmp_path / "follow.log"
    with following(box, log) as follower:
        for _ in range(3):
            gtid = write(box)
            wait_indexed(index, gtid, timeout=10)
        # A destructive one among others: the follower names it (and only it) as it arrives.
        box.sql("primary", "INSERT INTO w.scratch VALUES (1), (2)", "DELETE FROM w.scratch")
        gtid = write(box)
        wait_indexed(index, gtid, timeout=10)
        wait_for(lambda: "DESTRUCTIVE" in log.read_text(), timeout=10, what="the warning")
        assert follower.poll() is None
        # One writer at a time: a second indexer is turned away, naming the one at work.
        second = box.drkit("index")
        assert second.returncode == 1
        assert f"is being written by pid {follower.pid}" in second.stderr
    # Ctrl-C reached the whole group: the indexer stopped its copier itself, cleanly.
    text = log.read_text()
    assert follower.returncode == 0, text
    assert "Ctrl-C stops" in text and "stopped after" in text
    assert "lost the primary's binlog stream" not in text
    flagged = [line for line in text.splitlines() if line.startswith("DESTRUCTIVE ")]
    assert len(flagged) == 1, text
    assert "DELETE FROM w.scratch" in flagged[0] and "without WHERE" in flagged[0], text
    assert copier_pids(archive) == []
    assert index_starts(index) == primary_starts(box)


def test_rotation_and_primary_restarts_lose_nothing(box: Sandbox, tmp_path: Path) -> None:
    config = box.config()
    log = tmp_path / "follow.log"
    with following(box, log) as follower:
        wait_indexed(config.index.path, write(box, 3))
        box.sql("primary", "FLUSH BINARY LOGS")
        wait_indexed(config.index.path, write(box, 3))

        box.kill("primary")  # a crash: no Stop event closes its binlog file
        box.start("primary")
        wait_indexed(config.index.path, write(box, 3), timeout=30)

        pid = box.state.nodes["primary"].pid
        box.sql("primary", "SHUTDOWN")  # a clean stop
        wait_for(lambda: not pids_alive([pid]), what="the primary to stop")
        box.start("primary")
        wait_indexed(config.index.path, write(box, 3), timeout=30)
        assert follower.poll() is None
        # The copier keeps the archive current while following.
        wait_for(lambda: archive_differences(box, config.index.archive_dir) == {}, timeout=10)
    assert follower.returncode == 0, log.read_text()
    assert "lost the primary's binlog stream" in log.read_text()
    assert index_starts(config.index.path) == primary_starts(box)
    assert archive_differences(box, config.index.archive_dir) == {}
    assert copier_pids(config.index.archive_dir) == []


def test_sigkill_at_random_moments_then_resume_is_exact(box: Sandbox, tmp_path: Path) -> None:
    config = box.config()
    seed = int(os.environ.get("DRKIT_TEST_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    failures: list[BaseException] = []

    def workload() -> None:
        try:
            for chunk in range(6):
                box.sql("primary", "CALL w.fill(3000)")
                if chunk % 2:
                    box.sql("primary", "FLUSH BINARY LOGS")
        except BaseException as exc:  # reported by the test thread
            failures.append(exc)

    # The first run and about half the others hand every batch to a writer process (a threshold
    # of 1 kB): killing the indexer must take its writer along and leave the index as exact as
    # in-process writing does.
    # (Beside the sandbox's own file: the paths in it are relative to its folder.)
    process_config = box.config_file.with_name("drkit-writer-process.toml")
    process_config.write_text(
        box.config_file.read_text().replace("[index]", "[index]\nwriter_process_mb = 0.001", 1)
    )
    process_config.chmod(0o600)
    writer = threading.Thread(target=workload)
    writer.start()
    log = tmp_path / "indexer.log"
    kills = 0
    try:
        while writer.is_alive() or kills < 6:
            first = kills == 0
            args = ("index", "--follow") if first or rng.random() < 0.6 else ("index",)
            argv = drkit_argv(box, *args)
            if first or rng.random() < 0.5:
                argv[argv.index(str(box.config_file))] = str(process_config)
            with log.open("ab") as sink:
                indexer = subprocess.Popen(argv, stdout=sink, stderr=sink)
            if first:
                # Killed while its writer process certainly runs.
                wait_for(
                    lambda: "with a writer process" in log.read_text(),
                    timeout=20,
                    what=f"the first run to start its writer process (seed {seed})",
                )
                time.sleep(rng.uniform(0, 0.2))
            else:
                time.sleep(rng.uniform(0.05, 1.2))
            indexer.send_signal(signal.SIGKILL)
            indexer.wait()
            kills += 1
            # The copier dies with the indexer: no orphan keeps writing the archive.
            wait_for(
                lambda: copier_pids(config.index.archive_dir) == [],
                timeout=5,
                what=f"the binlog copier to exit (seed {seed})",
            )
            wait_for(
                lambda: writer_pids(config.index.path) == [],
                timeout=5,
                what=f"the index writer process to exit (seed {seed})",
            )
    finally:
        writer.join()
        process_config.unlink()
    assert not failures, failures
    before_final = len(indexed_gtids(config.index.path))
    final = subprocess.run(drkit_argv(box, "index"), capture_output=True, text=True, check=False)
    assert final.returncode == 0, (final.stderr, log.read_text())
    listed = index_starts(config.index.path)
    expected = primary_starts(box)
    assert len(listed) == len(set(listed)), f"duplicates (seed {seed})"
    assert listed == expected, f"seed {seed}: {len(listed)} indexed, {len(expected)} on the primary"
    assert len(expected) > 18_000
    # Each DELETE without WHERE of the workload has its finding, committed with its transaction.
    with sqlite3.connect(config.index.path) as conn:
        flagged = conn.execute(
            "SELECT id FROM transactions WHERE destructive_class IS NOT NULL ORDER BY id"
        ).fetchall()
        found = conn.execute(
            "SELECT tx_id, seq, class, tables FROM findings ORDER BY tx_id"
        ).fetchall()
    assert len(flagged) >= 18, f"seed {seed}"
    assert found == [(tx_id, 0, "delete_without_where", '["w.scratch"]') for (tx_id,) in flagged], (
        f"seed {seed}"
    )
    assert before_final > 0, "the killed runs indexed nothing at all"
    assert archive_differences(box, config.index.archive_dir) == {}
    runs = log.read_text()
    assert "with a writer process" in runs, f"no killed run used a writer process (seed {seed})"
    assert "changed under its writer" not in runs, (
        f"a killed run's writer outlived it (seed {seed})"
    )
