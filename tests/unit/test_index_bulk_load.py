"""Bulk loading (IndexStore.bulk_load): a long catch-up writes without two of its indexes and
builds them at its end. The index it leaves is the one written with them, row for row and index
for index; readers meanwhile get the same answers; and a kill -9 in the middle loses nothing,
duplicates nothing, and the next writing open builds the indexes back."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from drkit.config import ClassifyConfig, Config, IndexConfig, NodeConfig, PasswordSource, Role
from drkit.index import indexer as indexer_module
from drkit.index.indexer import Indexer
from drkit.index.schema import DEFERRED_INDEXES, missing_deferred_indexes
from drkit.index.store import Filters, IndexStore, IndexStoreError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "binlog"
EXPECTED: dict[str, Any] = json.loads((FIXTURES / "expected.json").read_text())
FILES = sorted(EXPECTED["files"])
TOTAL = sum(len(EXPECTED["files"][name]["transactions"]) for name in FILES)


def _config(folder: Path, *, writer_process: bool, copy: bool = True) -> Config:
    """The config of an index in `folder` over an archive of the fixtures (copied unless there)."""
    archive = folder / "binlogs"
    if copy:
        archive.mkdir(parents=True)
        for name in FILES:
            shutil.copyfile(FIXTURES / name, archive / name)
    primary = NodeConfig(
        "primary", Role.PRIMARY, "127.0.0.1", 1, "nobody", PasswordSource(literal="")
    )
    return Config(
        folder / "drkit.toml",
        {"primary": primary},
        # A threshold of one byte: any backlog is a long one (writer process, bulk load).
        IndexConfig(folder / "index.db", archive, writer_process, 0.000001),
        classify=ClassifyConfig(mass_rows=2),
    )


def _dump(index: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (but the checkpoint's clock), and every index's definition."""
    conn = sqlite3.connect(index)
    try:
        return {
            "meta": conn.execute("SELECT * FROM meta ORDER BY key").fetchall(),
            "transactions": conn.execute("SELECT * FROM transactions ORDER BY id").fetchall(),
            "tables": conn.execute(
                "SELECT * FROM transaction_tables ORDER BY tx_id, schema_name, table_name"
            ).fetchall(),
            "findings": conn.execute("SELECT * FROM findings ORDER BY tx_id, seq").fetchall(),
            "checkpoint": conn.execute("SELECT file, pos FROM checkpoint").fetchall(),
            "indexes": conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
            ).fetchall(),
        }
    finally:
        conn.close()


def _index(config: Config) -> int:
    indexer = Indexer(config)
    try:
        return indexer.scan()
    finally:
        indexer.close()


def _missing(index: Path) -> list[str]:
    conn = sqlite3.connect(index)
    try:
        return missing_deferred_indexes(conn)
    finally:
        conn.close()


@pytest.mark.parametrize("writer_process", [False, True], ids=["inline", "writer process"])
def test_a_bulk_load_stores_what_a_load_with_the_indexes_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer_process: bool
) -> None:
    monkeypatch.setattr(indexer_module, "BATCH", 5)
    loads: list[str] = []
    real_start = IndexStore.start_bulk_load

    def counted(store: IndexStore) -> None:
        loads.append(str(store.path))
        real_start(store)

    # The inline writer's bulk loads are seen here; the writer process's in its own process.
    monkeypatch.setattr(IndexStore, "start_bulk_load", counted)
    kept = _config(tmp_path / "kept", writer_process=False)
    monkeypatch.setattr(Indexer, "_bulk_pays", lambda self, backlog: False)
    assert _index(kept) == TOTAL
    assert loads == []
    bulk = _config(tmp_path / "bulk", writer_process=writer_process)
    monkeypatch.setattr(Indexer, "_bulk_pays", lambda self, backlog: True)
    assert _index(bulk) == TOTAL
    assert loads == ([] if writer_process else [str(bulk.index.path)])
    by_bulk, by_kept = _dump(bulk.index.path), _dump(kept.index.path)
    assert len(by_bulk["transactions"]) == TOTAL
    assert by_bulk["findings"], "no findings: the comparison would miss their table"
    assert {name for name, _ in by_bulk["indexes"]} >= set(DEFERRED_INDEXES)
    assert by_bulk == by_kept


def test_an_empty_index_loads_in_bulk_and_a_full_one_keeps_its_indexes(tmp_path: Path) -> None:
    config = _config(tmp_path, writer_process=False)
    indexer = Indexer(config)
    try:
        assert indexer._bulk_pays(1)  # nothing stored: any backlog outweighs it
        assert indexer.scan() == TOTAL
        per_transaction = indexer_module.BINLOG_BYTES_PER_TRANSACTION
        assert not indexer._bulk_pays(TOTAL * per_transaction - 1)
        assert indexer._bulk_pays(TOTAL * per_transaction)
    finally:
        indexer.close()


