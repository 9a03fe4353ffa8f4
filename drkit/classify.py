"""Destructive-statement classifier: statement texts and row counts of a transaction to findings.

The binlog indexer runs it on every transaction of the primary and the guard runs it before
freezing the delayed replica, so a doubtful text gets the full sqlparse reading and only texts
that are plainly harmless (no risky keyword, or a single INSERT/SELECT, or an UPDATE/DELETE whose
WHERE starts with `column <op> literal` and has no OR) take the regex fast path.

Decisions, each pinned by a test:
- An always-true WHERE counts as no WHERE: constants that hold (`1`, `TRUE`, `1=1`, `'a'='a'`,
  `NOT 0`), a column compared with itself as spelled (`id=id`, `t.id<=>t.id`, but not the join
  condition `t1.id=t2.id`), and AND/OR combinations of those (`1=1 OR id=5`; not `1=1 AND id=5`).
  Conditions on NULL-ness or ranges (`x IS NOT NULL`, `id > 0`) depend on the data: row counts
  catch those as mass_delete / mass_update.
- MySQL executable comments (`/*!50000 ... */`, MariaDB `/*M!100100 ... */`) are run by the server,
  so their content is classified as if written out, whatever the version number says.
- `CREATE OR REPLACE TABLE` drops the existing table first: a drop_table finding.
- `USE db` (also the "use `db`; " prefix SHOW BINLOG EVENTS prints) sets the default schema for the
  statements after it in the same text.
- MariaDB `SET STATEMENT ... FOR stmt`, `BEGIN NOT ATOMIC ...` and MySQL `WITH ... DELETE/UPDATE`
  are classified by the statement they wrap. A routine, trigger or event body is not run when it
  is created: no finding.
- Strings follow the default sql_mode (backslash escapes); under NO_BACKSLASH_ESCAPES a string
  ending in a backslash is misread. Table names and ignore patterns compare case-sensitively.
- A drop_database finding names its tables "db.*"; an ignore pattern hides it only when the
  pattern covers every table of that database ("db.*", "d*.*", "*.*", "*").
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from fnmatch import fnmatchcase
from typing import Any, NamedTuple

from sqlparse import keywords as sqlparse_keywords
from sqlparse import tokens as T
from sqlparse.engine import StatementSplitter
from sqlparse.lexer import Lexer

from drkit.binlog.transaction import INCIDENT_STATEMENT


class Severity(IntEnum):
    """How bad a finding is; ordered, so max() picks the worst."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        """The severity named by `text` ("low" ... "critical", any case)."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            allowed = ", ".join(member.label for member in cls)
            raise ValueError(f"unknown severity {text!r} (allowed: {allowed})") from None

    @property
    def label(self) -> str:
        """The lower-case name used in JSON and configuration."""
        return self.name.lower()


DROP_DATABASE = "drop_database"
DROP_TABLE = "drop_table"
TRUNCATE = "truncate"
DELETE_WITHOUT_WHERE = "delete_without_where"
UPDATE_WITHOUT_WHERE = "update_without_where"
ALTER_DROP = "alter_drop"
RENAME_TABLE = "rename_table"
MASS_DELETE = "mass_delete"
MASS_UPDATE = "mass_update"
BINLOG_INCIDENT = "binlog_incident"

SEVERITIES: Mapping[str, Severity] = {
    DROP_DATABASE: Severity.CRITICAL,
    DROP_TABLE: Severity.CRITICAL,
    TRUNCATE: Severity.CRITICAL,
    DELETE_WITHOUT_WHERE: Severity.CRITICAL,
    UPDATE_WITHOUT_WHERE: Severity.HIGH,
    ALTER_DROP: Severity.HIGH,
    RENAME_TABLE: Severity.MEDIUM,
    MASS_DELETE: Severity.HIGH,
    MASS_UPDATE: Severity.MEDIUM,
    BINLOG_INCIDENT: Severity.CRITICAL,
}


@dataclass(frozen=True)
class Finding:
    """One destructive thing a transaction does; `category` is the JSON key "class"."""

    category: str
    severity: Severity
    reason: str
    tables: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "class": self.category,
            "severity": self.severity.label,
            "reason": self.reason,
            "tables": list(self.tables),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Finding:
        """The finding `to_json` wrote (as stored in the index)."""
        return cls(
            str(data["class"]),
            Severity.parse(str(data["severity"])),
            str(data["reason"]),
            tuple(str(table) for table in data.get("tables", ())),
        )


