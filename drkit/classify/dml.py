"""Readers of DELETE and UPDATE: the tables they change and whether a WHERE restricts them."""

from __future__ import annotations

import re
from collections.abc import Sequence

from drkit.classify.conditions import truth
from drkit.classify.findings import DELETE_WITHOUT_WHERE, UPDATE_WITHOUT_WHERE, Finding
from drkit.classify.lexer import Tok, ident_value
from drkit.classify.statement import Stmt, Table, make_finding, name_list

_REFERENCES_END = frozenset({"WHERE", "ORDER", "LIMIT", "RETURNING", "SET"})
_JOINS = frozenset({"JOIN", "STRAIGHT_JOIN"})
_NOT_ALIASES = _REFERENCES_END | _JOINS | {
    "LEFT", "RIGHT", "INNER", "OUTER", "CROSS", "NATURAL", "ON", "USING", "PARTITION", "USE",
    "IGNORE", "FORCE", "FOR", "LOCK", "GROUP", "HAVING", "WINDOW", "UNION",
}  # fmt: skip
_CLAUSE_AFTER_WHERE = frozenset({"ORDER", "LIMIT", "RETURNING"})


def read_delete(stmt: Stmt) -> list[Finding]:
    stmt.pos += 1
    stmt.skip(frozenset({"LOW_PRIORITY", "QUICK", "IGNORE"}))
    if stmt.accept("FROM"):
        targets = stmt.tables()
        if stmt.accept("USING"):  # DELETE FROM t1 USING t1 JOIN t2 ...
            tables = _resolve(stmt, targets, _table_references(stmt))
        else:  # single-table DELETE: an alias or a PARTITION list may follow
            tables = [stmt.resolve(target) for target in targets[:1]]
    else:  # DELETE t1 FROM t1 JOIN t2 ...
        targets = stmt.tables()
        if not stmt.accept("FROM"):
            return []
        tables = _resolve(stmt, targets, _table_references(stmt))
    return _unrestricted(stmt, DELETE_WITHOUT_WHERE, "DELETE", "removes", tables)


def read_update(stmt: Stmt) -> list[Finding]:
    stmt.pos += 1
    stmt.skip(frozenset({"LOW_PRIORITY", "IGNORE"}))
    references = _table_references(stmt)
    if not stmt.accept("SET"):
        return []
    end = stmt.find(frozenset({"WHERE"}) | _CLAUSE_AFTER_WHERE)
    qualifiers: list[Table] = []
    unqualified = False
    while stmt.pos < (len(stmt.toks) if end is None else end):
        parts = stmt.ident_chain()
        if len(parts) >= 2:
            qualifiers.append(Table(parts[-3] if len(parts) > 2 else None, parts[-2]))
        else:
            unqualified = True
        next_assignment = _next_top_level_comma(stmt, end)
        stmt.pos = next_assignment + 1
    real = [table for _, table in references if table is not None]
    if unqualified or not qualifiers:
        # Which table owns an unqualified column needs the schema: name every table joined.
        tables = [stmt.resolve(table) for table in real]
    else:
        tables = _resolve(stmt, qualifiers, references)
    if end is not None:
        stmt.pos = end
    return _unrestricted(stmt, UPDATE_WITHOUT_WHERE, "UPDATE", "changes", tables)


def _next_top_level_comma(stmt: Stmt, end: int | None) -> int:
    stop = len(stmt.toks) if end is None else end
    for index in range(stmt.pos, stop):
        tok = stmt.toks[index]
        if stmt.depth[index] == 0 and tok.kind == "symbol" and tok.key == ",":
            return index
    return stop


