"""`drkit index --rebuild`: the same index again from the binlog archive, without the primary;
the damaged file is kept aside; refused while another process writes the archive."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import pytest

from drkit.config import Config
from drkit.index.store import IndexStore
from drkit.io.archive import ArchiveLock
from tests.support.damage import archive_config, corrupt_middle_page, index_content, run_cli


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return archive_config(tmp_path)


def drkit(capsys: pytest.CaptureFixture[str], config: Config, *args: str) -> tuple[int, str, str]:
    return run_cli(capsys, config, *args)


def test_rebuild_moves_the_damaged_file_aside_and_builds_the_same_index(
    capsys: pytest.CaptureFixture[str], config: Config
) -> None:
    index = config.index.path
    expected = index_content(index)
    corrupt_middle_page(index)
    damaged = index.read_bytes()

    code, out, err = drkit(capsys, config, "index", "--rebuild", "--dry-run")
    assert code == 0, err
    assert "rebuild the index" in out and "before-rebuild-" in out and "damaged:" in out
    assert index.read_bytes() == damaged
    assert not [p for p in index.parent.iterdir() if "rebuild" in p.name]

    code, out, err = drkit(capsys, config, "index", "--rebuild")  # stdin is not a terminal
    assert code == 3, err
    assert index.read_bytes() == damaged

    code, out, err = drkit(capsys, config, "index", "--rebuild", "--yes")
    assert code == 0, err
    [aside] = list(index.parent.glob("index.db.before-rebuild-*[0-9]Z"))
    assert aside.read_bytes() == damaged  # kept as it was, never deleted
    assert str(aside) in out
    assert index_content(index) == expected  # ids, GTIDs, positions, checkpoint, identity
    assert not list(index.parent.glob("*.rebuilding*"))
    with IndexStore(index, readonly=True) as store:
        assert store.verify(5.0) is True


def test_rebuild_is_refused_while_another_process_writes_the_archive(
    capsys: pytest.CaptureFixture[str], config: Config
) -> None:
    index = config.index.path
    corrupt_middle_page(index)
    damaged = index.read_bytes()
    lock = ArchiveLock(config.index.archive_dir)
    lock.acquire()  # as a following indexer or guard holds it
    try:
        for args in (["--dry-run"], ["--yes"]):
            code, out, err = drkit(capsys, config, "index", "--rebuild", *args)
            assert code == 3, err
            assert out == ""
            assert f"is being written by pid {os.getpid()}" in err  # the holder, named
            assert "nothing was changed" in err
    finally:
        lock.release()
    assert index.read_bytes() == damaged
    assert not list(index.parent.glob("index.db.*"))


def test_rebuild_without_an_archive_is_refused(
    capsys: pytest.CaptureFixture[str], config: Config
) -> None:
    shutil.rmtree(config.index.archive_dir)
    before = config.index.path.read_bytes()
    code, _, err = drkit(capsys, config, "index", "--rebuild", "--yes")
    assert code == 3
    assert "holds no binlog files" in err
    assert config.index.path.read_bytes() == before


@pytest.mark.parametrize("args", [["--rebuild", "--follow"], ["--dry-run"], ["--yes"]], ids=str)
def test_rebuild_flags_go_together(
    capsys: pytest.CaptureFixture[str], config: Config, args: list[str]
) -> None:
    code, _, err = drkit(capsys, config, "index", *args)
    assert code == 2, err
    assert sqlite3.connect(config.index.path).execute("PRAGMA quick_check").fetchone() == ("ok",)


# -- ids survive a prune and a rebuild ----------------------------------------------------------


def _ids_by_gtid(index: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{index}?mode=ro", uri=True) as conn:
        return {str(g): int(i) for i, g in conn.execute("SELECT id, gtid FROM transactions")}


def _files_by_id(index: Path) -> dict[int, str]:
    with sqlite3.connect(f"file:{index}?mode=ro", uri=True) as conn:
        return {int(i): str(f) for i, f in conn.execute("SELECT id, file FROM transactions")}


DELAYED = """
[nodes.delayed]
role = "delayed"
host = "127.0.0.1"
port = 2
user = "drkit"
password = "never-used"
delay = 3600
"""


def _prune_to(config: Config, applied_gtid: str) -> Config:
    """Prune as a delayed replica that has applied up to `applied_gtid` allows (every fixture
    transaction is older than keep); the config with that delayed node."""
    from drkit import config as config_module
    from drkit.config import NodeConfig
    from drkit.model.facts import NodeFacts
    from drkit.model.version import ServerVersion
    from drkit.retention.run import prune

    config.path.write_text(config.path.read_text() + DELAYED)
    config = config_module.load(config.path)

    def gather(nodes: Iterable[NodeConfig]) -> tuple[NodeFacts, ...]:
        return tuple(
            NodeFacts(
                name=node.name,
                role=node.role,
                address=node.address,
                configured_delay=3600,
                gathered_at=0.0,
                reachable=True,
                version=ServerVersion.parse("10.11.6-MariaDB", ""),
                gtid_executed_text=applied_gtid,
            )
            for node in nodes
        )

    report = prune(config, now=4_000_000_000.0, gather=gather)
    assert report.rows_removed > 0 and report.files_removed == ("bin.000001",)
    return config


def test_a_rebuild_after_a_prune_keeps_every_id(
    capsys: pytest.CaptureFixture[str], config: Config
) -> None:
    index = config.index.path
    before = _ids_by_gtid(index)
    files = _files_by_id(index)
    first_of_file_2 = min(i for i, f in files.items() if f == "bin.000002")
    floor = first_of_file_2 + 3
    config = _prune_to(config, next(g for g, i in before.items() if i == floor))
    kept = _ids_by_gtid(index)
    assert min(kept.values()) == floor  # the file's first rows went from the index

    code, out, err = drkit(capsys, config, "index", "--rebuild", "--dry-run")
    assert code == 0, err
    assert f"bin.000002 starts at #{first_of_file_2}" in out
    code, out, err = drkit(capsys, config, "index", "--rebuild", "--yes")
    assert code == 0, err
    rebuilt = _ids_by_gtid(index)
    # The rebuild reads bin.000002 whole again: its pruned rows come back, under their old ids.
    expected = {g: i for g, i in before.items() if files[i] != "bin.000001"}
    assert rebuilt == expected
    assert min(rebuilt.values()) == first_of_file_2 > 1


def test_a_rebuild_from_an_older_file_than_the_recorded_one_shifts_to_the_same_ids(
    capsys: pytest.CaptureFixture[str], config: Config, tmp_path: Path
) -> None:
    index = config.index.path
    before = _ids_by_gtid(index)
    kept_copy = tmp_path / "bin.000001.copy"
    shutil.copyfile(config.index.archive_dir / "bin.000001", kept_copy)
    config = _prune_to(config, next(g for g, i in before.items() if i == 16))
    # bin.000001 back (from a backup, say): ids are then numbered from it, and shifted so that
    # bin.000002 starts where it did: here the shift is 0, and the ids are the old ones again.
    shutil.copyfile(kept_copy, config.index.archive_dir / "bin.000001")
    code, _out, err = drkit(capsys, config, "index", "--rebuild", "--yes")
    assert code == 0, err
    assert _ids_by_gtid(index) == before
    with sqlite3.connect(f"file:{index}?mode=ro", uri=True) as conn:
        orphans = [
            conn.execute(
                f"SELECT COUNT(*) FROM {table} WHERE tx_id NOT IN (SELECT id FROM transactions)"
            ).fetchone()[0]
            for table in ("transaction_tables", "findings")
        ]
    assert orphans == [0, 0]


def test_renumber_moves_rows_and_their_tables_together(config: Config) -> None:
    from drkit.index.rebuild import renumber

    index = config.index.path
    before = _ids_by_gtid(index)
    content = index_content(index)
    with IndexStore(index) as store:
        renumber(store, 100)
    assert _ids_by_gtid(index) == {g: i + 100 for g, i in before.items()}
    with sqlite3.connect(f"file:{index}?mode=ro", uri=True) as conn:
        tables = conn.execute("SELECT COUNT(*), MIN(tx_id) FROM transaction_tables").fetchone()
        findings = conn.execute("SELECT tx_id FROM findings ORDER BY tx_id, seq").fetchall()
    assert tables[0] == len(content["transaction_tables"]) and tables[1] > 100
    assert findings and [f[0] for f in findings] == [f[0] + 100 for f in content["findings"]]


def test_without_a_prune_a_rebuild_numbers_from_one(
    capsys: pytest.CaptureFixture[str], config: Config
) -> None:
    before = _ids_by_gtid(config.index.path)
    code, out, err = drkit(capsys, config, "index", "--rebuild", "--yes")
    assert code == 0, err
    assert "ids as before" not in out + err
    assert _ids_by_gtid(config.index.path) == before and min(before.values()) == 1


def test_rebuild_reads_a_compressed_archive_into_the_same_index(
    capsys: pytest.CaptureFixture[str], config: Config
) -> None:
    from drkit.compression import compress_file
    from drkit.io.archive import archived_files

    index = config.index.path
    expected = index_content(index)
    files = archived_files(config.index.archive_dir)
    for path in files[:-1]:  # the newest one stays plain, as the follower leaves it
        compress_file(path, frame_size=4096)
    assert len(list(config.index.archive_dir.glob("*.zst"))) == len(files) - 1
    corrupt_middle_page(index)

    code, _out, err = drkit(capsys, config, "index", "--rebuild", "--yes")
    assert code == 0, err
    assert index_content(index) == expected