@dataclass(frozen=True)
class RowCounts:
    """Rows one transaction changed in one table, from its row events."""

    inserts: int = 0
    updates: int = 0
    deletes: int = 0


@dataclass(frozen=True)
class ClassifyRules:
    """Thresholds and exceptions: `mass_rows` or more rows per table and transaction is mass."""

    mass_rows: int = 1000
    ignore_tables: tuple[str, ...] = ()  # fnmatch patterns on "schema.table"

    def __post_init__(self) -> None:
        if self.mass_rows < 1:
            raise ValueError(f"mass_rows must be at least 1, not {self.mass_rows}")


DEFAULT_RULES = ClassifyRules()


def classify_statement(
    sql: str, default_schema: str | None = None, *, fast_path: bool = True
) -> list[Finding]:
    """Every destructive finding in one statement text, which may hold several statements.

    `fast_path=False` forces the full sqlparse reading (the tests and the benchmark compare both).
    """
    if fast_path and _plainly_harmless(sql):
        return []
    return _classify_parsed(sql, default_schema)


def classify_transaction(
    statements: Sequence[str],
    row_counts: Mapping[str, RowCounts],
    rules: ClassifyRules = DEFAULT_RULES,
    default_schema: str | None = None,
    *,
    tables: Sequence[str] = (),
) -> Finding | None:
    """The worst finding of a transaction (highest severity, first on ties), or None."""
    findings = transaction_findings(statements, row_counts, rules, default_schema, tables=tables)
    return max(findings, key=lambda finding: finding.severity, default=None)


def transaction_findings(
    statements: Sequence[str],
    row_counts: Mapping[str, RowCounts],
    rules: ClassifyRules = DEFAULT_RULES,
    default_schema: str | None = None,
    *,
    tables: Sequence[str] = (),
) -> list[Finding]:
    """Every finding of a transaction after the ignore rules: statement findings, then mass ones.

    Statement text may be missing (row events without Annotate_rows): row counts alone still give
    mass findings. A mass finding is dropped only when a statement finding at least as severe
    names the same table, so a mass finding on another table is never lost. `tables` (and the
    keys of `row_counts`) are the "schema.table" names of the transaction's row events: a
    statement naming a table without its schema (Annotate_rows text carries none) is read with
    the schema of the one row-event table of that name. A binlog incident (the statement the
    binlog reader writes for an Incident event) is a finding no ignore rule hides.
    """
    known = (*tables, *row_counts)
    stated = [
        finding
        for sql in statements
        for finding in _statement_findings(sql, default_schema, known)
        if not _all_ignored(finding.tables, rules.ignore_tables)
    ]
    massive: list[Finding] = []
    for table, counts in row_counts.items():
        if _table_ignored(table, rules.ignore_tables):
            continue
        for category, rows, verb in (
            (MASS_DELETE, counts.deletes, "deleted from"),
            (MASS_UPDATE, counts.updates, "updated in"),
        ):
            severity = SEVERITIES[category]
            if rows < rules.mass_rows or any(
                finding.severity >= severity and _names_table(finding, table) for finding in stated
            ):
                continue
            reason = (
                f"{rows} rows {verb} {table} in one transaction (mass_rows is {rules.mass_rows})"
            )
            massive.append(Finding(category, severity, reason, (table,)))
    return stated + massive


def _statement_findings(
    sql: str, default_schema: str | None, row_tables: Sequence[str]
) -> list[Finding]:
    if sql.startswith(INCIDENT_STATEMENT):
        what = sql[len(INCIDENT_STATEMENT) :]
        reason = (
            f"the primary's binlog marks a gap here (incident {what}): changes made there are "
            "in no binlog, and replicas stop at this point"
        )
        return [Finding(BINLOG_INCIDENT, SEVERITIES[BINLOG_INCIDENT], reason)]
    findings = classify_statement(sql, default_schema)
    if default_schema is not None or not row_tables:
        return findings
    schema = _schema_of_loose_names(findings, row_tables)
    return findings if schema is None else classify_statement(sql, schema)


