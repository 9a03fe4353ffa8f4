"""One statement's tokens with a read position, the tables it names, and findings about them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from drkit.classify.findings import SEVERITIES, Finding
from drkit.classify.lexer import Tok, ident_value


class Table(NamedTuple):
    schema: str | None
    name: str

    @property
    def label(self) -> str:
        """Unquoted "schema.table" (or "table" when no schema is known), as findings name it."""
        return f"{self.schema}.{self.name}" if self.schema else self.name

    @property
    def shown(self) -> str:
        """The name for a sentence: parts with dots, spaces or quotes keep their backticks."""
        parts = (self.name,) if self.schema is None else (self.schema, self.name)
        return ".".join(quoted_if_needed(part) for part in parts)


_PLAIN_IDENTIFIER = re.compile(r"[\w$]+|\*")


def quoted_if_needed(part: str) -> str:
    if _PLAIN_IDENTIFIER.fullmatch(part):
        return part
    return "`" + part.replace("`", "``") + "`"


class Stmt:
    """One statement's significant tokens, a read position and the default schema."""

    def __init__(self, toks: list[Tok], schema: str | None) -> None:
        self.toks = toks
        self.pos = 0
        self.schema = schema
        self.depth: list[int] = []
        level = 0
        for tok in toks:
            if tok.kind == "symbol" and tok.key == ")":
                level = max(0, level - 1)
            self.depth.append(level)
            if tok.kind == "symbol" and tok.key == "(":
                level += 1

    def word(self, ahead: int = 0) -> str:
        index = self.pos + ahead
        if index < len(self.toks) and self.toks[index].kind == "word":
            return self.toks[index].key
        return ""

    def symbol(self, ahead: int = 0) -> str:
        index = self.pos + ahead
        if index < len(self.toks) and self.toks[index].kind == "symbol":
            return self.toks[index].key
        return ""

    def accept(self, *words: str) -> bool:
        if all(self.word(ahead) == word for ahead, word in enumerate(words)):
            self.pos += len(words)
            return True
        return False

    def skip(self, words: frozenset[str]) -> None:
        while self.word() in words:
            self.pos += 1

    def ident(self, ahead: int = 0) -> str | None:
        index = self.pos + ahead
        return ident_value(self.toks[index]) if index < len(self.toks) else None

    def ident_chain(self) -> list[str]:
        """A dotted identifier (`db`.`t`, t.col, t.*) read at the position."""
        first = self.ident()
        if first is None:
            return []
        parts = [first]
        self.pos += 1
        while self.symbol() == ".":
            if self.symbol(1) == "*":
                self.pos += 2
                break
            part = self.ident(1)
            if part is None:
                break
            parts.append(part)
            self.pos += 2
        return parts

    def table(self) -> Table | None:
        parts = self.ident_chain()
        if not parts:
            return None
        return Table(None, parts[0]) if len(parts) == 1 else Table(parts[-2], parts[-1])

    def tables(self) -> list[Table]:
        found: list[Table] = []
        while (table := self.table()) is not None:
            found.append(table)
            if self.symbol() != ",":
                break
            self.pos += 1
        return found

    def resolve(self, table: Table) -> Table:
        """The table with the default schema filled in when the statement names none."""
        return table if table.schema else Table(self.schema, table.name)

    def find(self, words: frozenset[str], start: int | None = None) -> int | None:
        """Index of the first top-level word in `words` from `start` (default: the position)."""
        begin = self.pos if start is None else start
        for index in range(begin, len(self.toks)):
            tok = self.toks[index]
            if self.depth[index] == 0 and tok.kind == "word" and tok.key in words:
                return index
        return None

    def skip_group(self) -> None:
        """Move past the parenthesised group opening at the position."""
        level = self.depth[self.pos]
        self.pos += 1
        while self.pos < len(self.toks):
            closing = self.symbol() == ")" and self.depth[self.pos] == level
            self.pos += 1
            if closing:
                return


def make_finding(category: str, reason: str, tables: Sequence[Table]) -> Finding:
    labels = tuple(dict.fromkeys(table.label for table in tables))
    return Finding(category, SEVERITIES[category], reason, labels)


def name_list(tables: Sequence[Table]) -> str:
    unique = list(dict.fromkeys(table.shown for table in tables))
    return unique[0] if len(unique) == 1 else ", ".join(unique[:-1]) + " and " + unique[-1]
