"""The one way drkit starts another program: bounded, contained, and without drkit's secrets.

Every child gets an argument list (never a shell), a process group of its own (a Ctrl-C at the
terminal reaches drkit, which then stops its children itself; a timeout kills the child with
everything it started), a request to Linux to end it when drkit dies, even by SIGKILL, and an
environment from which password variables are removed: passwords reach the servers' tools through
private option files, never argv or the environment.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from drkit.io.children import die_with_parent

log = logging.getLogger(__name__)

# Seconds to wait for a killed group's pipes to close before giving up on what they still hold.
REAP_SECONDS = 2.0

_SECRET_WORDS = ("PASSWORD", "PASSWD")
_SECRET_NAMES = frozenset({"MYSQL_PWD"})

Redirect = int | IO[Any] | None


def scrubbed_environment(
    secret_names: Iterable[str] = (), extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """drkit's environment less password variables (by name, by the config's password_env, by
    value: drkit.io.secrets) and `secret_names`, plus `extra`."""
    from drkit.io.secrets import child_environment

    drop = set(secret_names) | _SECRET_NAMES
    env = {
        name: value
        for name, value in child_environment().items()
        if name not in drop and not any(word in name.upper() for word in _SECRET_WORDS)
    }
    env.update(extra or {})
    return env


def spawn(
    argv: Sequence[str],
    *,
    stdin: Redirect = subprocess.DEVNULL,
    stdout: Redirect = subprocess.DEVNULL,
    stderr: Redirect = subprocess.DEVNULL,
    env: Mapping[str, str] | None = None,
    pass_fds: Sequence[int] = (),
) -> subprocess.Popen[bytes]:
    """Start `argv` in its own process group, bound to drkit's life; OSError when it cannot run.

    `env` defaults to `scrubbed_environment()`; `pass_fds` hands it inherited descriptors (the
    in-memory client option text). The death signal is tied to the calling thread: start a
    long-lived child from a thread that lives as long as it must.
    """
    log.debug("starting %s", argv[0])
    return subprocess.Popen(
        list(argv),
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        env=dict(env) if env is not None else scrubbed_environment(),
        start_new_session=True,
        preexec_fn=die_with_parent(),  # noqa: PLW1509 - only a preloaded libc call runs
        pass_fds=tuple(pass_fds),
    )


@dataclass(frozen=True)
class Finished:
    """How a bounded run ended: exit status (None when it was killed for time), and its output."""

    returncode: int | None
    stdout: bytes
    stderr: bytes

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    input: bytes | None = None,
    capture_stdout: bool = True,
    env: Mapping[str, str] | None = None,
) -> Finished:
    """Run `argv` to its end within `timeout` seconds; past it, kill its whole group.

    OSError when the program cannot be started (missing, not executable).
    """
    process = spawn(
        argv,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE if capture_stdout else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        out, err = process.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        log.warning("%s ran over %g s: killed with its process group", argv[0], timeout)
        out, err = kill_group(process)
        return Finished(None, out, err)
    return Finished(process.returncode, out or b"", err or b"")


def signal_group(process: subprocess.Popen[bytes], signum: int = signal.SIGKILL) -> None:
    """Send `signum` to a child's whole process group (nothing when it has ended already)."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def kill_group(process: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """SIGKILL a child's whole process group and reap it; the output read so far."""
    signal_group(process)
    try:
        out, err = process.communicate(timeout=REAP_SECONDS)
    except (subprocess.TimeoutExpired, ValueError):
        # Something that left the group still holds the pipes open: stop reading them.
        for pipe in (process.stdin, process.stdout, process.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        process.wait()
        return b"", b""
    return out or b"", err or b""
