"""The background WAL checkpointer on a real SQLite index: the writer's commits checkpoint nothing
while it runs, the WAL stays bounded under a writer that never pauses, a WAL a reader pins is
emptied once it lets go (the writer meanwhile unhindered), and an index written with checkpoints in flight and killed with SIGKILL at random
moments reopens sound, its records and checkpoint together, resuming without a duplicate."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from drkit.index.store import IndexStore, NewTransaction
from drkit.index.walcheckpoint import WalCheckpointer
from drkit.model.coords import BinlogCoord
from tests.support.sandbox import wait_for

PAGE = 4096


def batch(first: int, count: int) -> list[NewTransaction]:
    """`count` transactions from the `first`th on, with statements big enough to fill pages."""
    return [
        NewTransaction(
            gtid=f"0-1-{n}",
            file="bin.000001",
            start_pos=4 + 1000 * (n - 1),
            end_pos=4 + 1000 * n,
            timestamp=1_795_000_000 + n,
            server_id=1,
            kind="dml",
            tables=(),
            statement=f"INSERT INTO shop.orders VALUES ({n}, '{'x' * 900}')",
            destructive=None,
        )
        for n in range(first, first + count)
    ]


def write(store: IndexStore, batches: int, size: int = 50) -> None:
    for b in range(batches):
        store.append(
            batch(b * size + 1, size), BinlogCoord("bin.000001", 4 + 1000 * size * (b + 1))
        )


def wal_size(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def test_while_it_runs_the_writers_commits_checkpoint_nothing(tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    with IndexStore(path) as store:
        store.append([], BinlogCoord("bin.000001", 4))
        db_before = path.stat().st_size
        # An interval longer than the test: only the writer's own commits could checkpoint.
        with WalCheckpointer(path, store.conn, interval=3600):
            assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
            write(store, batches=120)  # about 2,900 pages: two automatic checkpoints' worth
            assert wal_size(path) > 2000 * PAGE
            assert path.stat().st_size == db_before, "a commit checkpointed into the database"
        # Closing checkpoints once more and gives checkpointing back to the writer.
        assert path.stat().st_size > 1000 * PAGE
        assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
        assert store.count() == 6000


def test_a_writer_that_never_pauses_keeps_a_bounded_wal(tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    bound = 1024 * 1024
    with (
        IndexStore(path) as store,
        WalCheckpointer(path, store.conn, interval=0.01, bound=bound) as ckpt,
    ):
        largest = 0
        for round_ in range(40):
            for b in range(10):
                first = round_ * 500 + b * 50 + 1
                store.append(batch(first, 50), BinlogCoord("bin.000001", first))
                largest = max(largest, wal_size(path))
            # Let the checkpointer catch up with each round, as it does between follow cycles.
            seen = ckpt.checkpoints
            wait_for(lambda seen=seen: ckpt.checkpoints > seen + 1, timeout=10, what="a checkpoint")
        assert store.count() == 20_000
        # 20,000 transactions are about 5,000 pages (20 MB) of WAL: it was emptied instead.
        assert ckpt.truncations > 0
        assert largest < bound + 1024 * 1024, largest
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*), MIN(id), MAX(id) FROM transactions").fetchone() == (
            20_000,
            1,
            20_000,
        )
        assert conn.execute("PRAGMA quick_check").fetchone() == ("ok",)


def test_past_the_bound_a_wal_pinned_by_a_reader_is_truncated_once_it_lets_go(
    tmp_path: Path,
) -> None:
    path = tmp_path / "index.db"
    with IndexStore(path) as store:
        store.append([], BinlogCoord("bin.000001", 4))
        reader = sqlite3.connect(path, isolation_level=None)
        reader.execute("BEGIN")
        assert reader.execute("SELECT COUNT(*) FROM transactions").fetchone() == (0,)
        with WalCheckpointer(path, store.conn, interval=0.01, bound=256 * 1024) as ckpt:
            write(store, batches=20)
            assert wal_size(path) > 256 * 1024
            seen = ckpt.checkpoints
            wait_for(lambda: ckpt.checkpoints > seen + 1, timeout=10, what="checkpoints")
            # The reader's snapshot still needs the old frames: nothing could be truncated.
            assert ckpt.truncations == 0
            assert reader.execute("SELECT COUNT(*) FROM transactions").fetchone() == (0,)
            reader.execute("COMMIT")
            wait_for(lambda: ckpt.truncations > 0, timeout=20, what="a truncation")
            assert wal_size(path) <= 256 * 1024
        reader.close()
        assert store.count() == 1000


CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path[:0] = [{root!r}]
    from drkit.index.store import IndexStore
    from drkit.index.walcheckpoint import WalCheckpointer
    from drkit.model.coords import BinlogCoord
    from tests.unit.test_index_walcheckpoint import batch

    path = Path(sys.argv[1])
    store = IndexStore(path)
    # A checkpoint nearly all the time: a kill lands inside one as often as not.
    WalCheckpointer(path, store.conn, interval=0.0005).start()
    while True:
        stored = store.checkpoint()
        done = 0 if stored is None else stored.pos
        # The checkpoint names how many transactions are stored: a resume goes on from there.
        store.append(batch(done + 1, 40), BinlogCoord("bin.000001", done + 40))
        print(done + 40, flush=True)
    """
)


def test_sigkill_with_checkpoints_in_flight_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    seed = int(os.environ.get("DRKIT_TEST_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    path = tmp_path / "index.db"
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(root=str(Path(__file__).resolve().parents[2])))
    committed = 0
    for kill in range(6):
        child = subprocess.Popen(
            [sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None
        first = child.stdout.readline()  # running: its first batch is committed
        assert first, f"the writer died before its first commit (seed {seed})"
        time.sleep(rng.uniform(0.05, 0.4))
        child.send_signal(signal.SIGKILL)
        child.wait()
        printed = [int(first), *map(int, child.stdout.read().split())]
        child.stdout.close()
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA quick_check").fetchone() == ("ok",), f"seed {seed}"
            stored = conn.execute("SELECT pos FROM checkpoint WHERE id = 1").fetchone()[0]
            ids = [row[0] for row in conn.execute("SELECT id FROM transactions ORDER BY id")]
            gtids = {row[0] for row in conn.execute("SELECT gtid FROM transactions")}
        # Every commit it announced is there (a commit cut short by the kill may be too).
        assert stored >= max(printed), f"kill {kill} lost a commit (seed {seed})"
        assert int(first) > committed, f"kill {kill}: no progress from {committed} (seed {seed})"
        # Records and checkpoint commit together: exactly the transactions it names, once each.
        assert ids == list(range(1, stored + 1)), f"kill {kill} (seed {seed})"
        assert gtids == {f"0-1-{n}" for n in range(1, stored + 1)}, f"seed {seed}"
        committed = stored
    assert committed > 6 * 40