def _schema_of_loose_names(findings: Sequence[Finding], row_tables: Sequence[str]) -> str | None:
    """The schema of the row-event tables that the findings name without one, when that is
    one schema and each name matches exactly one row-event table; else None."""
    loose = {name for finding in findings for name in finding.tables if "." not in name}
    if not loose:
        return None
    schemas: set[str] = set()
    for name in loose:
        matches = {table.partition(".")[0] for table in row_tables if table.endswith("." + name)}
        if len(matches) != 1:
            return None
        schemas |= matches
    return schemas.pop() if len(schemas) == 1 else None


# --- ignore rules -------------------------------------------------------------------------------


def tables_ignored(tables: Sequence[str], patterns: Sequence[str]) -> bool:
    """Whether ignore patterns cover every table a finding names (the guard's rules use this too)."""
    return _all_ignored(tables, patterns)


def _all_ignored(tables: Sequence[str], patterns: Sequence[str]) -> bool:
    return bool(tables) and all(_table_ignored(table, patterns) for table in tables)


def _table_ignored(table: str, patterns: Sequence[str]) -> bool:
    if table.endswith(".*"):
        # A whole database: hidden only by a pattern that covers every table in it.
        database = table[:-2]
        return any(
            pattern == "*" or (pattern.endswith(".*") and fnmatchcase(database, pattern[:-2]))
            for pattern in patterns
        )
    return any(fnmatchcase(table, pattern) for pattern in patterns)


def _names_table(finding: Finding, table: str) -> bool:
    """Whether a statement finding is about `table` ("schema.table" from the row events)."""
    for named in finding.tables:
        if named.endswith(".*") and table.startswith(named[:-1]):
            return True
        if named == table or table.endswith("." + named):
            return True
    return False


# --- fast path ----------------------------------------------------------------------------------

# Every destructive statement contains one of these words (CREATE OR REPLACE brings REPLACE); the
# leading side has no boundary so that `/*!50000DROP` still matches. Searched in the lower-cased
# text: a case-sensitive scan is ten times faster than re.IGNORECASE on a 200 kB INSERT.
_RISKY_WORD = re.compile(r"(?:drop|truncate|delete|update|rename|alter|replace)\b")
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", re.DOTALL)
_SIMPLE_BACKTICKED = re.compile(r"`([A-Za-z0-9_$]+)`")
_INNERMOST_GROUP = re.compile(r"\([^()]*\)")
_HEAD_WORD = re.compile(r"\s*([A-Za-z]+)\b")
# A WHERE whose first condition compares a column with a literal cannot be always true when no OR
# follows: an AND chain is only always true if every part is. Inside stored routines MariaDB logs
# a variable as NAME_CONST('name', value), a constant too (its group is blanked to "?" by then).
_RESTRICTING_WHERE = re.compile(
    r"\bWHERE\s+(?!(?:NOT|TRUE|FALSE|NULL|UNKNOWN|EXISTS|BINARY|ROW|INTERVAL|CASE)\b)"
    r"[A-Za-z_][\w$]*(?:\s*\.\s*[A-Za-z_][\w$]*){0,2}\s*"
    r"(?:<=>|<=|>=|<>|!=|=|<|>|(?:NOT\s+)?(?:IN|LIKE|BETWEEN)\b)\s*"
    r"(?:NAME_CONST\s*)?(?:\?|[-+]?\.?\d)",
    re.IGNORECASE | re.ASCII,
)
_USE_PREFIX = re.compile(r"\s*use\s+[\w$]+\s*;", re.IGNORECASE)
_ANY_OR = re.compile(r"\b(?:OR|XOR)\b|\|\|", re.IGNORECASE)
_NEVER_DESTRUCTIVE_HEADS = frozenset({"INSERT", "REPLACE", "SELECT"})


def _plainly_harmless(sql: str) -> bool:
    """True only when a cheap look proves there is nothing to find; False means "parse it"."""
    # The bulk of a binlog: one INSERT, no second statement, no comment that could hide one.
    # Checked before lower-casing a text that can be megabytes long.
    if sql[:7].lower() == "insert " and ";" not in sql and "/*" not in sql:
        return True
    if _RISKY_WORD.search(sql.lower()) is None:
        return True
    text = _SIMPLE_BACKTICKED.sub(r"\1", _QUOTED.sub(" ? ", sql))
    body = text.rstrip().removesuffix(";")
    use = _USE_PREFIX.match(body)  # "use `shop`; ..." as SHOW BINLOG EVENTS prints it
    if use is not None:
        body = body[use.end() :]
    # Several statements, comments (executable ones included), odd quoting: let the parser decide.
    if any(mark in body for mark in (";", "/*", "--", "#", "`", "'", '"')):
        return False
    head = _HEAD_WORD.match(body)
    if head is None:
        return False
    verb = head.group(1).upper()
    if verb in _NEVER_DESTRUCTIVE_HEADS:
        return True
    return verb in ("UPDATE", "DELETE") and _where_restricts(body)


