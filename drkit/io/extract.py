"""Copy one table's rows from a node into another through the servers' own tools.

The source's dump tool (`mariadb-dump` / `mysqldump`) streams INSERT statements; drkit renames them
on the way when the table gets a new name, and the destination's client applies them. Passwords go
through private option files, never argv.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

from drkit.config import NodeConfig
from drkit.dialect.dump import (
    UnexpectedDump,
    client_arguments,
    dump_arguments,
    rename_inserts,
    tool_names,
)
from drkit.dialect.sql import quote_ident
from drkit.errors import DrkitError
from drkit.io.command import scrubbed_environment, signal_group, spawn
from drkit.io.optionfile import client_option_file
from drkit.io.programs import find_program

COPY_TIMEOUT = 6 * 3600.0


class ExtractError(DrkitError):
    """The copy did not complete; the destination may hold part of the rows."""


def copy_table(
    source: NodeConfig,
    destination: NodeConfig,
    source_table: str,
    target_table: str,
    *,
    mariadb: bool,
    timeout: float = COPY_TIMEOUT,
    snapshot_taken: Callable[[], None] | None = None,
) -> int:
    """Stream the rows of `source_table` into `target_table` (created already); bytes sent.

    `snapshot_taken` runs once the dump's consistent snapshot surely exists: at its first row
    (the dump selects rows only after START TRANSACTION WITH CONSISTENT SNAPSHOT), or at its end
    when the table is empty; `drkit asof` holds a read lock on the source table until then.
    """
    dump_names, client_names = tool_names(mariadb)
    dump_tool = find_program(*dump_names)
    client_tool = find_program(*client_names)
    if dump_tool is None or client_tool is None:
        missing = dump_names[0] if dump_tool is None else client_names[0]
        raise ExtractError(f"{missing} was not found on PATH (nor in /usr/sbin, /usr/local/bin)")
    source_name = source_table.partition(".")[2]
    schema, _, target_name = target_table.partition(".")
    with (
        client_option_file(source, mariadb=mariadb) as source_options,
        client_option_file(destination, mariadb=mariadb) as destination_options,
        tempfile.TemporaryFile() as dump_errors,
        tempfile.TemporaryFile() as client_errors,
    ):
        env = scrubbed_environment(
            secret_names=[n.password.env for n in (source, destination) if n.password.env]
        )
        dump = spawn(
            dump_arguments(str(dump_tool), str(source_options), source_table, mariadb=mariadb),
            stdout=subprocess.PIPE,
            stderr=dump_errors,
            env=env,
            pass_fds=source_options.pass_fds,  # the option text, in memory only
        )
        try:
            client = spawn(
                client_arguments(str(client_tool), str(destination_options), schema),
                stdin=subprocess.PIPE,
                stderr=client_errors,
                env=env,
                pass_fds=destination_options.pass_fds,
            )
        except OSError:
            _kill(dump)
            dump.wait()
            raise
        # A hung tool must not hang drkit: kill both when the time is up.
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            _kill(dump, client)

        watchdog = threading.Timer(timeout, expire)
        watchdog.start()
        try:
            taken = _once(snapshot_taken)
            sent, problem = _pump(dump.stdout, client.stdin, source_name, target_name, taken)
            taken()  # at the dump's end at the latest: an empty table gives no row
            if problem is not None:
                # Kill the client before its input ends: nothing after the bad line reaches it.
                _kill(dump, client)
            with contextlib.suppress(BrokenPipeError, OSError):
                if client.stdin is not None:
                    client.stdin.close()
            dump.wait()
            client.wait()
        finally:
            watchdog.cancel()
        if problem is not None:
            raise ExtractError(
                f"copying {source_table} stopped: {problem}",
                hint=f"{target_table} on {destination.name} may hold part of the rows: "
                "drop it before trying again",
            )
        if dump.returncode != 0:
            why = f"took over {timeout:.0f}s" if expired.is_set() else _tail(dump_errors)
            raise ExtractError(
                f"{Path(dump_tool).name} failed on {source.name} (exit {dump.returncode}): {why}",
                hint=f"{target_table} on {destination.name} may hold part of the rows: "
                "drop it before trying again",
            )
        if client.returncode != 0:
            raise ExtractError(
                f"applying the rows on {destination.name} failed (exit {client.returncode}): "
                f"{_tail(client_errors)}",
                hint=f"{target_table} on {destination.name} may hold part of the rows: "
                "drop it before trying again",
            )
    return sent


def _pump(
    source: IO[bytes] | None,
    sink: IO[bytes] | None,
    source_name: str,
    target_name: str,
    snapshot_taken: Callable[[], None],
) -> tuple[int, str | None]:
    """Copy the dump into the client, renaming INSERTs; (bytes sent, why it stopped early)."""
    assert source is not None and sink is not None
    sent = 0
    problem = None
    renamed = b"INSERT INTO " + quote_ident(target_name).encode()
    with source:
        try:
            for line in rename_inserts(source, source_name, target_name):
                if line.startswith(renamed):
                    snapshot_taken()
                sink.write(line)
                sent += len(line)
        except UnexpectedDump as exc:
            problem = str(exc)
        except BrokenPipeError:
            pass  # the client exited early: its exit status says why
    return sent, problem


def _once(then: Callable[[], None] | None) -> Callable[[], None]:
    """`then` the first time the result is called, nothing after (nor when it is None)."""
    pending = [then] if then is not None else []

    def call() -> None:
        if pending:
            pending.pop()()

    return call


def _kill(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        signal_group(process)


def _tail(errors: IO[bytes]) -> str:
    errors.seek(0)
    lines = errors.read().decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else "no message"