def test_readers_during_a_bulk_load_get_the_answers_the_indexes_give(tmp_path: Path) -> None:
    config = _config(tmp_path, writer_process=False)
    assert _index(config) == TOTAL
    searches = [
        Filters(limit=None),
        Filters(destructive=True, limit=None),
        Filters(table="*", limit=None),
        Filters(table="*.*", limit=3),
        Filters(since=0, until=2**40, limit=None, newest_first=False),
    ]
    with IndexStore(config.index.path, readonly=True) as reader:
        tables = {t.table for found in reader.search(searches[0]) for t in found.tables}
        searches += [Filters(table=name, limit=None) for name in sorted(tables)]
        indexed = [reader.search(f) for f in searches]
        gtid = indexed[0][0].gtid
        by_gtid = reader.by_gtid(gtid) if gtid else None
    store = IndexStore(config.index.path)
    try:
        with store.bulk_load():
            assert sorted(_missing(config.index.path)) == sorted(DEFERRED_INDEXES)
            with IndexStore(config.index.path, readonly=True) as reader:
                assert [reader.search(f) for f in searches] == indexed
                assert (reader.by_gtid(gtid) if gtid else None) == by_gtid
        assert _missing(config.index.path) == []
    finally:
        store.close()
    assert any(indexed[1]), "no destructive transaction: that search proves nothing"
    assert len(tables) > 1


def test_a_failed_bulk_load_stops_without_building_and_the_next_run_finishes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(indexer_module, "BATCH", 5)
    config = _config(tmp_path / "failed", writer_process=False)
    real_append = IndexStore.append_rows
    calls = 0

    def fail_the_third(store: IndexStore, *args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise IndexStoreError("the disk is full")
        real_append(store, *args, **kwargs)

    monkeypatch.setattr(IndexStore, "append_rows", fail_the_third)
    indexer = Indexer(config)
    try:
        with pytest.raises(IndexStoreError, match="the disk is full"):
            indexer.scan()
    finally:
        indexer.close()
    assert len(_dump(config.index.path)["transactions"]) == 10
    assert sorted(_missing(config.index.path)) == sorted(DEFERRED_INDEXES)
    monkeypatch.setattr(IndexStore, "append_rows", real_append)
    assert _index(config) == TOTAL - 10
    reference = _config(tmp_path / "reference", writer_process=False)
    assert _index(reference) == TOTAL
    assert _missing(config.index.path) == []
    assert _dump(config.index.path) == _dump(reference.index.path)


KILLED_LOADER = """
import sys, time
from pathlib import Path
from drkit.index import indexer as indexer_module
from drkit.index import writer
from drkit.index.indexer import Indexer
from tests.unit.test_index_bulk_load import _config

indexer_module.BATCH = 3
real_submit = writer.InlineWriter.submit
submitted = 0

def submit_then_wait(self, batch, checkpoint):
    global submitted
    real_submit(self, batch, checkpoint)
    submitted += 1
    if submitted == 2:  # two batches committed, the indexes still dropped: killed here
        Path(sys.argv[2]).write_text("loading")
        time.sleep(600)

writer.InlineWriter.submit = submit_then_wait
Indexer(_config(Path(sys.argv[1]), writer_process=False)).scan()
"""


def test_a_bulk_load_killed_midway_resumes_exactly_and_gets_its_indexes_back(
    tmp_path: Path,
) -> None:
    folder, signal_file = tmp_path / "killed", tmp_path / "loading"
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_LOADER, str(folder), str(signal_file)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    try:
        deadline = time.monotonic() + 60
        while not signal_file.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert signal_file.exists(), "the loader never reached its second batch"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    index = folder / "index.db"
    partial = _dump(index)
    # Killed in the middle of the load: what it committed is whole, the indexes are gone.
    assert len(partial["transactions"]) == 6
    assert partial["checkpoint"][0][1] == partial["transactions"][-1][5]
    assert sorted(_missing(index)) == sorted(DEFERRED_INDEXES)
    # A reader changes nothing; the next writing open builds the indexes, before any scan.
    IndexStore(index, readonly=True).close()
    assert sorted(_missing(index)) == sorted(DEFERRED_INDEXES)
    IndexStore(index).close()
    assert _missing(index) == []
    assert _dump(index) == {**partial, "indexes": _dump(index)["indexes"]}
    # The next run goes on from the checkpoint.
    assert _index(_config(folder, writer_process=False, copy=False)) == TOTAL - 6
    reference = _config(tmp_path / "reference", writer_process=False)
    assert _index(reference) == TOTAL
    resumed = _dump(index)
    assert _missing(index) == []
    assert resumed == _dump(reference.index.path)
    coords = [(row[3], row[4]) for row in resumed["transactions"]]
    assert len(coords) == len(set(coords)) == TOTAL
