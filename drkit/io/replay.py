"""Replay archived binlog onto a node through the server's own tools (binlog tool | client).

One client session applies everything; the binlog tool runs once per archived file, in order,
writing into the client's stdin (the same output as one tool run over all the files, but for a
session reset between files, where no transaction spans). A file drkit compressed is
decompressed into the tool's stdin through a pipe (`-`): the binlog's rows never reach a
temporary file. The tool writes LOAD DATA's data into files of its own: they go to a private
folder inside the archive (mode 0700, removed afterwards), never to /tmp, where they would
outlive the replay and could hit the tool's limit of temporary file names.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from drkit.compression import CompressedFileError, is_compressed, stored_path, stream_binlog
from drkit.config import NodeConfig
from drkit.errors import DrkitError
from drkit.io.archive import binlog_tool
from drkit.io.children import die_with_parent
from drkit.io.optionfile import client_option_file
from drkit.io.programs import find_program
from drkit.io.secrets import child_environment

REPLAY_TIMEOUT = 6 * 3600.0
LOAD_FOLDER_PREFIX = ".drkit-load-"


class ReplayError(DrkitError):
    """The archive replay did not complete: the node holds what was applied before the error."""


def replay_command(
    sources: Sequence[str],
    start_pos: int,
    stop_pos: int | None,
    mariadb: bool,
    load_folder: Path | None = None,
) -> list[list[str]]:
    """The binlog tool's argv for each source (a path, or `-` for stdin): from start_pos in the
    first to stop_pos in the last."""
    tool = str(binlog_tool(mariadb))
    commands = []
    for number, source in enumerate(sources):
        argv = [tool]
        if load_folder is not None:
            argv.append(f"--local-load={load_folder}")
        if number == 0:
            argv.append(f"--start-position={start_pos}")
        if stop_pos is not None and number == len(sources) - 1:
            argv.append(f"--stop-position={stop_pos}")
        argv.append(source)
        commands.append(argv)
    return commands


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

    The tools die with drkit (even by kill -9) and are killed as a group on a timeout, so no
    orphan goes on writing to the node behind a re-run's back; `on_started` hears their pids.
    Every file is opened before the first tool starts: a follower compressing one meanwhile
    (and removing its plain copy) takes nothing from under the replay.
    """
    client = find_program("mariadb", "mysql") if mariadb else find_program("mysql", "mariadb")
    if client is None:
        raise ReplayError("the mariadb/mysql client was not found on PATH")
    with contextlib.ExitStack() as opened:
        inputs = [_open_input(opened, archive_dir, name) for name in files]
        load_folder = Path(tempfile.mkdtemp(prefix=LOAD_FOLDER_PREFIX, dir=archive_dir))
        opened.callback(shutil.rmtree, load_folder, ignore_errors=True)
        producers = replay_command(
            [item.source for item in inputs], start_pos, stop_pos, mariadb, load_folder
        )
        with client_option_file(node, mariadb=mariadb) as options:
            # --binary-mode: row images are base64 inside BINLOG statements, but strings may hold any byte.
            consumer = [str(client), f"--defaults-extra-file={options}", "--binary-mode"]
            _Pipeline(node, consumer, options.pass_fds, on_started, timeout).run(producers, inputs)


@dataclass(frozen=True)
class _Input:
    """One archived file, open: the tool reads a plain one by its descriptor (/dev/fd/N, which
    it can seek in), a compressed one from stdin, fed by a thread."""

    name: str
    handle: IO[bytes]
    compressed: bool

    @property
    def source(self) -> str:
        return "-" if self.compressed else f"/dev/fd/{self.handle.fileno()}"


def _open_input(opened: contextlib.ExitStack, archive_dir: Path, name: str) -> _Input:
    stored = stored_path(archive_dir / name)
    try:
        handle = opened.enter_context(stored.open("rb"))
    except FileNotFoundError:
        raise ReplayError(f"the archive lacks {name}") from None
    return _Input(name, handle, is_compressed(stored))


