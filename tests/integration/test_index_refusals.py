"""The indexer never silently misses transactions: binlogs the primary purged before drkit archived
them whole are named and recorded as a gap (and indexing goes on from the primary's oldest
binlog); an index that belongs to another primary is refused. When the archive bridges a purge,
it goes on through the archive."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import mysql.connector
import pytest

from tests.support.indexing import index_starts, primary_starts
from tests.support.sandbox import Sandbox, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def box(module_box: Sandbox) -> Sandbox:
    module_box.sql("primary", "CREATE DATABASE w", "CREATE TABLE w.t (id INT PRIMARY KEY, v INT)")
    return module_box


def config_named(
    box: Sandbox, name: str, *, index: str | None = None, primary_port: int | None = None
) -> Path:
    """A copy of the sandbox's config with its own index and archive (and maybe another primary)."""
    text = box.config_file.read_text()
    text = text.replace('path = "index.db"', f'path = "{index or name}.db"')
    text = text.replace('archive_dir = "binlogs"', f'archive_dir = "{index or name}-binlogs"')
    if primary_port is not None:
        text = re.sub(
            r"(\[nodes\.primary\][^\[]*?port = )\d+", rf"\g<1>{primary_port}", text, count=1
        )
    path = box.directory / f"{name}.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def index_with(box: Sandbox, config: Path) -> tuple[int, str]:
    run = box.drkit("--config", str(config), "index")
    return run.returncode, run.stdout + run.stderr


def purge_to(box: Sandbox, name: str) -> None:
    """PURGE until it takes: a replica's dump thread still reading an older file holds it back."""

    def purged() -> bool:
        try:
            box.sql("primary", f"PURGE BINARY LOGS TO '{name}'")
        except mysql.connector.Error:
            return False
        return box.sql("primary", "SHOW BINARY LOGS")[0]["Log_name"] == name

    wait_for(
        purged, timeout=20, interval=0.1, what=f"the primary to purge its binlogs up to {name}"
    )


def insert(box: Sandbox, *ids: int) -> None:
    for n in ids:
        box.sql("primary", f"INSERT INTO w.t VALUES ({n}, {n})")


def test_purged_binlogs_not_archived_whole_are_a_named_gap(box: Sandbox) -> None:
    early = config_named(box, "early")  # will stop inside mysql-bin.000001
    late = config_named(box, "late")  # will stop inside mysql-bin.000002
    bridged = config_named(box, "bridged")  # will hold 000001 and 000002 whole in its archive
    insert(box, 1)
    assert index_with(box, early)[0] == 0
    early_had = index_starts(box.directory / "early.db")
    box.sql("primary", "FLUSH BINARY LOGS")
    insert(box, 2)
    assert index_with(box, late)[0] == 0
    late_had = index_starts(box.directory / "late.db")
    box.sql("primary", "FLUSH BINARY LOGS")
    insert(box, 3)
    assert index_with(box, bridged)[0] == 0
    # As if that run was killed after copying but before indexing mysql-bin.000002.
    bridged_index = box.directory / "bridged.db"
    _rewind(bridged_index, "mysql-bin.000002")
    before_purge = primary_starts(box)

    purge_to(box, "mysql-bin.000003")
    insert(box, 4)

    after_purge = primary_starts(box)  # mysql-bin.000003 on: what the primary still has
    code, output = index_with(box, early)
    assert code == 0, output
    assert "binlog gap: mysql-bin.000001 (archived copy cut short), mysql-bin.000002" in output
    assert "the primary's oldest binlog is mysql-bin.000003" in output
    early_index = index_starts(box.directory / "early.db")
    # The index goes on from the oldest binlog the primary has: what was before, then after.
    assert early_index == early_had + after_purge
    (gap,) = _gaps(box.directory / "early.db")
    assert (gap["after_id"], gap["after_gtid"]) == (len(early_had), early_had[-1][0])
    assert gap["lost"] == ["mysql-bin.000001", "mysql-bin.000002"]
    assert gap["resumed_from"] == "mysql-bin.000003"

    code, output = index_with(box, late)
    assert code == 0, output
    assert "binlog gap: mysql-bin.000002 (archived copy cut short) purged" in output
    assert index_starts(box.directory / "late.db") == late_had + after_purge
    (gap,) = _gaps(box.directory / "late.db")
    assert (gap["after_gtid"], gap["lost"]) == (late_had[-1][0], ["mysql-bin.000002"])
    # Found once: the next run goes on from where the gap left the index.
    code, output = index_with(box, late)
    assert code == 0, output
    assert "binlog gap" not in output
    assert len(_gaps(box.directory / "late.db")) == 1

    code, output = index_with(box, bridged)
    assert code == 0, output
    assert index_starts(bridged_index) == before_purge + primary_starts(box)[-1:]


def test_an_index_of_another_primary_is_refused(box: Sandbox) -> None:
    mine = config_named(box, "mine")
    assert index_with(box, mine)[0] == 0
    count = len(index_starts(box.directory / "mine.db"))

    other = config_named(box, "other", index="mine", primary_port=box.port("replica"))
    code, output = index_with(box, other)
    assert code == 3, output
    assert "was built from another primary (mariadb server_id=1 domain=0)" in output
    assert "primary is mariadb server_id=2 domain=0" in output

    box.sql("primary", "SET GLOBAL gtid_domain_id = 7")
    try:
        code, output = index_with(box, mine)
    finally:
        box.sql("primary", "SET GLOBAL gtid_domain_id = 0")
    assert code == 3, output
    assert "primary is mariadb server_id=1 domain=7" in output
    assert len(index_starts(box.directory / "mine.db")) == count
    assert index_with(box, mine)[0] == 0


def _gaps(index: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(index)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'gaps'").fetchone()
    finally:
        conn.close()
    return list(json.loads(row[0])) if row else []


def _rewind(index: Path, file: str) -> None:
    """Forget everything from the start of `file` on: records and checkpoint."""
    conn = sqlite3.connect(index)
    try:
        with conn:
            seq = int(file.rsplit(".", 1)[1])
            conn.execute(
                "DELETE FROM transaction_tables WHERE tx_id IN "
                "(SELECT id FROM transactions WHERE file_seq >= ?)",
                (seq,),
            )
            conn.execute("DELETE FROM transactions WHERE file_seq >= ?", (seq,))
            conn.execute("UPDATE checkpoint SET file = ?, pos = 4", (file,))
    finally:
        conn.close()
