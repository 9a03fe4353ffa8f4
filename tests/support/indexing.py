"""What the indexer tests share: the primary's own view of its binlog, the index's view, and a
`drkit index --follow` process to start, poke and stop."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from tests.support.sandbox import Sandbox, pids_alive, wait_for

IN_USE_FLAG_OFFSET = 21
IN_USE = 0x01  # LOG_EVENT_BINLOG_IN_USE_F

Start = tuple[str, str, int]  # (gtid, file, start_pos)


def primary_starts(box: Sandbox) -> list[Start]:
    """Every transaction of the primary's binlogs as SHOW BINLOG EVENTS reports its GTID event."""
    starts: list[Start] = []
    for log in box.sql("primary", "SHOW BINARY LOGS"):
        for event in box.sql("primary", f"SHOW BINLOG EVENTS IN '{log['Log_name']}'"):
            if event["Event_type"] == "Gtid":
                # Info reads "BEGIN GTID 0-1-9" or "GTID 0-1-3" (DDL).
                starts.append((event["Info"].split()[-1], event["Log_name"], int(event["Pos"])))
    return starts


def index_starts(index: Path) -> list[Start]:
    """The index's transactions in binlog order, as (gtid, file, start_pos)."""
    with closing(sqlite3.connect(f"file:{index}?mode=ro", uri=True)) as conn:
        if conn.execute("PRAGMA user_version").fetchone()[0] == 0:
            return []  # the indexer has created the file but not its tables yet
        rows = conn.execute(
            "SELECT gtid, file, start_pos FROM transactions ORDER BY file_seq, start_pos"
        ).fetchall()
    return [(str(gtid), str(file), int(pos)) for gtid, file, pos in rows]


def indexed_gtids(index: Path) -> set[str]:
    if not index.exists():
        return set()
    return {gtid for gtid, _, _ in index_starts(index)}


def binlog_dir(box: Sandbox) -> Path:
    return Path(str(box.value("primary", "SELECT @@log_bin_basename"))).parent


def archive_differences(box: Sandbox, archive: Path) -> dict[str, str]:
    """Each primary binlog whose archived copy differs, and how; empty when all are identical.

    A file the primary still writes has the "in use" flag set in its format description event
    (offset 21) where the copy has it clear; so has a file the primary was writing when it
    crashed (the flag stays set there for good). That bit is the one difference allowed.
    """
    logs = [str(row["Log_name"]) for row in box.sql("primary", "SHOW BINARY LOGS")]
    source = binlog_dir(box)
    problems: dict[str, str] = {}
    for name in logs:
        ours = (archive / name).read_bytes() if (archive / name).exists() else None
        theirs = (source / name).read_bytes()
        if ours is None:
            problems[name] = "not archived"
            continue
        if len(theirs) > IN_USE_FLAG_OFFSET and theirs[IN_USE_FLAG_OFFSET] & IN_USE:
            theirs = _flag_cleared(theirs)
        if ours != theirs:
            problems[name] = f"{len(ours)} bytes archived, {len(theirs)} on the primary" + (
                "" if len(ours) != len(theirs) else ", same length, different bytes"
            )
    return problems


def _flag_cleared(data: bytes) -> bytes:
    flags = data[IN_USE_FLAG_OFFSET] & ~IN_USE
    return data[:IN_USE_FLAG_OFFSET] + bytes([flags]) + data[IN_USE_FLAG_OFFSET + 1 :]


def drkit_argv(box: Sandbox, *args: str) -> list[str]:
    return [sys.executable, "-m", "drkit", "--config", str(box.config_file), *args]


@contextmanager
def following(box: Sandbox, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`drkit index --follow` in a process group of its own, as in a terminal; Ctrl-C on exit."""
    env = {**os.environ}
    env.pop("DRKIT_DEBUG", None)
    with log.open("ab") as sink:
        process = subprocess.Popen(
            drkit_argv(box, "index", "--follow"),
            stdout=sink,
            stderr=sink,
            env=env,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen[bytes], timeout: float = 20) -> int:
    """Ctrl-C the process (SIGINT to its whole group, as a terminal does) and wait; SIGKILL if it
    hangs. Its exit code."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return int(process.returncode)


def copier_pids(archive: Path) -> list[int]:
    """Live binlog-copying tools writing into this archive (orphans a killed indexer left)."""
    wanted = f"--result-file={archive}{os.sep}".encode()
    return _pids_where(lambda argv: any(arg.endswith(wanted) for arg in argv))


def writer_pids(index: Path) -> list[int]:
    """Live index writer processes writing this index (orphans a killed indexer left)."""
    return _pids_where(
        lambda argv: b"drkit.index.writer_process" in argv and str(index).encode() in argv
    )


def _pids_where(matches: Callable[[list[bytes]], bool]) -> list[int]:
    """Live processes whose argv `matches`."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if matches(argv):
            found.append(int(entry.name))
    return pids_alive(found)


def wait_indexed(index: Path, gtids: set[str], timeout: float = 20) -> None:
    """Wait until every GTID in `gtids` is in the index."""
    wait_for(
        lambda: gtids <= indexed_gtids(index),
        timeout=timeout,
        what=f"{len(gtids)} transactions in the index",
    )


def last_gtid(box: Sandbox) -> str:
    return str(box.value("primary", "SELECT @@gtid_binlog_pos"))
