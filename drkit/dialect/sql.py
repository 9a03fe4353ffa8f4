"""The value a dialect returns: statement text, plus a printable form with secrets removed."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Sql:
    """One statement. `str()` gives the redacted form, so printing or logging never leaks secrets."""

    text: str
    redacted: str | None = None
    changes: bool = True  # False for statements that only read

    def __str__(self) -> str:
        return self.redacted if self.redacted is not None else self.text


def read(text: str) -> Sql:
    return Sql(text, changes=False)


def quote_ident(name: str) -> str:
    """A backtick-quoted identifier; backticks inside are doubled."""
    if not name or "\x00" in name:
        raise ValueError(f"not a usable identifier: {name!r}")
    return "`" + name.replace("`", "``") + "`"


def quote_table(qualified: str) -> str:
    """`schema.table` quoted as `schema`.`table` (one dot separates; names with dots need quoting)."""
    schema, _, table = qualified.partition(".")
    if not table:
        return quote_ident(schema)
    return f"{quote_ident(schema)}.{quote_ident(table)}"


def quote_string(value: str) -> str:
    """A single-quoted string literal safe under the default sql_mode (backslash escapes on)."""
    escaped = value.replace("\\", "\\\\").replace("'", "''").replace("\x00", "\\0")
    return f"'{escaped}'"


_LOG_FILE = re.compile(r"^[A-Za-z0-9_.\-/]+$")


def log_file_literal(name: str) -> str:
    """A binlog or relay-log file name as a literal; refuses anything that is not a plain file name."""
    if not _LOG_FILE.match(name):
        raise ValueError(f"not a binlog file name: {name!r}")
    return quote_string(name)
