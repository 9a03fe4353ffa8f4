"""Connections to servers: one audited session per node, errors turned into sentences."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from drkit.config import NodeConfig
from drkit.dialect import Dialect, Sql, for_version
from drkit.errors import ExitCode, NodeError
from drkit.io.secrets import note_password
from drkit.io.tls import tls_arguments, tls_hint, tls_refusal
from drkit.model.version import ServerVersion
from drkit.tls import TlsState

log = logging.getLogger(__name__)

DEFAULT_CONNECT_TIMEOUT = 5.0

# mysql.connector error numbers that mean "the login was refused", not "the network is down".
_AUTH_ERRNOS = {1045, 1044, 1698, 1251, 2059, 2061}
_NETWORK_ERRNOS = {2002, 2003, 2005, 2006, 2013, 2055}


class StatementObserver(Protocol):
    """Receives every statement a session runs (the audit log implements this)."""

    def statement(
        self, node: str, sql: Sql, ok: bool, duration: float, error: str | None
    ) -> None: ...


class LoginRefused(NodeError):
    """The server answered but refused the credentials: a configuration problem (exit 2)."""

    exit_code = ExitCode.USAGE


class TlsRefused(LoginRefused):
    """TLS failed: the server's certificate was not accepted, or it would not encrypt (exit 2)."""


class NodeUnreachable(NodeError):
    """Nothing answered at the node's address in time."""


class IntegrityRefused(NodeError):
    """The server refused a write that would break a key or a foreign key."""


class Session:
    """A connection to one node, speaking that node's dialect; every statement goes through here."""

    def __init__(
        self,
        node: NodeConfig,
        connection: Any,
        version: ServerVersion,
        observer: StatementObserver | None = None,
    ) -> None:
        self.node = node
        self.version = version
        self.dialect: Dialect = for_version(version)
        self._connection = connection
        self._observer = observer
        self.tls: TlsState = TlsState.plain()
        # The driver pings the server each time a cursor is made: two kept cursors save a round
        # trip per statement (every fact read of every plan step).
        self._cursors: dict[bool, Any] = {}

    def _cursor(self, dictionary: bool) -> Any:
        cursor = self._cursors.get(dictionary)
        if cursor is None:
            cursor = self._connection.cursor(dictionary=dictionary)
            self._cursors[dictionary] = cursor
        return cursor

    def rows(self, sql: Sql) -> list[dict[str, Any]]:
        """Run a statement and return its rows as dicts keyed by column name."""
        return self._execute(sql, fetch=True)

    def one(self, sql: Sql) -> dict[str, Any] | None:
        found = self.rows(sql)
        return found[0] if found else None

    def run(self, sql: Sql) -> None:
        self._execute(sql, fetch=False)

    def table(self, sql: Sql) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        """Run a statement; its column names in order (duplicates kept) and its rows as tuples."""
        import mysql.connector

        started = time.monotonic()
        try:
            cursor = self._cursor(False)
            cursor.execute(sql.text)
            columns = tuple(str(d[0]) for d in cursor.description or ())
            rows = [tuple(row) for row in cursor.fetchall()] if cursor.with_rows else []
        except mysql.connector.Error as exc:
            message = _error_text(exc)
            self._notify(sql, False, time.monotonic() - started, message)
            raise NodeError(f"node {self.node.name}: `{sql}` failed: {message}") from None
        self._notify(sql, True, time.monotonic() - started, None)
        return columns, rows

    def affected(self, sql: Sql) -> int:
        """Run a changing statement unaudited and return how many rows it changed.

        For statements counted by the thousand inside one transaction (a flashback audits its
        plan and its outcome instead); IntegrityRefused when a key would be written twice.
        """
        import mysql.connector

        try:
            cursor = self._cursor(False)
            cursor.execute(sql.text)
            return int(cursor.rowcount)
        except mysql.connector.IntegrityError as exc:
            raise IntegrityRefused(f"node {self.node.name}: {_error_text(exc)}") from None
        except mysql.connector.Error as exc:
            raise NodeError(f"node {self.node.name}: {_error_text(exc)}") from None

    def _execute(self, sql: Sql, fetch: bool) -> list[dict[str, Any]]:
        import mysql.connector

        started = time.monotonic()
        try:
            cursor = self._cursor(True)
            cursor.execute(sql.text)
            result = list(cursor.fetchall()) if cursor.with_rows else []
        except mysql.connector.Error as exc:
            message = _error_text(exc)
            self._notify(sql, False, time.monotonic() - started, message)
            raise NodeError(f"node {self.node.name}: `{sql}` failed: {message}") from None
        self._notify(sql, True, time.monotonic() - started, None)
        return result if fetch else []

    def _notify(self, sql: Sql, ok: bool, duration: float, error: str | None) -> None:
        if self._observer is not None and (sql.changes or not ok):
            self._observer.statement(self.node.name, sql, ok, duration, error)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        # Closing a connection the server already dropped is not an error worth raising.
        for cursor in self._cursors.values():
            with contextlib.suppress(Exception):
                cursor.close()
        self._cursors.clear()
        try:
            self._connection.close()
        except Exception as exc:
            log.debug("closing the session to %s: %s", self.node.name, exc)