def _where_restricts(body: str) -> bool:
    """Whether a single UPDATE/DELETE (strings blanked) has a top-level WHERE that restricts."""
    flat = body
    for _ in range(8):
        flat, replaced = _INNERMOST_GROUP.subn(" ? ", flat)
        if not replaced:
            break
    if "(" in flat or ")" in flat:
        return False
    where = _RESTRICTING_WHERE.search(flat)
    return where is not None and _ANY_OR.search(flat, where.start()) is None


# --- lexing and splitting -----------------------------------------------------------------------


class _Tok(NamedTuple):
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


def _lex(sql: str) -> list[_RawToken]:
    """sqlparse tokens, with the content of executable comments spliced in as real tokens."""
    raw: list[_RawToken] = []
    for ttype, value in _LEXER.get_tokens(sql):  # type: ignore[no-untyped-call]
        if ttype in T.Comment.Multiline:
            executable = _EXECUTABLE_COMMENT.match(value)
            if executable:
                raw.extend(_lex(executable.group(1)))
                continue
        raw.append((ttype, value))
    return raw


def _significant(ttype: Any, value: str) -> tuple[_Tok, ...]:
    if ttype in T.Whitespace or ttype in T.Comment:
        return ()
    if ttype in T.Name and value.startswith("`"):
        return (_Tok("name", value, value[1:-1].replace("``", "`")),)
    if ttype in T.Keyword or ttype in T.Name:
        # sqlparse lexes "IF EXISTS", "ORDER BY", "CREATE OR REPLACE" as one keyword.
        return tuple(_Tok("word", word, word.upper()) for word in value.split())
    if ttype in T.Literal.String:
        return (_Tok("string", value, value),)
    if ttype in T.Literal.Number:
        return (_Tok("number", value, value),)
    return (_Tok("symbol", value, value.upper()),)


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


def _statements(raw: list[_RawToken]) -> Iterator[list[_Tok]]:
    """Significant tokens of each statement, split at top-level semicolons."""
    position, end = 0, len(raw)
    while position < end:
        start = position
        toks: list[_Tok] = []
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


def _creates_routine(toks: list[_Tok]) -> bool:
    if not toks or toks[0].key != "CREATE":
        return False
    kind = next((tok.key for tok in toks if tok.kind == "word" and tok.key in _CREATED_KINDS), "")
    return kind in _ROUTINE_KINDS


# --- reading one statement ----------------------------------------------------------------------


class _Table(NamedTuple):
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
        return ".".join(_quoted_if_needed(part) for part in parts)


_PLAIN_IDENTIFIER = re.compile(r"[\w$]+|\*")


def _quoted_if_needed(part: str) -> str:
    if _PLAIN_IDENTIFIER.fullmatch(part):
        return part
    return "`" + part.replace("`", "``") + "`"


class _Stmt:
    """One statement's significant tokens, a read position and the default schema."""

    def __init__(self, toks: list[_Tok], schema: str | None) -> None:
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
        return _ident_value(self.toks[index]) if index < len(self.toks) else None

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

    def table(self) -> _Table | None:
        parts = self.ident_chain()
        if not parts:
            return None
        return _Table(None, parts[0]) if len(parts) == 1 else _Table(parts[-2], parts[-1])

    def tables(self) -> list[_Table]:
        found: list[_Table] = []
        while (table := self.table()) is not None:
            found.append(table)
            if self.symbol() != ",":
                break
            self.pos += 1
        return found

    def resolve(self, table: _Table) -> _Table:
        """The table with the default schema filled in when the statement names none."""
        return table if table.schema else _Table(self.schema, table.name)

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


def _ident_value(tok: _Tok) -> str | None:
    if tok.kind == "word":
        return tok.text
    if tok.kind == "name":
        return tok.key
    if tok.kind == "string" and tok.text.startswith('"'):  # ANSI_QUOTES identifiers
        return tok.text[1:-1].replace('""', '"')
    return None


