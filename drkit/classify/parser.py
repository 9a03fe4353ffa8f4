"""The full reading: lex, split, unwrap each statement and hand it to the reader of its verb."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from drkit.classify.ddl import read_alter, read_create, read_drop, read_rename, read_truncate
from drkit.classify.dml import read_delete, read_update
from drkit.classify.findings import Finding
from drkit.classify.lexer import lex, split_statements
from drkit.classify.statement import Stmt


def classify_parsed(sql: str, default_schema: str | None) -> list[Finding]:
    findings: list[Finding] = []
    schema = default_schema
    for toks in split_statements(lex(sql)):
        stmt = Stmt(toks, schema)
        _enter_wrapped(stmt)
        head = stmt.word()
        if head == "USE":
            schema = stmt.ident(1) or schema
            continue
        reader = _READERS.get(head)
        if reader is not None:
            findings.extend(reader(stmt))
    return findings


_WRAPPED_VERBS = frozenset({"SELECT", "UPDATE", "DELETE", "INSERT", "REPLACE", "TABLE", "VALUES"})


def _enter_wrapped(stmt: Stmt) -> None:
    """Move to the statement that a wrapper (SET STATEMENT, BEGIN NOT ATOMIC, WITH) runs."""
    while True:
        if stmt.accept("BEGIN", "NOT", "ATOMIC"):
            continue
        if stmt.word() == "SET" and stmt.word(1) == "STATEMENT":
            found = stmt.find(frozenset({"FOR"}))
            if found is None:
                return
            stmt.pos = found + 1
            continue
        if stmt.word() == "WITH":
            found = stmt.find(_WRAPPED_VERBS, stmt.pos + 1)
            if found is None:
                return
            stmt.pos = found
        return


_READERS: Mapping[str, Callable[[Stmt], list[Finding]]] = {
    "DROP": read_drop,
    "TRUNCATE": read_truncate,
    "DELETE": read_delete,
    "UPDATE": read_update,
    "ALTER": read_alter,
    "RENAME": read_rename,
    "CREATE": read_create,
}
