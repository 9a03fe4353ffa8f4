"""drkit as a background process, its children, and a row lock that holds an applier still."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import Any

from tests.support.sandbox import Sandbox, wait_for


def drkit_popen(box: Sandbox, *args: str, config: Path | None = None) -> subprocess.Popen[str]:
    """The real CLI as a separate process (in its own session, so a test can kill only it)."""
    env = {k: v for k, v in os.environ.items() if k != "DRKIT_DEBUG"}
    return subprocess.Popen(
        [sys.executable, "-m", "drkit", "--config", str(config or box.config_file), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )


def children_of(pid: int) -> dict[int, str]:
    """Every live descendant of pid: pid -> command name."""
    parents: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] == "Z":
            continue
        names[int(entry.name)] = name
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found: dict[int, str] = {}
    todo = list(parents.get(pid, []))
    while todo:
        child = todo.pop()
        found[child] = names.get(child, "?")
        todo.extend(parents.get(child, []))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].split()[0] != "Z"


@contextmanager
def row_lock(box: Sandbox, node: str, table: str, row_id: int) -> Iterator[Any]:
    """Hold `SELECT ... FOR UPDATE` on one row of a node until the block ends (or .rollback())."""
    conn = box.connect(node)
    cur = conn.cursor()
    cur.execute("SET SESSION innodb_lock_wait_timeout = 300")
    cur.execute("START TRANSACTION")
    cur.execute(f"SELECT * FROM {table} WHERE id = {row_id} FOR UPDATE")
    cur.fetchall()
    try:
        yield conn
    finally:
        # The node may have been killed by the test: then the lock went with it.
        with suppress(Exception):
            conn.rollback()
            conn.close()


def domain_writes(box: Sandbox, domain: int, statements: list[str]) -> list[str]:
    """Run statements on the primary in GTID domain `domain` (admin account); each one's GTID."""
    with closing(box.connect("primary")) as conn:
        cur = conn.cursor()
        cur.execute(f"SET SESSION gtid_domain_id = {domain}")
        gtids = []
        for statement in statements:
            cur.execute(statement)
            cur.execute("SELECT @@last_gtid")
            gtids.append(str(cur.fetchall()[0][0]))
        return gtids


def catch_up_delayed(box: Sandbox, timeout: float = 30) -> None:
    """Let the delayed replica apply everything the primary has now, then restore its delay."""
    delay = int(box.replica_status("delayed")["SQL_Delay"])
    box.sql("delayed", "STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 0", "START SLAVE")
    target = box.value("primary", "SELECT @@gtid_binlog_pos")
    wait_for(
        lambda: box.value("delayed", "SELECT @@gtid_slave_pos") == target,
        timeout=timeout,
        what="the delayed replica to apply the setup",
    )
    box.sql("delayed", "STOP SLAVE", f"CHANGE MASTER TO MASTER_DELAY = {delay}", "START SLAVE")