def _classify_parsed(sql: str, default_schema: str | None) -> list[Finding]:
    findings: list[Finding] = []
    schema = default_schema
    for toks in _statements(_lex(sql)):
        stmt = _Stmt(toks, schema)
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


def _enter_wrapped(stmt: _Stmt) -> None:
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


def _finding(category: str, reason: str, tables: Sequence[_Table]) -> Finding:
    labels = tuple(dict.fromkeys(table.label for table in tables))
    return Finding(category, SEVERITIES[category], reason, labels)


def _names(tables: Sequence[_Table]) -> str:
    unique = list(dict.fromkeys(table.shown for table in tables))
    return unique[0] if len(unique) == 1 else ", ".join(unique[:-1]) + " and " + unique[-1]


def _read_drop(stmt: _Stmt) -> list[Finding]:
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


def _read_drop_database(stmt: _Stmt) -> list[Finding]:
    stmt.accept("IF", "EXISTS")
    database = stmt.ident()
    if database is None:
        return []
    reason = f"DROP DATABASE removes database {_quoted_if_needed(database)} with every table in it"
    return [_finding(DROP_DATABASE, reason, [_Table(database, "*")])]


def _read_drop_tables(stmt: _Stmt) -> list[Finding]:
    if_exists = " IF EXISTS" if stmt.accept("IF", "EXISTS") else ""
    tables = [stmt.resolve(table) for table in stmt.tables()]
    if not tables:
        return []
    whose = "its" if len(set(tables)) == 1 else "their"
    reason = f"DROP TABLE{if_exists} removes {_names(tables)} with all {whose} rows"
    return [_finding(DROP_TABLE, reason, tables)]


def _read_drop_index(stmt: _Stmt) -> list[Finding]:
    stmt.accept("IF", "EXISTS")
    index = stmt.ident()
    stmt.pos += 1
    table = stmt.table() if stmt.accept("ON") else None
    if index is None or table is None:
        return []
    table = stmt.resolve(table)
    reason = f"DROP INDEX removes index {_quoted_if_needed(index)} of {table.shown}"
    return [_finding(ALTER_DROP, reason, [table])]


def _read_truncate(stmt: _Stmt) -> list[Finding]:
    stmt.pos += 1
    if stmt.word() == "TABLE" and stmt.ident(1) is not None:
        stmt.pos += 1
    table = stmt.table()
    if table is None:
        return []
    table = stmt.resolve(table)
    return [_finding(TRUNCATE, f"TRUNCATE empties {table.shown}: every row is removed", [table])]


_REFERENCES_END = frozenset({"WHERE", "ORDER", "LIMIT", "RETURNING", "SET"})
_JOINS = frozenset({"JOIN", "STRAIGHT_JOIN"})
_NOT_ALIASES = _REFERENCES_END | _JOINS | {
    "LEFT", "RIGHT", "INNER", "OUTER", "CROSS", "NATURAL", "ON", "USING", "PARTITION", "USE",
    "IGNORE", "FORCE", "FOR", "LOCK", "GROUP", "HAVING", "WINDOW", "UNION",
}  # fmt: skip
_CLAUSE_AFTER_WHERE = frozenset({"ORDER", "LIMIT", "RETURNING"})


def _read_delete(stmt: _Stmt) -> list[Finding]:
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


def _read_update(stmt: _Stmt) -> list[Finding]:
    stmt.pos += 1
    stmt.skip(frozenset({"LOW_PRIORITY", "IGNORE"}))
    references = _table_references(stmt)
    if not stmt.accept("SET"):
        return []
    end = stmt.find(frozenset({"WHERE"}) | _CLAUSE_AFTER_WHERE)
    qualifiers: list[_Table] = []
    unqualified = False
    while stmt.pos < (len(stmt.toks) if end is None else end):
        parts = stmt.ident_chain()
        if len(parts) >= 2:
            qualifiers.append(_Table(parts[-3] if len(parts) > 2 else None, parts[-2]))
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


def _next_top_level_comma(stmt: _Stmt, end: int | None) -> int:
    stop = len(stmt.toks) if end is None else end
    for index in range(stmt.pos, stop):
        tok = stmt.toks[index]
        if stmt.depth[index] == 0 and tok.kind == "symbol" and tok.key == ",":
            return index
    return stop


