"""`drkit index --rebuild`: the same index again from the binlog archive, without the primary;
the damaged file is kept aside; refused while another process writes the archive."""

from __future__ import annotations

import os
import shutil
import sqlite3
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
