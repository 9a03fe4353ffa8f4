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

The package, along its seams: `findings` (values), `transaction` (the entry points), `ignore`
(ignore patterns), `fastpath` (the regex pre-check), `lexer`, `statement` (a read cursor),
`parser` with the readers in `ddl` and `dml`, and `conditions` (the WHERE evaluator).
"""

from __future__ import annotations

from drkit.classify.findings import (
    ALTER_DROP,
    BINLOG_INCIDENT,
    DEFAULT_RULES,
    DELETE_WITHOUT_WHERE,
    DROP_DATABASE,
    DROP_TABLE,
    MASS_CLASSES,
    MASS_DELETE,
    MASS_UPDATE,
    RENAME_TABLE,
    SEVERITIES,
    TRUNCATE,
    UPDATE_WITHOUT_WHERE,
    ClassifyRules,
    Finding,
    RowCounts,
    Severity,
)
from drkit.classify.ignore import tables_ignored
from drkit.classify.transaction import (
    classify_statement,
    classify_transaction,
    mass_findings,
    statements_plainly_harmless,
    transaction_findings,
)

__all__ = [
    "ALTER_DROP",
    "BINLOG_INCIDENT",
    "DEFAULT_RULES",
    "DELETE_WITHOUT_WHERE",
    "DROP_DATABASE",
    "DROP_TABLE",
    "MASS_CLASSES",
    "MASS_DELETE",
    "MASS_UPDATE",
    "RENAME_TABLE",
    "SEVERITIES",
    "TRUNCATE",
    "UPDATE_WITHOUT_WHERE",
    "ClassifyRules",
    "Finding",
    "RowCounts",
    "Severity",
    "classify_statement",
    "classify_transaction",
    "mass_findings",
    "statements_plainly_harmless",
    "tables_ignored",
    "transaction_findings",
]
