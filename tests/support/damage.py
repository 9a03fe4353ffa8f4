"""Damaging an index the way a failing disk does, and reading an index's whole content back."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from drkit import config as config_module
from drkit.cli import main
from drkit.config import Config
from drkit.index.indexer import Indexer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "binlog"

CONTENT = {
    "transactions": "SELECT * FROM transactions ORDER BY id",
    "transaction_tables": "SELECT * FROM transaction_tables ORDER BY tx_id, schema_name, table_name",
    "findings": "SELECT * FROM findings ORDER BY tx_id, seq",
    # updated_at is when the checkpoint last moved: a rebuild moves it again.
    "checkpoint": "SELECT id, file, pos FROM checkpoint",
    "meta": "SELECT key, value FROM meta ORDER BY key",
    "user_version": "PRAGMA user_version",
}


def corrupt_middle_page(index: Path, table: str = "transactions") -> int:
    """Overwrite with 0xFF bytes the middle one of `table`'s leaf pages; that page's number.

    The WAL is checkpointed into the file first, so the file alone is what every reader sees.
    """
    with closing(sqlite3.connect(index)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        pages = [
            int(row[0])
            for row in conn.execute(
                "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno",
                (table,),
            )
        ]
    assert len(pages) >= 2, f"{table} has only {len(pages)} leaf page: too small to damage"
    page = pages[len(pages) // 2]
    with index.open("r+b") as file:
        file.seek((page - 1) * page_size)
        file.write(b"\xff" * page_size)
    return page


def index_content(index: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored row of an index, table by table, in a stable order."""
    with closing(sqlite3.connect(f"file:{index}?mode=ro", uri=True)) as conn:
        return {name: conn.execute(sql).fetchall() for name, sql in CONTENT.items()}


CONFIG = """
[index]
path = "index.db"
archive_dir = "binlogs"

[nodes.primary]
role = "primary"
host = "127.0.0.1"
port = 1
user = "drkit"
password = "never-used"
"""


def archive_config(folder: Path) -> Config:
    """A config (its primary never contacted) whose archive holds the binlog fixtures, and its
    index built from them as `drkit index` builds it."""
    (folder / "drkit.toml").write_text(CONFIG)
    archive = folder / "binlogs"
    archive.mkdir()
    for name in ("bin.000001", "bin.000002", "bin.000003"):
        shutil.copyfile(FIXTURES / name, archive / name)
    loaded = config_module.load(folder / "drkit.toml")
    with Indexer(loaded) as indexer:
        assert indexer.scan() > 0
        indexer.store.set_meta("source", "mariadb server_id=1 domain=0")
    return loaded


def run_cli(capsys: pytest.CaptureFixture[str], config: Config, *args: str) -> tuple[int, str, str]:
    """The CLI in this process: its exit code, stdout and stderr."""
    with pytest.raises(SystemExit) as ended:
        main(["--config", str(config.path), *args])
    captured = capsys.readouterr()
    return int(ended.value.code or 0), captured.out, captured.err
