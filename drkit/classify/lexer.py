"""MySQL lexing on sqlparse: significant tokens, split into statements (routine bodies skipped)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from sqlparse import keywords as sqlparse_keywords
from sqlparse import tokens as T
from sqlparse.engine import StatementSplitter
from sqlparse.lexer import Lexer


class Tok(NamedTuple):
    """A significant token: kind is word, name (backticked), string, number or symbol."""

    kind: str
    text: str
    key: str  # upper-case for words and symbols, the unquoted identifier for names


def _mysql_lexer() -> Lexer:
    """sqlparse's lexer with MySQL strings (backslash escapes) and comments (`#x`, `-- x`)."""
    replacements = {
        T.Comment.Single: r"(?:--(?=\s|$)|#)[^\r\n]*(?:\r\n|\r|\n|$)",
        T.Comment.Single.Hint: r"(?:--(?=\s|$)|#)[^\r\n]*(?:\r\n|\r|\n|$)",
        T.String.Single: r"'(?:[^'\\]|\\[\s\S]|'')*'",
        T.String.Symbol: r'"(?:[^"\\]|\\[\s\S]|"")*"',
    }
    rules: list[tuple[str, Any]] = []
    for pattern, ttype in sqlparse_keywords.SQL_REGEX:
        rule = (replacements[ttype], ttype) if ttype in replacements else (pattern, ttype)
        if rule not in rules:
            rules.append(rule)
    lexer = Lexer()
    lexer.default_initialization()  # type: ignore[no-untyped-call]
    lexer.set_SQL_REGEX(rules)  # type: ignore[no-untyped-call]
    return lexer


_LEXER = _mysql_lexer()
_EXECUTABLE_COMMENT = re.compile(r"/\*M?!(?:\d{5,6})?(.*)\*/\Z", re.DOTALL)
_RawToken = tuple[Any, str]


def lex(sql: str) -> list[_RawToken]:
    """sqlparse tokens, with the content of executable comments spliced in as real tokens."""
    raw: list[_RawToken] = []
    for ttype, value in _LEXER.get_tokens(sql):  # type: ignore[no-untyped-call]
        if ttype in T.Comment.Multiline:
            executable = _EXECUTABLE_COMMENT.match(value)
            if executable:
                raw.extend(lex(executable.group(1)))
                continue
        raw.append((ttype, value))
    return raw


def _significant(ttype: Any, value: str) -> tuple[Tok, ...]:
    if ttype in T.Whitespace or ttype in T.Comment:
        return ()
    if ttype in T.Name and value.startswith("`"):
        return (Tok("name", value, value[1:-1].replace("``", "`")),)
    if ttype in T.Keyword or ttype in T.Name:
        # sqlparse lexes "IF EXISTS", "ORDER BY", "CREATE OR REPLACE" as one keyword.
        return tuple(Tok("word", word, word.upper()) for word in value.split())
    if ttype in T.Literal.String:
        return (Tok("string", value, value),)
    if ttype in T.Literal.Number:
        return (Tok("number", value, value),)
    return (Tok("symbol", value, value.upper()),)


_ROUTINE_KINDS = frozenset({"PROCEDURE", "FUNCTION", "TRIGGER", "EVENT", "PACKAGE"})
_CREATED_KINDS = _ROUTINE_KINDS | {
    "TABLE",
    "VIEW",
    "INDEX",
    "DATABASE",
    "SCHEMA",
    "USER",
    "ROLE",
    "SEQUENCE",
    "SERVER",
    "TABLESPACE",
    "TEMPORARY",
}


def split_statements(raw: list[_RawToken]) -> Iterator[list[Tok]]:
    """Significant tokens of each statement, split at top-level semicolons."""
    position, end = 0, len(raw)
    while position < end:
        start = position
        toks: list[Tok] = []
        depth = 0
        while position < end:
            ttype, value = raw[position]
            position += 1
            if depth == 0 and value == ";" and ttype in T.Punctuation:
                break
            for tok in _significant(ttype, value):
                if tok.kind == "symbol" and tok.key == "(":
                    depth += 1
                elif tok.kind == "symbol" and tok.key == ")":
                    depth = max(0, depth - 1)
                toks.append(tok)
        if _creates_routine(toks):
            # A body with its own semicolons: sqlparse's splitter knows where its END is, and a
            # body is not run when it is created, so the statement yields nothing to classify.
            splitter = StatementSplitter()  # type: ignore[no-untyped-call]
            whole = next(iter(splitter.process(iter(raw[start:]))), None)  # type: ignore[no-untyped-call]
            position = end if whole is None else start + len(whole.tokens)
        elif toks:
            yield toks


def _creates_routine(toks: list[Tok]) -> bool:
    if not toks or toks[0].key != "CREATE":
        return False
    kind = next((tok.key for tok in toks if tok.kind == "word" and tok.key in _CREATED_KINDS), "")
    return kind in _ROUTINE_KINDS


def ident_value(tok: Tok) -> str | None:
    if tok.kind == "word":
        return tok.text
    if tok.kind == "name":
        return tok.key
    if tok.kind == "string" and tok.text.startswith('"'):  # ANSI_QUOTES identifiers
        return tok.text[1:-1].replace('""', '"')
    return None
