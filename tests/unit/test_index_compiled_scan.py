"""The index an Indexer writes is the same, row for row in every table, whether the compiled
walk or the pure-Python walk scanned the binlogs (the fixtures, and the first benchmark file of
each shape when this machine has /work/bench)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from drkit.config import Config, IndexConfig, NodeConfig, PasswordSource, Role
from drkit.index.indexer import Indexer
from tests.support.scan_modes import reading_with

FIXTURES = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "binlog").glob("bin.0*"))
BENCH = Path("/work/bench")
BENCH_SETS = (
    [sorted(d.glob("*-bin.0*"))[:1] for d in sorted(BENCH.glob("*"))] if BENCH.is_dir() else []
)
SETS = [FIXTURES] + [files for files in BENCH_SETS if files]


def _index(files: list[Path], folder: Path, mode: str, writer_process: bool) -> Path:
    archive = folder / "binlogs"
    archive.mkdir(parents=True)
    for path in files:
        if path.stat().st_dev == archive.stat().st_dev:
            os.link(path, archive / path.name)
        else:
            (archive / path.name).write_bytes(path.read_bytes())
    primary = NodeConfig(
        "primary", Role.PRIMARY, "127.0.0.1", 1, "nobody", PasswordSource(literal="")
    )
    index = folder / "index.db"
    config = Config(
        folder / "drkit.toml",
        {"primary": primary},
        IndexConfig(index, archive, writer_process=writer_process),
    )
    with reading_with(mode):
        indexer = Indexer(config)
        try:
            assert indexer.scan() > 0
        finally:
            indexer.close()
    return index


def _dump(index: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of the index, in a stable order."""
    with sqlite3.connect(index) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        dump = {}
        for name in tables:
            # Every column but when the checkpoint was written (the wall clock's, not the scan's).
            columns = [
                column
                for _cid, column, *_ in conn.execute(f"PRAGMA table_info({name})")
                if (name, column) != ("checkpoint", "updated_at")
            ]
            rows = conn.execute(f"SELECT {', '.join(columns)} FROM {name}")
            dump[name] = sorted(rows, key=repr)
        return dump


@pytest.mark.parametrize("writer_process", [False, True])
@pytest.mark.parametrize("files", SETS, ids=lambda files: files[0].parent.name)
def test_both_walks_write_the_same_index(
    files: list[Path], writer_process: bool, tmp_path: Path
) -> None:
    pure = _dump(_index(files, tmp_path / "pure", "pure", writer_process))
    compiled = _dump(_index(files, tmp_path / "compiled", "compiled", writer_process))
    assert pure["transactions"]  # something was indexed
    assert compiled.keys() == pure.keys()
    for table in pure:
        assert compiled[table] == pure[table], table
