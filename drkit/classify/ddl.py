"""Readers of the schema statements that lose data: DROP, TRUNCATE, ALTER TABLE, RENAME, CREATE OR REPLACE."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from drkit.classify.findings import (
    ALTER_DROP,
    DROP_DATABASE,
    DROP_TABLE,
    RENAME_TABLE,
    TRUNCATE,
    Finding,
)
from drkit.classify.lexer import Tok, ident_value
from drkit.classify.statement import Stmt, Table, make_finding, name_list, quoted_if_needed


def read_drop(stmt: Stmt) -> list[Finding]:
    stmt.pos += 1
    temporary = stmt.accept("TEMPORARY")
    if stmt.accept("DATABASE") or stmt.accept("SCHEMA"):
        return _read_drop_database(stmt)
    if stmt.accept("TABLE") or stmt.accept("TABLES"):
        return [] if temporary else _read_drop_tables(stmt)
    stmt.skip(frozenset({"ONLINE", "OFFLINE"}))
    if stmt.accept("INDEX"):
        return _read_drop_index(stmt)
    return []  # views, triggers, routines, users...: no rows are lost


def _read_drop_database(stmt: Stmt) -> list[Finding]:
    stmt.accept("IF", "EXISTS")
    database = stmt.ident()
    if database is None:
        return []
    reason = f"DROP DATABASE removes database {quoted_if_needed(database)} with every table in it"
    return [make_finding(DROP_DATABASE, reason, [Table(database, "*")])]


def _read_drop_tables(stmt: Stmt) -> list[Finding]:
    if_exists = " IF EXISTS" if stmt.accept("IF", "EXISTS") else ""
    tables = [stmt.resolve(table) for table in stmt.tables()]
    if not tables:
        return []
    whose = "its" if len(set(tables)) == 1 else "their"
    reason = f"DROP TABLE{if_exists} removes {name_list(tables)} with all {whose} rows"
    return [make_finding(DROP_TABLE, reason, tables)]


def _read_drop_index(stmt: Stmt) -> list[Finding]:
    stmt.accept("IF", "EXISTS")
    index = stmt.ident()
    stmt.pos += 1
    table = stmt.table() if stmt.accept("ON") else None
    if index is None or table is None:
        return []
    table = stmt.resolve(table)
    reason = f"DROP INDEX removes index {quoted_if_needed(index)} of {table.shown}"
    return [make_finding(ALTER_DROP, reason, [table])]


def read_truncate(stmt: Stmt) -> list[Finding]:
    stmt.pos += 1
    if stmt.word() == "TABLE" and stmt.ident(1) is not None:
        stmt.pos += 1
    table = stmt.table()
    if table is None:
        return []
    table = stmt.resolve(table)
    return [
        make_finding(TRUNCATE, f"TRUNCATE empties {table.shown}: every row is removed", [table])
    ]


def read_alter(stmt: Stmt) -> list[Finding]:
    stmt.pos += 1
    stmt.skip(frozenset({"ONLINE", "OFFLINE", "IGNORE"}))
    if not stmt.accept("TABLE"):
        return []
    stmt.accept("IF", "EXISTS")
    table = stmt.table()
    if table is None:
        return []
    table = stmt.resolve(table)
    changes: list[_Change] = []
    renamed_to: Table | None = None
    for spec in _alter_specs(stmt):
        keys = [tok.key if tok.kind == "word" else "" for tok in spec[:2]] + ["", ""]
        name = ident_value(spec[0]) if len(spec) == 1 else None
        if changes and changes[-1].takes_more and name is not None:
            changes[-1].names.append(name)  # DROP PARTITION p1, p2: the comma lists partitions
        elif keys[0] == "DROP":
            changes.append(_dropped(spec[1:]))
        elif keys[:2] == ["TRUNCATE", "PARTITION"]:
            changes.append(_Change("empties partition", _idents(spec[2:]), takes_more=True))
        elif keys[0] == "DISCARD" and any(tok.key == "TABLESPACE" for tok in spec):
            changes.append(_Change("discards its tablespace (the data file)"))
        elif keys[0] == "RENAME" and keys[1] not in ("COLUMN", "INDEX", "KEY"):
            rest = Stmt(spec[2:] if keys[1] in ("TO", "AS") else spec[1:], stmt.schema)
            new = rest.table()
            if new is not None:
                renamed_to = rest.resolve(new)
    findings: list[Finding] = []
    if changes:
        described = ", ".join(change.describe() for change in changes)
        findings.append(make_finding(ALTER_DROP, f"ALTER TABLE {table.shown} {described}", [table]))
    if renamed_to is not None:
        reason = f"ALTER TABLE ... RENAME renames {table.shown} to {renamed_to.shown}"
        findings.append(make_finding(RENAME_TABLE, reason, [table]))
    return findings


@dataclass
class _Change:
    """One destructive ALTER TABLE clause: what it does and to which names."""

    verb: str
    names: list[str] = field(default_factory=list)
    takes_more: bool = False  # a partition list that the next comma continues

    def describe(self) -> str:
        names = ", ".join(quoted_if_needed(name) for name in self.names)
        return f"{self.verb} {names}" if names else self.verb


def _alter_specs(stmt: Stmt) -> Iterator[list[Tok]]:
    """The comma-separated clauses of an ALTER TABLE, from the position."""
    spec: list[Tok] = []
    for index in range(stmt.pos, len(stmt.toks)):
        tok = stmt.toks[index]
        if stmt.depth[index] == 0 and tok.kind == "symbol" and tok.key == ",":
            if spec:
                yield spec
            spec = []
        else:
            spec.append(tok)
    if spec:
        yield spec


def _dropped(spec: list[Tok]) -> _Change:
    """What `DROP <spec>` removes inside an ALTER TABLE."""
    keys = [tok.key if tok.kind == "word" else "" for tok in spec[:2]] + ["", ""]
    if keys[0] == "PRIMARY":
        return _Change("drops the primary key")
    if keys[:2] == ["SYSTEM", "VERSIONING"]:
        return _Change("drops system versioning and with it the history rows")
    things = {
        "COLUMN": "column",
        "PARTITION": "partition",
        "INDEX": "index",
        "KEY": "index",
        "CONSTRAINT": "constraint",
        "CHECK": "check constraint",
        "PERIOD": "period",
    }
    if keys[0] == "FOREIGN" and keys[1] == "KEY":
        thing, rest = "foreign key", spec[2:]
    elif keys[0] in things:
        thing, rest = things[keys[0]], spec[1:]
    else:  # DROP name: COLUMN is optional
        thing, rest = "column", spec
    if rest[:2] and [tok.key for tok in rest[:2]] == ["IF", "EXISTS"]:
        rest = rest[2:]
    if thing == "period":
        rest = rest[1:] if rest[:1] and rest[0].key == "FOR" else rest
    return _Change(f"drops {thing}", _idents(rest), takes_more=thing == "partition")


def _idents(toks: Sequence[Tok]) -> list[str]:
    """The identifiers of a comma-separated name list (stops at anything else)."""
    names: list[str] = []
    for index, tok in enumerate(toks):
        if index % 2 == 1:
            if not (tok.kind == "symbol" and tok.key == ","):
                break
            continue
        name = ident_value(tok)
        if name is None:
            break
        names.append(name)
    return names


def read_rename(stmt: Stmt) -> list[Finding]:
    stmt.pos += 1
    if not (stmt.accept("TABLE") or stmt.accept("TABLES")):
        return []  # RENAME USER
    stmt.accept("IF", "EXISTS")
    moves: list[tuple[Table, Table]] = []
    while (old := stmt.table()) is not None and stmt.accept("TO"):
        new = stmt.table()
        if new is None:
            break
        moves.append((stmt.resolve(old), stmt.resolve(new)))
        if stmt.symbol() != ",":
            break
        stmt.pos += 1
    if not moves:
        return []
    described = ", ".join(f"{old.shown} to {new.shown}" for old, new in moves)
    return [
        make_finding(RENAME_TABLE, f"RENAME TABLE renames {described}", [old for old, _ in moves])
    ]


def read_create(stmt: Stmt) -> list[Finding]:
    stmt.pos += 1
    if not stmt.accept("OR", "REPLACE") or not stmt.accept("TABLE"):
        return []  # CREATE OR REPLACE TEMPORARY TABLE replaces only a session's own table
    stmt.accept("IF", "NOT", "EXISTS")
    table = stmt.table()
    if table is None:
        return []
    table = stmt.resolve(table)
    reason = (
        f"CREATE OR REPLACE TABLE drops {table.shown} with all its rows (if it exists) "
        "and recreates it"
    )
    return [make_finding(DROP_TABLE, reason, [table])]
