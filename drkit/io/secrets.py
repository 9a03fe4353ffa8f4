"""Secrets kept away from children, disks and screens.

Three things live here: the environment every child of drkit gets (no password variables), the
private client option text handed to the server's tools through an inherited memfd or pipe
(`--defaults-extra-file=/dev/fd/N`, nothing on disk), and the redaction of passwords in SQL text
before it reaches the index, `events`, the console, alerts or reports.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from drkit.config import Config
from drkit.errors import ConfigError

# Variable names that hold secrets by convention. `PWD` and `OLDPWD` (working directories) stay.
_SECRET_NAME = re.compile(
    r"PASSW(?:OR)?D|PASSPHRASE|SECRET|TOKEN|CREDENTIAL|PRIVATE_?KEY|API_?KEY|_PWD$|^PW$",
    re.IGNORECASE,
)

_lock = threading.Lock()
_variables: set[str] = set()
_values: set[str] = set()


def note_password_variable(name: str) -> None:
    """Remember a variable a config names as `password_env`: no child ever inherits it."""
    with _lock:
        _variables.add(name)


def note_config(config: Config) -> None:
    """Remember every `password_env` a loaded config names (the config layer cannot call io)."""
    for node in config.nodes.values():
        if node.password.env:
            note_password_variable(node.password.env)


def note_password(value: str) -> None:
    """Remember a password drkit has read (in memory only): a variable holding it is scrubbed too."""
    if value:
        with _lock:
            _values.add(value)


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """os.environ without password variables (by name, by config, and by value), plus `extra`."""
    with _lock:
        variables = set(_variables)
        values = set(_values)
    env = {
        name: value
        for name, value in os.environ.items()
        if not is_secret_variable(name) and name not in variables and value not in values
    }
    if extra:
        env.update(extra)
    return env


def is_secret_variable(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


# --- passwords in client option files -------------------------------------------------------

_FORBIDDEN = {"\n": "a newline", "\r": "a carriage return", "\x00": "a NUL byte"}


def check_password(value: str, where: str) -> str:
    """The password, or ConfigError naming `where` (never the value) when it cannot be passed safely."""
    for char, name in _FORBIDDEN.items():
        if char in value:
            raise ConfigError(
                f"{where}: the password contains {name}, which no client option file can carry",
                hint="choose a password without control characters",
            )
    return value


def option_value(value: str) -> str:
    """A value quoted for a MySQL/MariaDB option file: backslashes and double quotes escaped."""
    if any(char in value for char in _FORBIDDEN):
        raise ValueError("option values cannot hold newlines, carriage returns or NUL bytes")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class InheritedFile:
    """An open descriptor a child inherits at the same number, named `/dev/fd/N` in its argv."""

    fd: int

    @property
    def path(self) -> str:
        return f"/dev/fd/{self.fd}"

    @property
    def pass_fds(self) -> tuple[int, ...]:
        return (self.fd,)

    def __str__(self) -> str:
        return self.path

    def __fspath__(self) -> str:
        return self.path


@contextlib.contextmanager
def inherited_file(content: bytes, name: str = "drkit-client") -> Iterator[InheritedFile]:
    """`content` in memory only (a sealed memfd, or a pipe where memfd is missing), closed after."""
    fd = _memfd(content, name)
    try:
        yield InheritedFile(fd)
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)


def _memfd(content: bytes, name: str) -> int:
    create = getattr(os, "memfd_create", None)
    if create is None:
        return _pipe(content)
    flags = os.MFD_CLOEXEC | getattr(os, "MFD_ALLOW_SEALING", 0)
    try:
        fd: int = create(name, flags)
    except OSError:
        return _pipe(content)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view) :]
        # A memfd is created 0777; client tools ignore a world-writable option file.
        os.fchmod(fd, 0o400)
        import fcntl

        seals = getattr(fcntl, "F_ADD_SEALS", None)
        if seals is not None:
            with contextlib.suppress(OSError):
                fcntl.fcntl(
                    fd,
                    seals,
                    fcntl.F_SEAL_SEAL
                    | fcntl.F_SEAL_SHRINK
                    | fcntl.F_SEAL_GROW
                    | fcntl.F_SEAL_WRITE,
                )
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _pipe(content: bytes) -> int:
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    try:
        # An option file is far below the pipe's buffer: the write never blocks.
        os.write(write_end, content)
    finally:
        os.close(write_end)
    return read_end


# --- redaction ------------------------------------------------------------------------------

REDACTED = "'<redacted>'"

_QUOTED = r"""(?:'(?:[^'\\]|\\.|'')*(?:'|$)|"(?:[^"\\]|\\.|"")*(?:"|$))"""
_HINT = re.compile(r"PASSWORD|IDENTIFIED|\bPWD\b", re.IGNORECASE)
# What _HINT looks for is tested lower-cased with substring tests: on ASCII text that is twenty
# times faster than the case-insensitive regex (the indexer redacts every statement it stores).
_RULES = tuple(
    re.compile(pattern, re.IGNORECASE | re.DOTALL)
    for pattern in (
        # user accounts and grants: IDENTIFIED [WITH plugin] BY [PASSWORD] 'x'
        rf"(\bIDENTIFIED\s+(?:WITH\s+\S+\s+)?BY\s+(?:PASSWORD\s+)?){_QUOTED}",
        # IDENTIFIED VIA|WITH plugin USING|AS 'x' (and USING PASSWORD('x'), handled below)
        rf"(\bIDENTIFIED\s+(?:VIA|WITH)\s+\S+\s+(?:USING|AS)\s+){_QUOTED}",
        # PASSWORD('x'), OLD_PASSWORD('x')
        rf"(\b(?:OLD_)?PASSWORD\s*\(\s*){_QUOTED}",
        # replication sources: MASTER_PASSWORD = 'x', and a replica started with PASSWORD='x'
        rf"(\b(?:MASTER_|SOURCE_)?PASSWORD\s*=\s*){_QUOTED}",
        # SET PASSWORD [FOR u] = 'x'
        rf"(\bSET\s+PASSWORD\b[^=]*=\s*){_QUOTED}",
        # MySQL: ... IDENTIFIED BY 'new' REPLACE 'current', SET PASSWORD = 'x' REPLACE 'current'
        rf"({REDACTED}\s+REPLACE\s+){_QUOTED}",
        # CREATE SERVER ... OPTIONS (PASSWORD 'x')
        rf"(\bPASSWORD\s+){_QUOTED}",
    )
)


def redact_statement(text: str) -> str:
    """SQL text with every password literal replaced by '<redacted>' (cheap when none is there)."""
    if not text or not _may_hold_password(text):
        return text
    for rule in _RULES:
        text = rule.sub(lambda match: match.group(1) + REDACTED, text)
    return text


def _may_hold_password(text: str) -> bool:
    # Unicode case folding matches more than lower() does (the long s is an S): non-ASCII text
    # goes to the regex itself.
    if text.isascii():
        lowered = text.lower()
        # Spelled out rather than any() over a tuple: a generator costs more than the tests.
        if "password" not in lowered and "identified" not in lowered and "pwd" not in lowered:
            return False
    return _HINT.search(text) is not None


__all__ = [
    "InheritedFile",
    "check_password",
    "child_environment",
    "inherited_file",
    "note_password",
    "note_password_variable",
    "option_value",
    "redact_statement",
]