def _table_references(stmt: Stmt) -> list[tuple[str | None, Table | None]]:
    """(alias, table) for each table of a FROM/USING/UPDATE list; table None for derived ones.

    Reads up to the top-level WHERE, ORDER, LIMIT, RETURNING or SET.
    """
    references: list[tuple[str | None, Table | None]] = []
    join_levels = {0}  # nesting levels where a comma or JOIN starts a new table
    expect_table = True
    while stmt.pos < len(stmt.toks):
        tok, level = stmt.toks[stmt.pos], stmt.depth[stmt.pos]
        if level == 0 and tok.kind == "word" and tok.key in _REFERENCES_END:
            break
        if expect_table and tok.kind == "symbol" and tok.key == "(":
            if stmt.word(1) in ("SELECT", "WITH", "VALUES", "TABLE"):
                stmt.skip_group()
                references.append((_alias(stmt), None))
                expect_table = False
            else:  # a parenthesised join: read its tables as if it were not parenthesised
                join_levels.add(level + 1)
                stmt.pos += 1
            continue
        if expect_table and (table := stmt.table()) is not None:
            if stmt.accept("PARTITION") and stmt.symbol() == "(":
                stmt.skip_group()
            references.append((_alias(stmt), table))
            expect_table = False
            continue
        if level in join_levels and (
            (tok.kind == "symbol" and tok.key == ",") or (tok.kind == "word" and tok.key in _JOINS)
        ):
            expect_table = True
        elif tok.kind == "symbol" and tok.key == ")":
            join_levels.discard(level + 1)
        stmt.pos += 1
    return references


def _alias(stmt: Stmt) -> str | None:
    if stmt.accept("AS"):
        alias = stmt.ident()
        if alias is not None:
            stmt.pos += 1
        return alias
    if stmt.pos < len(stmt.toks):
        tok = stmt.toks[stmt.pos]
        if tok.kind == "name" or (tok.kind == "word" and tok.key not in _NOT_ALIASES):
            stmt.pos += 1
            return ident_value(tok)
    return None


def _resolve(
    stmt: Stmt, targets: Sequence[Table], references: Sequence[tuple[str | None, Table | None]]
) -> list[Table]:
    """The tables that target names (aliases or table names) stand for."""
    by_name: dict[str, Table | None] = {}
    for alias, table in references:
        if table is not None:
            by_name.setdefault(table.name, table)
        if alias is not None:
            by_name[alias] = table
    tables: list[Table] = []
    for target in targets:
        if target.schema is None and target.name in by_name:
            table = by_name[target.name]
            if table is not None:
                tables.append(stmt.resolve(table))
        else:
            tables.append(stmt.resolve(target))
    return tables


def _unrestricted(
    stmt: Stmt, category: str, verb: str, effect: str, tables: Sequence[Table]
) -> list[Finding]:
    """A finding when the DELETE/UPDATE has no WHERE, or one that is always true."""
    if not tables:
        return []
    where_at = stmt.find(frozenset({"WHERE"}))
    if where_at is None:
        how = "without WHERE"
    else:
        end = stmt.find(_CLAUSE_AFTER_WHERE, where_at + 1)
        condition = stmt.toks[where_at + 1 : end]
        if truth(condition) is not True:
            return []
        how = f"with an always-true WHERE ({_render(condition)})"
    limit_at = stmt.find(frozenset({"LIMIT"}))
    if limit_at is None:
        reason = f"{verb} {how} {effect} every row of {name_list(tables)}"
    else:
        limit = _render(stmt.toks[limit_at : limit_at + 4], stop_at_word=True)
        reason = (
            f"{verb} {how} {effect} rows of {name_list(tables)} with no condition "
            f"({limit} only caps how many)"
        )
    return [make_finding(category, reason, tables)]


_NO_SPACE_BEFORE = re.compile(r" ([),.])")
_NO_SPACE_AFTER = re.compile(r"([(.]) ")


def _render(toks: Sequence[Tok], stop_at_word: bool = False) -> str:
    """Tokens back to short readable SQL for a reason (LIMIT: up to the next keyword)."""
    shown: list[str] = []
    for index, tok in enumerate(toks):
        if stop_at_word and index > 0 and tok.kind == "word" and tok.key != "OFFSET":
            break
        shown.append(tok.text)
    text = _NO_SPACE_AFTER.sub(r"\1", _NO_SPACE_BEFORE.sub(r"\1", " ".join(shown)))
    return text if len(text) <= 60 else text[:57] + "..."