class _Pipeline:
    """The client, and the binlog tool once per file writing into its stdin."""

    def __init__(
        self,
        node: NodeConfig,
        consumer: list[str],
        pass_fds: Sequence[int],
        on_started: Callable[[tuple[int, ...]], None] | None,
        timeout: float,
    ) -> None:
        self.node = node
        self.consumer = consumer
        self.pass_fds = pass_fds
        self.on_started = on_started
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        self.hook = die_with_parent()

    def run(self, producers: Sequence[list[str]], inputs: Sequence[_Input]) -> None:
        with (
            tempfile.TemporaryFile(prefix="drkit-replay-err-") as client_err,
            tempfile.TemporaryFile(prefix="drkit-replay-err-") as tool_err,
        ):
            client = subprocess.Popen(
                self.consumer,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=client_err,
                preexec_fn=self.hook,  # noqa: PLW1509 - prctl only, no Python state touched
                process_group=0,
                pass_fds=self.pass_fds,  # the option text, in memory only
                env=child_environment(),
            )
            assert client.stdin is not None
            try:
                for argv, item in zip(producers, inputs, strict=True):
                    try:
                        self._produce(argv, item, client, tool_err)
                    except ReplayError:
                        # A tool writing into a client that failed dies of the broken pipe:
                        # the client's own message is the one that tells what went wrong.
                        if client.poll() is None or client.returncode == 0:
                            raise
                        break
                client.stdin.close()
                client.wait(timeout=self._left())
            except subprocess.TimeoutExpired:
                _kill_group(client)
                raise ReplayError(
                    f"replaying the archive onto {self.node.name} took over {self.timeout:.0f}s"
                ) from None
            except BaseException:
                # Ctrl-C or any other failure here: no tool may go on writing to the node.
                _kill_group(client)
                raise
            finally:
                if self.on_started is not None:
                    self.on_started(())
            if client.returncode != 0:
                raise ReplayError(
                    f"applying the archive on {self.node.name} failed (exit {client.returncode}): "
                    f"{_tail(client_err)}",
                    hint="the node holds every transaction before the failing one; `drkit status` shows where",
                )

    def _produce(
        self, argv: list[str], item: _Input, client: subprocess.Popen[bytes], errors: IO[bytes]
    ) -> None:
        """Run the binlog tool over one file into the client; raise when it fails."""
        compressed = item.compressed
        errors.seek(0)
        errors.truncate()
        producer = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if compressed else subprocess.DEVNULL,
            stdout=client.stdin,
            stderr=errors,
            preexec_fn=self.hook,  # noqa: PLW1509
            process_group=client.pid,
            pass_fds=() if compressed else (item.handle.fileno(),),
            env=child_environment(),
        )
        if self.on_started is not None:
            self.on_started((producer.pid, client.pid))
        feeder = _Feeder(item, producer.stdin) if compressed else None
        try:
            producer.wait(timeout=self._left())
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                producer.kill()
            producer.wait()
            raise
        finally:
            if feeder is not None:
                feeder.join()
        if feeder is not None and feeder.error is not None:
            raise ReplayError(f"reading {item.name} from the archive failed: {feeder.error}")
        if producer.returncode != 0:
            raise ReplayError(
                f"{Path(argv[0]).name} failed on {item.name} (exit {producer.returncode}): "
                f"{_tail(errors)}"
            )

    def _left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())


class _Feeder:
    """Decompresses an archived file into the binlog tool's stdin, in a thread."""

    def __init__(self, item: _Input, pipe: IO[bytes] | None) -> None:
        assert pipe is not None
        self.error: str | None = None
        self._item = item
        self._pipe = pipe
        self._thread = threading.Thread(target=self._run, name="drkit-replay-feed", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            stream_binlog(self._item.handle, self._pipe, self._item.name)
        except BrokenPipeError:
            pass  # the tool stopped reading (its stop position): not an error of ours
        except (OSError, CompressedFileError) as exc:
            self.error = str(exc)
        finally:
            with contextlib.suppress(BrokenPipeError):
                self._pipe.close()

    def join(self) -> None:
        self._thread.join()


def _kill_group(leader: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(leader.pid, signal.SIGKILL)
    leader.wait()


def _tail(stream: IO[bytes]) -> str:
    stream.seek(0)
    lines = stream.read().decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else "no message"