def connect(
    node: NodeConfig,
    *,
    observer: StatementObserver | None = None,
    timeout: float = DEFAULT_CONNECT_TIMEOUT,
    password: str | None = None,
) -> Session:
    """Open a session; LoginRefused / NodeUnreachable / NodeError say what went wrong and where."""
    import mysql.connector

    secret = node.password.resolve() if password is None else password
    note_password(secret)
    args: dict[str, Any] = {
        "user": node.user,
        "password": secret,
        "connection_timeout": max(1, int(timeout)),
        "autocommit": True,
        "use_pure": True,
        "charset": "utf8mb4",
        "collation": "utf8mb4_general_ci",
    }
    if node.socket:
        args["unix_socket"] = node.socket
    else:
        args["host"] = node.host
        args["port"] = node.port
        args.update(tls_arguments(node))
    try:
        connection = mysql.connector.connect(**args)
        cursor = connection.cursor()
        cursor.execute(Dialect.version_query.text)  # the flavour is not known until this answers
        text, comment = cursor.fetchone() or ("", "")
        cursor.execute(Dialect.tls_status_query.text)
        tls = TlsState.from_rows(cursor.fetchall(), node.tls)
        cursor.close()
    except mysql.connector.Error as exc:
        raise _connect_error(node, exc) from None
    except OSError as exc:
        raise NodeUnreachable(f"node {node.name} ({node.address}): {exc.strerror or exc}") from None
    if node.tls is not None and not node.socket and not tls.encrypted:
        connection.close()
        raise TlsRefused(
            f"node {node.name} ({node.address}): the session is not encrypted, "
            "but the config asks for TLS ([tls])",
            hint="enable TLS on the server (ssl_cert, ssl_key), or remove the node's [tls] settings",
        )
    try:
        version = ServerVersion.parse(_text(text), _text(comment))
        opened = Session(node, connection, version, observer)
        opened.tls = tls
        return opened
    except ValueError as exc:
        connection.close()
        raise NodeError(f"node {node.name} ({node.address}): {exc}") from None


@contextmanager
def session(
    node: NodeConfig,
    *,
    observer: StatementObserver | None = None,
    timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> Iterator[Session]:
    with connect(node, observer=observer, timeout=timeout) as opened:
        yield opened


def _connect_error(node: NodeConfig, exc: Any) -> NodeError:
    errno = getattr(exc, "errno", None)
    where = f"node {node.name} ({node.address})"
    refused = tls_refusal(node, exc)
    if refused is not None:
        return TlsRefused(f"{where}: {refused}", hint=tls_hint(node))
    if errno in _AUTH_ERRNOS:
        return LoginRefused(
            f"{where}: login refused for user {node.user!r}: {_error_text(exc)}",
            hint=f"check the password ({node.password.describe()}) and the account's grants",
        )
    if errno in _NETWORK_ERRNOS or errno is None:
        return NodeUnreachable(f"{where}: unreachable: {_error_text(exc)}")
    return NodeError(f"{where}: {_error_text(exc)}")


def _error_text(exc: Any) -> str:
    msg = getattr(exc, "msg", None) or str(exc)
    errno = getattr(exc, "errno", None)
    return f"{msg} (error {errno})" if errno and errno > 0 else str(msg)


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


__all__ = ["LoginRefused", "NodeUnreachable", "Session", "TlsRefused", "connect", "session"]
