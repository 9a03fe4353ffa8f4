"""A damaged index (a page overwritten, as a failing disk leaves it): every read says so in one
sentence naming the file and the way out (`drkit index --rebuild`), and status marks it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from drkit.config import Config
from drkit.index.store import Filters, IndexDamagedError, IndexStore
from drkit.service import index_summary
from tests.support.damage import archive_config, corrupt_middle_page, run_cli


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return archive_config(tmp_path)


def drkit(capsys: pytest.CaptureFixture[str], config: Config, *args: str) -> tuple[int, str, str]:
    return run_cli(capsys, config, *args)


def test_every_read_of_a_damaged_page_is_an_index_damaged_error(config: Config) -> None:
    index = config.index.path
    corrupt_middle_page(index)
    store = IndexStore(index, readonly=True)
    try:
        with pytest.raises(IndexDamagedError) as raised:
            store.search(Filters(limit=None))
        with pytest.raises(IndexDamagedError):
            store.transactions(1, 10**6)
        with pytest.raises(IndexDamagedError):
            store.verify(5.0)
    finally:
        store.close()
    assert str(index) in raised.value.message and "is damaged" in raised.value.message
    assert raised.value.hint is not None and "drkit index --rebuild" in raised.value.hint
    assert raised.value.exit_code == 1


def test_a_file_that_is_not_a_database_is_damaged_at_open(config: Config) -> None:
    index = config.index.path
    with index.open("r+b") as file:
        file.write(b"this is no longer SQLite")
    with pytest.raises(IndexDamagedError, match="file is not a database"):
        IndexStore(index, readonly=True)
    with pytest.raises(IndexDamagedError):
        IndexStore(index)


def test_a_sound_index_verifies(config: Config) -> None:
    store = IndexStore(config.index.path, readonly=True)
    try:
        assert store.verify(5.0) is True
    finally:
        store.close()


def test_status_summary_marks_the_index_damaged_with_the_way_out(config: Config) -> None:
    healthy = index_summary(config, None, verify=5.0)
    assert healthy.problem is None and not healthy.damaged and healthy.transactions > 0
    corrupt_middle_page(config.index.path)
    summary = index_summary(config, None, verify=5.0)
    assert summary.damaged and summary.exists
    assert summary.problem is not None and "is damaged" in summary.problem
    assert summary.hint is not None and "drkit index --rebuild" in summary.hint
    assert summary.to_json()["damaged"] is True


def test_events_on_a_damaged_index_is_one_sentence(
    capsys: pytest.CaptureFixture[str], config: Config
) -> None:
    corrupt_middle_page(config.index.path)
    code, out, err = drkit(capsys, config, "events", "--limit", "100000")
    assert code == 1
    assert out == ""
    first, *rest = err.splitlines()
    assert first.startswith(f"drkit: the index {config.index.path} is damaged (")
    assert rest == [f"hint: {rest[0][6:]}"] and "drkit index --rebuild" in rest[0]
    assert "internal error" not in err and "Traceback" not in err


def test_status_finds_damage_its_own_reads_do_not_touch(config: Config) -> None:
    index = config.index.path
    conn = sqlite3.connect(index)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        [page] = conn.execute(
            "SELECT pageno FROM dbstat WHERE name = 'transactions_gtid' AND pagetype = 'leaf'"
        ).fetchone()
    finally:
        conn.close()
    with index.open("r+b") as file:  # a leaf index page whose free-space count lies
        file.seek((page - 1) * 4096)
        file.write(b"\x0a" + b"\x00" * 4095)
    assert index_summary(config, None).damaged is False  # count and latest read other pages
    summary = index_summary(config, None, verify=5.0)
    assert summary.damaged
    assert summary.problem == f"the index {index} is damaged (Page {page}: free space corruption)"
