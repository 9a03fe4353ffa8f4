"""A transaction's statements and row counts to findings, after the ignore rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from drkit.binlog.transaction import INCIDENT_STATEMENT
from drkit.classify.fastpath import plainly_harmless
from drkit.classify.findings import (
    BINLOG_INCIDENT,
    DEFAULT_RULES,
    MASS_DELETE,
    MASS_UPDATE,
    SEVERITIES,
    ClassifyRules,
    Finding,
    RowCounts,
)
from drkit.classify.ignore import all_ignored, drops_only_staging, names_table, table_ignored
from drkit.classify.parser import classify_parsed


def classify_statement(
    sql: str, default_schema: str | None = None, *, fast_path: bool = True
) -> list[Finding]:
    """Every destructive finding in one statement text, which may hold several statements.

    `fast_path=False` forces the full sqlparse reading (the tests and the benchmark compare both).
    """
    if fast_path and plainly_harmless(sql):
        return []
    return classify_parsed(sql, default_schema)


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
    binlog reader writes for an Incident event) is a finding no ignore rule hides. The DROP of
    a merge staging table (`S.T_drkit_merge`, drkit's own scratch table) is no finding.
    """
    if not row_counts and statements_plainly_harmless(statements):
        return []  # the bulk of a binlog, settled without building anything
    known = (*tables, *row_counts)
    stated = [
        finding
        for sql in statements
        for finding in _statement_findings(sql, default_schema, known)
        if not all_ignored(finding.tables, rules.ignore_tables) and not drops_only_staging(finding)
    ]
    return stated + mass_findings(stated, row_counts, rules)


def mass_findings(
    stated: Sequence[Finding],
    row_counts: Mapping[str, RowCounts],
    rules: ClassifyRules = DEFAULT_RULES,
) -> list[Finding]:
    """The mass findings that row counts give beside a transaction's statement findings.

    Apart from `transaction_findings` so that the guard can add its own mass threshold to the
    statement findings the index stored, without the statements.
    """
    massive: list[Finding] = []
    for table, counts in row_counts.items():
        if table_ignored(table, rules.ignore_tables):
            continue
        for category, rows, verb in (
            (MASS_DELETE, counts.deletes, "deleted from"),
            (MASS_UPDATE, counts.updates, "updated in"),
        ):
            severity = SEVERITIES[category]
            if rows < rules.mass_rows or any(
                finding.severity >= severity and names_table(finding, table) for finding in stated
            ):
                continue
            reason = (
                f"{rows} rows {verb} {table} in one transaction (mass_rows is {rules.mass_rows})"
            )
            massive.append(Finding(category, severity, reason, (table,)))
    return massive


def statements_plainly_harmless(statements: Sequence[str]) -> bool:
    """Whether the fast path clears every statement of a transaction (no incident among them):
    with no mass row counts either, it has no finding and needs no further reading."""
    for sql in statements:  # a loop, not all(): a generator costs more than the look itself
        if not plainly_harmless(sql) or sql.startswith(INCIDENT_STATEMENT):
            return False
    return True


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
