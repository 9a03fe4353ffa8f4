"""The tables a schema change names (pure): so `drkit events --table shop.t` finds the CREATE,
ALTER and RENAME of shop.t, which carry no row events to name it.

Only the statement's head is read (`CREATE TABLE name`, `ALTER TABLE name ... RENAME TO new`,
`RENAME TABLE a TO b, c TO d`, `DROP TABLE a, b`, `TRUNCATE a`, `CREATE INDEX i ON name`);
names without a schema take the transaction's default schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_NAME = r"(?:`(?:[^`]|``)+`|[\w$]+)"
_QUALIFIED = rf"{_NAME}(?:\s*\.\s*{_NAME})?"
_COMMENTS = re.compile(r"/\*.*?\*/|--[^\n]*|#[^\n]*", re.S)
_HEADS = (
    re.compile(
        rf"^CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMPORARY\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"
        rf"(?P<one>{_QUALIFIED})",
        re.I,
    ),
    re.compile(
        rf"^ALTER\s+(?:ONLINE\s+)?(?:IGNORE\s+)?TABLE\s+(?:IF\s+EXISTS\s+)?(?P<one>{_QUALIFIED})",
        re.I,
    ),
    re.compile(rf"^TRUNCATE\s+(?:TABLE\s+)?(?P<one>{_QUALIFIED})", re.I),
    re.compile(
        rf"^(?:CREATE|DROP)\s+(?:OR\s+REPLACE\s+)?(?:UNIQUE\s+|FULLTEXT\s+|SPATIAL\s+)?INDEX\s+"
        rf"(?:IF\s+(?:NOT\s+)?EXISTS\s+)?{_NAME}\s+ON\s+(?P<one>{_QUALIFIED})",
        re.I,
    ),
)
_DROP = re.compile(
    rf"^DROP\s+(?:TEMPORARY\s+)?TABLES?\s+(?:IF\s+EXISTS\s+)?(?P<list>{_QUALIFIED}"
    rf"(?:\s*,\s*{_QUALIFIED})*)",
    re.I,
)
_RENAME = re.compile(
    rf"^RENAME\s+TABLES?\s+(?P<list>{_QUALIFIED}\s+TO\s+{_QUALIFIED}"
    rf"(?:\s*,\s*{_QUALIFIED}\s+TO\s+{_QUALIFIED})*)",
    re.I,
)
_ALTER_RENAME = re.compile(
    rf"\bRENAME\s+(?!COLUMN\b|INDEX\b|KEY\b)(?:TO\s+|AS\s+)?(?P<one>{_QUALIFIED})", re.I
)
_PAIR = re.compile(rf"(?P<old>{_QUALIFIED})\s+TO\s+(?P<new>{_QUALIFIED})", re.I)
_ITEM = re.compile(_QUALIFIED)


def ddl_tables(statements: Iterable[str], default_schema: str | None) -> tuple[str, ...]:
    """`schema.table` names the schema changes among `statements` touch, in order, once each."""
    found: dict[str, None] = {}
    for sql in statements:
        for name in _statement_tables(_COMMENTS.sub(" ", sql).strip()):
            qualified = _qualify(name, default_schema)
            if qualified is not None:
                found.setdefault(qualified)
    return tuple(found)


def _statement_tables(sql: str) -> list[str]:
    rename = _RENAME.match(sql)
    if rename:
        return [
            name
            for pair in _PAIR.finditer(rename.group("list"))
            for name in (pair.group("old"), pair.group("new"))
        ]
    drop = _DROP.match(sql)
    if drop:
        return [m.group(0) for m in _ITEM.finditer(drop.group("list"))]
    for head in _HEADS:
        match = head.match(sql)
        if match:
            names = [match.group("one")]
            if sql[:5].upper() == "ALTER":
                renamed = _ALTER_RENAME.search(sql, match.end())
                if renamed:
                    names.append(renamed.group("one"))
            return names
    return []


def _qualify(name: str, default_schema: str | None) -> str | None:
    parts = [_unquote(part) for part in re.findall(_NAME, name)]
    if len(parts) == 2:
        return f"{parts[0]}.{parts[1]}"
    if len(parts) == 1 and default_schema:
        return f"{default_schema}.{parts[0]}"
    return None


def _unquote(part: str) -> str:
    if part.startswith("`") and part.endswith("`"):
        return part[1:-1].replace("``", "`")
    return part