def _table_references(stmt: _Stmt) -> list[tuple[str | None, _Table | None]]:
    """(alias, table) for each table of a FROM/USING/UPDATE list; table None for derived ones.

    Reads up to the top-level WHERE, ORDER, LIMIT, RETURNING or SET.
    """
    references: list[tuple[str | None, _Table | None]] = []
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


def _alias(stmt: _Stmt) -> str | None:
    if stmt.accept("AS"):
        alias = stmt.ident()
        if alias is not None:
            stmt.pos += 1
        return alias
    if stmt.pos < len(stmt.toks):
        tok = stmt.toks[stmt.pos]
        if tok.kind == "name" or (tok.kind == "word" and tok.key not in _NOT_ALIASES):
            stmt.pos += 1
            return _ident_value(tok)
    return None


def _resolve(
    stmt: _Stmt, targets: Sequence[_Table], references: Sequence[tuple[str | None, _Table | None]]
) -> list[_Table]:
    """The tables that target names (aliases or table names) stand for."""
    by_name: dict[str, _Table | None] = {}
    for alias, table in references:
        if table is not None:
            by_name.setdefault(table.name, table)
        if alias is not None:
            by_name[alias] = table
    tables: list[_Table] = []
    for target in targets:
        if target.schema is None and target.name in by_name:
            table = by_name[target.name]
            if table is not None:
                tables.append(stmt.resolve(table))
        else:
            tables.append(stmt.resolve(target))
    return tables


