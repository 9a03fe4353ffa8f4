"""Keep raw copies of the primary's binlog files, written by the server's own client tool.

`mariadb-binlog --read-from-remote-server --raw` (or `mysqlbinlog`) writes files identical to the
primary's, except one byte while the primary still writes a file: the format description event's
"in use" flag at offset 21. The password reaches the tool through a private option file, never argv.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from drkit.compression import SUFFIX
from drkit.config import NodeConfig
from drkit.errors import DrkitError
from drkit.io.command import scrubbed_environment, spawn
from drkit.io.optionfile import client_option_file
from drkit.io.programs import find_program
from drkit.io.secrets import InheritedFile
from drkit.model.coords import file_sequence
from drkit.retry import Retry

LOCK_NAME = ".drkit-archive.lock"
CHECK_EVERY = 0.5  # seconds between two looks at should_stop while copying
IN_USE_FLAG_OFFSET = 21


class ArchiveError(DrkitError):
    """The archive could not be written, or someone else is writing it."""


class ArchiveBusyError(ArchiveError):
    """Another process holds the archive's lock (an indexer or guard following the primary)."""

    def __init__(self, message: str, pid: int | None, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.pid = pid


def binlog_tool(mariadb: bool) -> Path:
    names = ("mariadb-binlog", "mysqlbinlog") if mariadb else ("mysqlbinlog", "mariadb-binlog")
    found = find_program(*names)
    if found is None:
        raise ArchiveError(
            f"{names[0]} was not found on PATH",
            hint="install the server's client tools (apt-get install mariadb-client)",
        )
    return found


def archived_files(archive_dir: Path) -> list[Path]:
    """The archive's binlog files in server order, by their binlog names: a compressed one is
    listed as `archive_dir / NAME` too (`compressed.stored_path` finds `NAME.zst` on disk)."""
    if not archive_dir.is_dir():
        return []
    files: dict[str, int] = {}
    for path in archive_dir.iterdir():
        if path.is_file() and not path.name.startswith("."):
            name = path.name.removesuffix(SUFFIX)
            with contextlib.suppress(ValueError):
                files[name] = file_sequence(name)
    return [archive_dir / name for name, _ in sorted(files.items(), key=lambda item: item[1])]


@dataclass
class ArchiveWriter:
    """Runs the binlog tool that copies the primary's binlogs into `archive_dir`."""

    node: NodeConfig
    archive_dir: Path
    mariadb: bool = True
    process: subprocess.Popen[bytes] | None = None
    _secret: contextlib.AbstractContextManager[InheritedFile] | None = None
    _stderr: IO[bytes] | None = field(default=None, repr=False)
    _stopped_for: str | None = field(default=None, repr=False)  # why a copy was stopped early
    _next_look: float = field(default=0.0, repr=False)  # when `fetching` asks should_stop again

    def fetch_to_last(
        self,
        first_file: str,
        timeout: float = 600,
        should_stop: Callable[[], str | None] | None = None,
    ) -> None:
        """Copy `first_file` and every later binlog, then return (no following).

        `should_stop` is asked twice a second; a reason from it stops the tool (the disk runs
        low) and is raised.
        """
        self.start_fetch(first_file)
        self.finish_fetch(timeout, should_stop)

    def start_fetch(self, first_file: str) -> None:
        """Start copying `first_file` and every later binlog in the background, up to the last
        one as it is now (no following); `finish_fetch` waits for the end. The indexer scans the
        files while they are copied, asking `fetching` whether more is coming."""
        self.stop()
        self._stopped_for = None
        self._next_look = 0.0
        self.process = self._spawn(first_file, follow=False)

    def fetching(self, should_stop: Callable[[], str | None] | None = None) -> bool:
        """Whether the copy `start_fetch` started still runs. A reason from `should_stop` (asked
        at most twice a second) stops the tool first; `finish_fetch` then raises it."""
        if not self.running():
            return False
        if should_stop is not None and time.monotonic() >= self._next_look:
            self._next_look = time.monotonic() + CHECK_EVERY
            reason = should_stop()
            if reason is not None:
                self._stopped_for = reason
                self.stop()
                return False
        return True

    def finish_fetch(
        self, timeout: float = 600, should_stop: Callable[[], str | None] | None = None
    ) -> None:
        """Wait for the copy `start_fetch` started (asking `should_stop` twice a second, as
        fetch_to_last does); ArchiveError when it failed, was stopped, or took too long."""
        process = self.process
        deadline = time.monotonic() + timeout
        try:
            while process is not None and self._stopped_for is None:
                try:
                    process.wait(timeout=min(CHECK_EVERY, max(0.0, deadline - time.monotonic())))
                    break
                except subprocess.TimeoutExpired:
                    reason = should_stop() if should_stop is not None else None
                    if reason is None and time.monotonic() < deadline:
                        continue
                process.kill()
                process.wait()
                if reason is None:
                    raise ArchiveError(
                        f"copying binlogs from {self.node.name} took over {timeout:.0f} s"
                    )
                self._stopped_for = reason
        finally:
            self._forget_secret()
        if self._stopped_for is not None:
            raise ArchiveError(
                f"copying binlogs from {self.node.name} stopped: {self._stopped_for}"
            )
        if process is None or process.returncode != 0:
            raise ArchiveError(
                f"copying binlogs from {self.node.name} failed: {_last_line(self._errors())}"
            )

    def follow(self, first_file: str) -> None:
        """Start copying from `first_file` and keep copying as the primary writes (background)."""
        self.stop()
        self.process = self._spawn(first_file, follow=True)

    def running(self) -> bool:
        if self.process is None:
            return False
        if self.process.poll() is None:
            return True
        self._forget_secret()
        return False

    def exit_reason(self) -> str:
        if self.process is None or self.process.poll() is None:
            return ""
        return f"exit {self.process.returncode}: {_last_line(self._errors())}"

    def _errors(self) -> bytes:
        """What the tool wrote on stderr (kept in a file: a full pipe would stall the tool)."""
        if self._stderr is None:
            return b""
        self._stderr.seek(0)
        return self._stderr.read()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        self._forget_secret()

    def _spawn(self, first_file: str, follow: bool) -> subprocess.Popen[bytes]:
        # Binlogs hold every row the primary wrote: the archive is private to its owner.
        self.archive_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        options = self._secret_file()
        argv = [
            str(binlog_tool(self.mariadb)),
            f"--defaults-extra-file={options}",  # must come first; carries the password
            "--read-from-remote-server",
            "--raw",
            f"--result-file={self.archive_dir}{os.sep}",
            "--stop-never" if follow else "--to-last-log",
            first_file,
        ]
        if follow:
            # Reconnects are drkit's job (with backoff), not the tool's.
            argv.insert(-1, "--stop-never-slave-server-id=" + str(_archiver_server_id(self.node)))
        if self._stderr is not None:
            self._stderr.close()
        self._stderr = tempfile.TemporaryFile(prefix="drkit-archive-err-")  # noqa: SIM115 - lives as long as the tool
        try:
            # Its own session: a Ctrl-C at the terminal reaches drkit, which then stops the copier
            # itself. And it dies with drkit: a killed indexer leaves no copier in the archive.
            secrets = [self.node.password.env] if self.node.password.env else []
            return spawn(
                argv,
                stderr=self._stderr,
                env=scrubbed_environment(secrets),
                pass_fds=options.pass_fds,  # the option text, in memory only
            )
        except OSError as exc:
            raise ArchiveError(f"cannot run {argv[0]}: {exc.strerror}") from None

    def _secret_file(self) -> InheritedFile:
        # The tool reads the file at start-up; it is closed when the tool stops (_forget_secret).
        self._forget_secret()
        self._secret = client_option_file(self.node, mariadb=self.mariadb)
        return self._secret.__enter__()

    def _forget_secret(self) -> None:
        if self._secret is not None:
            self._secret.__exit__(None, None, None)
            self._secret = None


def _archiver_server_id(node: NodeConfig) -> int:
    # A server id no real replica uses: the primary drops an older connection with the same id.
    return 4_000_000_000 - (node.port % 100_000)


def _last_line(err: bytes | None) -> str:
    lines = (err or b"").decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else "no message"


class ArchiveLock:
    """Only one process writes an archive and its index at a time (an flock on a file in it)."""

    def __init__(self, archive_dir: Path) -> None:
        self.path = archive_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self, wait: float = 0) -> None:
        # Binlogs hold every row the primary wrote: the archive is private to its owner.
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            Retry(0.1, timeout=wait, retry_on=(BlockingIOError,)).call(
                lambda: fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            )
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise ArchiveBusyError(
                f"the archive {self.path.parent} is being written by pid {holder}",
                int(holder) if holder.isdigit() else None,
                hint="an indexer or guard already follows the primary; stop it first, or just read the index",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ArchiveLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder(archive_dir: Path) -> int | None:
    """The pid holding the archive lock (an indexer or guard following the primary), if any."""
    path = archive_dir / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(fd, 64, 0).decode(errors="replace").strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def iter_archive(archive_dir: Path, first: str | None = None) -> Iterator[Path]:
    started = first is None
    for path in archived_files(archive_dir):
        if not started and path.name == first:
            started = True
        if started:
            yield path
