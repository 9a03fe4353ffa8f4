"""Replay archived binlog onto a node through the server's own tools (binlog tool | client)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from drkit.config import NodeConfig
from drkit.errors import DrkitError
from drkit.io.archive import binlog_tool
from drkit.io.children import die_with_parent
from drkit.io.optionfile import client_option_file
from drkit.io.programs import find_program
from drkit.io.secrets import child_environment

REPLAY_TIMEOUT = 6 * 3600.0


class ReplayError(DrkitError):
    """The archive replay did not complete: the node holds what was applied before the error."""


def replay_command(
    archive_dir: Path, files: Sequence[str], start_pos: int, stop_pos: int | None, mariadb: bool
) -> list[str]:
    """The binlog tool's argv: from start_pos in the first file to stop_pos in the last."""
    argv = [str(binlog_tool(mariadb)), f"--start-position={start_pos}"]
    if stop_pos is not None:
        argv.append(f"--stop-position={stop_pos}")
    return argv + [str(archive_dir / name) for name in files]


def replay_archive(
    node: NodeConfig,
    archive_dir: Path,
    files: Sequence[str],
    start_pos: int,
    stop_pos: int | None,
    *,
    mariadb: bool,
    timeout: float = REPLAY_TIMEOUT,
    on_started: Callable[[tuple[int, ...]], None] | None = None,
) -> None:
    """Apply exactly the archived transactions in [start_pos, stop_pos) to `node`.

    Both tools die with drkit (even by kill -9) and are killed as a group on a timeout, so no
    orphan goes on writing to the node behind a re-run's back; `on_started` hears their pids.
    """
    missing = [name for name in files if not (archive_dir / name).is_file()]
    if missing:
        raise ReplayError(f"the archive lacks {', '.join(missing)}")
    client = find_program("mariadb", "mysql") if mariadb else find_program("mysql", "mariadb")
    if client is None:
        raise ReplayError("the mariadb/mysql client was not found on PATH")
    producer = replay_command(archive_dir, files, start_pos, stop_pos, mariadb)
    with client_option_file(node, mariadb=mariadb) as options:
        # --binary-mode: row images are base64 inside BINLOG statements, but strings may hold any byte.
        consumer = [str(client), f"--defaults-extra-file={options}", "--binary-mode"]
        hook = die_with_parent()
        first = subprocess.Popen(
            producer,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=hook,  # noqa: PLW1509 - prctl only, no Python state touched
            process_group=0,
            env=child_environment(),
        )
        assert first.stdout is not None
        second = subprocess.Popen(
            consumer,
            stdin=first.stdout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=hook,  # noqa: PLW1509
            process_group=first.pid,
            pass_fds=options.pass_fds,  # the option text, in memory only
            env=child_environment(),
        )
        first.stdout.close()
        if on_started is not None:
            on_started((first.pid, second.pid))
        try:
            _, client_err = second.communicate(timeout=timeout)
            first.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _kill_group(first, second)
            raise ReplayError(
                f"replaying the archive onto {node.name} took over {timeout:.0f}s"
            ) from None
        except BaseException:
            # Ctrl-C or any other failure here: neither tool may go on writing to the node.
            _kill_group(first, second)
            raise
        finally:
            if on_started is not None:
                on_started(())
        tool_err = first.stderr.read() if first.stderr else b""
    if first.returncode != 0:
        raise ReplayError(
            f"{Path(producer[0]).name} failed (exit {first.returncode}): {_tail(tool_err)}"
        )
    if second.returncode != 0:
        raise ReplayError(
            f"applying the archive on {node.name} failed (exit {second.returncode}): {_tail(client_err)}",
            hint="the node holds every transaction before the failing one; `drkit status` shows where",
        )


def _kill_group(*processes: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(processes[0].pid, signal.SIGKILL)
    for process in processes:
        process.wait()


def _tail(data: bytes | None) -> str:
    lines = (data or b"").decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else "no message"