def _unrestricted(
    stmt: _Stmt, category: str, verb: str, effect: str, tables: Sequence[_Table]
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
        if _truth(condition) is not True:
            return []
        how = f"with an always-true WHERE ({_render(condition)})"
    limit_at = stmt.find(frozenset({"LIMIT"}))
    if limit_at is None:
        reason = f"{verb} {how} {effect} every row of {_names(tables)}"
    else:
        limit = _render(stmt.toks[limit_at : limit_at + 4], stop_at_word=True)
        reason = (
            f"{verb} {how} {effect} rows of {_names(tables)} with no condition "
            f"({limit} only caps how many)"
        )
    return [_finding(category, reason, tables)]


_NO_SPACE_BEFORE = re.compile(r" ([),.])")
_NO_SPACE_AFTER = re.compile(r"([(.]) ")


def _render(toks: Sequence[_Tok], stop_at_word: bool = False) -> str:
    """Tokens back to short readable SQL for a reason (LIMIT: up to the next keyword)."""
    shown: list[str] = []
    for index, tok in enumerate(toks):
        if stop_at_word and index > 0 and tok.kind == "word" and tok.key != "OFFSET":
            break
        shown.append(tok.text)
    text = _NO_SPACE_AFTER.sub(r"\1", _NO_SPACE_BEFORE.sub(r"\1", " ".join(shown)))
    return text if len(text) <= 60 else text[:57] + "..."


def _read_alter(stmt: _Stmt) -> list[Finding]:
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
    renamed_to: _Table | None = None
    for spec in _alter_specs(stmt):
        keys = [tok.key if tok.kind == "word" else "" for tok in spec[:2]] + ["", ""]
        name = _ident_value(spec[0]) if len(spec) == 1 else None
        if changes and changes[-1].takes_more and name is not None:
            changes[-1].names.append(name)  # DROP PARTITION p1, p2: the comma lists partitions
        elif keys[0] == "DROP":
            changes.append(_dropped(spec[1:]))
        elif keys[:2] == ["TRUNCATE", "PARTITION"]:
            changes.append(_Change("empties partition", _idents(spec[2:]), takes_more=True))
        elif keys[0] == "DISCARD" and any(tok.key == "TABLESPACE" for tok in spec):
            changes.append(_Change("discards its tablespace (the data file)"))
        elif keys[0] == "RENAME" and keys[1] not in ("COLUMN", "INDEX", "KEY"):
            rest = _Stmt(spec[2:] if keys[1] in ("TO", "AS") else spec[1:], stmt.schema)
            new = rest.table()
            if new is not None:
                renamed_to = rest.resolve(new)
    findings: list[Finding] = []
    if changes:
        described = ", ".join(change.describe() for change in changes)
        findings.append(_finding(ALTER_DROP, f"ALTER TABLE {table.shown} {described}", [table]))
    if renamed_to is not None:
        reason = f"ALTER TABLE ... RENAME renames {table.shown} to {renamed_to.shown}"
        findings.append(_finding(RENAME_TABLE, reason, [table]))
    return findings


@dataclass
class _Change:
    """One destructive ALTER TABLE clause: what it does and to which names."""

    verb: str
    names: list[str] = field(default_factory=list)
    takes_more: bool = False  # a partition list that the next comma continues

    def describe(self) -> str:
        names = ", ".join(_quoted_if_needed(name) for name in self.names)
        return f"{self.verb} {names}" if names else self.verb


def _alter_specs(stmt: _Stmt) -> Iterator[list[_Tok]]:
    """The comma-separated clauses of an ALTER TABLE, from the position."""
    spec: list[_Tok] = []
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


def _dropped(spec: list[_Tok]) -> _Change:
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


def _idents(toks: Sequence[_Tok]) -> list[str]:
    """The identifiers of a comma-separated name list (stops at anything else)."""
    names: list[str] = []
    for index, tok in enumerate(toks):
        if index % 2 == 1:
            if not (tok.kind == "symbol" and tok.key == ","):
                break
            continue
        name = _ident_value(tok)
        if name is None:
            break
        names.append(name)
    return names


def _read_rename(stmt: _Stmt) -> list[Finding]:
    stmt.pos += 1
    if not (stmt.accept("TABLE") or stmt.accept("TABLES")):
        return []  # RENAME USER
    stmt.accept("IF", "EXISTS")
    moves: list[tuple[_Table, _Table]] = []
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
    return [_finding(RENAME_TABLE, f"RENAME TABLE renames {described}", [old for old, _ in moves])]


def _read_create(stmt: _Stmt) -> list[Finding]:
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
    return [_finding(DROP_TABLE, reason, [table])]


_READERS: Mapping[str, Callable[[_Stmt], list[Finding]]] = {
    "DROP": _read_drop,
    "TRUNCATE": _read_truncate,
    "DELETE": _read_delete,
    "UPDATE": _read_update,
    "ALTER": _read_alter,
    "RENAME": _read_rename,
    "CREATE": _read_create,
}


# --- always-true conditions ---------------------------------------------------------------------

_COMPARISONS = frozenset({"=", "<=>", "!=", "<>", "<", ">", "<=", ">="})
_SELF_TRUE_COMPARISONS = frozenset({"=", "<=>", "<=", ">="})
_NUMERIC_PREFIX = re.compile(r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?", re.IGNORECASE)


def _truth(toks: Sequence[_Tok]) -> bool | None:
    """True or False when a condition's value does not depend on the row; None when it may."""
    toks = _without_outer_parens(toks)
    for operators, combine in ((_OR_OPERATORS, _either), (_AND_OPERATORS, _both)):
        parts = _split_logical(toks, operators)
        if len(parts) > 1:
            return combine([_truth(part) for part in parts])
    if toks and toks[0].key in ("NOT", "!"):
        inner = _truth(toks[1:])
        return None if inner is None else not inner
    compared = _split_comparison(toks)
    if compared is not None:
        return _comparison_truth(*compared)
    value = _literal(toks)
    return None if value is None else _truthy(value)


_OR_OPERATORS = frozenset({"OR", "||"})
_AND_OPERATORS = frozenset({"AND", "&&"})


def _either(values: Sequence[bool | None]) -> bool | None:
    if any(value is True for value in values):
        return True
    return False if all(value is False for value in values) else None


def _both(values: Sequence[bool | None]) -> bool | None:
    if any(value is False for value in values):
        return False
    return True if all(value is True for value in values) else None


def _comparison_truth(left: Sequence[_Tok], op: str, right: Sequence[_Tok]) -> bool | None:
    left_value, right_value = _literal(left), _literal(right)
    if left_value is not None and right_value is not None:
        return _compare(left_value, op, right_value)
    column = _column_ref(left)
    # id = id holds on every row where id is not NULL: nothing about the row is tested.
    if op in _SELF_TRUE_COMPARISONS and column is not None and column == _column_ref(right):
        return True
    return None


def _without_outer_parens(toks: Sequence[_Tok]) -> Sequence[_Tok]:
    while len(toks) >= 2 and toks[0].key == "(" and _closing(toks, 0) == len(toks) - 1:
        toks = toks[1:-1]
    return toks


def _closing(toks: Sequence[_Tok], opening: int) -> int | None:
    level = 0
    for index in range(opening, len(toks)):
        if toks[index].kind == "symbol":
            if toks[index].key == "(":
                level += 1
            elif toks[index].key == ")":
                level -= 1
                if level == 0:
                    return index
    return None


def _split_logical(toks: Sequence[_Tok], operators: frozenset[str]) -> list[Sequence[_Tok]]:
    """Split at top-level AND or OR; the AND of `x BETWEEN 1 AND 5` is not a split point."""
    parts: list[Sequence[_Tok]] = []
    level, start, between = 0, 0, False
    for index, tok in enumerate(toks):
        if tok.kind == "symbol" and tok.key == "(":
            level += 1
        elif tok.kind == "symbol" and tok.key == ")":
            level -= 1
        elif level == 0 and tok.key == "BETWEEN" and tok.kind in ("word", "symbol"):
            between = True
        elif level == 0 and tok.key in operators and tok.kind in ("word", "symbol"):
            if tok.key == "AND" and between:
                between = False
                continue
            parts.append(toks[start:index])
            start = index + 1
    parts.append(toks[start:])
    return parts


def _split_comparison(toks: Sequence[_Tok]) -> tuple[Sequence[_Tok], str, Sequence[_Tok]] | None:
    level = 0
    for index, tok in enumerate(toks):
        if tok.kind != "symbol":
            continue
        if tok.key == "(":
            level += 1
        elif tok.key == ")":
            level -= 1
        elif level == 0 and tok.key in _COMPARISONS:
            return toks[:index], tok.key, toks[index + 1 :]
    return None


def _literal(toks: Sequence[_Tok]) -> float | str | None:
    """The value of a lone literal (number, quoted string, TRUE/FALSE), else None."""
    toks = _without_outer_parens(toks)
    sign = 1.0
    if len(toks) == 2 and toks[0].kind == "symbol" and toks[0].key in ("-", "+"):
        sign = -1.0 if toks[0].key == "-" else 1.0
        toks = toks[1:]
        if toks[0].kind != "number":
            return None
    if len(toks) != 1:
        return None
    tok = toks[0]
    if tok.kind == "number":
        number = _number(tok.text)
        return None if number is None else sign * number
    if tok.kind == "string" and tok.text[:1] in ("'", '"'):
        return _unquote(tok.text)
    if tok.kind == "word" and tok.key in ("TRUE", "FALSE"):
        return 1.0 if tok.key == "TRUE" else 0.0
    return None


def _number(text: str) -> float | None:
    try:
        return float(int(text, 16)) if text.lower().startswith("0x") else float(text)
    except ValueError:
        return None


def _unquote(text: str) -> str:
    quote = text[0]
    inner = text[1:-1].replace(quote * 2, quote)
    return re.sub(r"\\(.)", r"\1", inner, flags=re.DOTALL)


def _column_ref(toks: Sequence[_Tok]) -> tuple[str, ...] | None:
    """The dotted column a side names (t.id -> ("t", "id")), or None for anything else."""
    parts: list[str] = []
    for index, tok in enumerate(toks):
        if index % 2 == 1:
            if not (tok.kind == "symbol" and tok.key == "."):
                return None
            continue
        if tok.kind == "word" and tok.key in ("NULL", "TRUE", "FALSE"):
            return None
        name = _ident_value(tok) if tok.kind in ("word", "name") else None
        if name is None:
            return None
        parts.append(name.casefold())
    return tuple(parts) if parts and len(toks) % 2 == 1 else None


def _compare(left: float | str, op: str, right: float | str) -> bool:
    """A comparison of two literals as MySQL makes it (strings case-insensitively)."""
    check = _COMPARE[op]
    if isinstance(left, str) and isinstance(right, str):
        return bool(check(left.rstrip(" ").casefold(), right.rstrip(" ").casefold()))
    return bool(check(_as_number(left), _as_number(right)))


_COMPARE: Mapping[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "<=>": operator.eq,
    "!=": operator.ne,
    "<>": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}


def _as_number(value: float | str) -> float:
    if isinstance(value, float):
        return value
    prefix = _NUMERIC_PREFIX.match(value)
    return float(prefix.group()) if prefix else 0.0


def _truthy(value: float | str) -> bool:
    return _as_number(value) != 0
