"""Every finding of one indexed transaction under the guard's rules, read from the index.

The indexer stores every finding of a transaction with its tables qualified (it saw the whole
statement text and the default schema), so the guard judges from the index alone and never needs
the binlog archive on its freeze path. Mass findings are the exception: the guard may have its own
mass threshold, so it drops the stored ones and counts again from the indexed row counts.
"""

from __future__ import annotations

from collections.abc import Collection

from drkit.classify import (
    MASS_CLASSES,
    ClassifyRules,
    Finding,
    RowCounts,
    Severity,
    mass_findings,
)
from drkit.index.records import Destructive, IndexedTransaction


def guard_findings(
    transaction: IndexedTransaction,
    rules: ClassifyRules,
    ignored_classes: Collection[str] = (),
) -> list[Finding]:
    """Statement and mass findings of `transaction`; empty when it is harmless.

    A mass finding gives way to a statement finding on the same table, but not to one whose
    class the guard excuses (`ignored_classes`): excusing `delete-without-where` must not also
    excuse the 50,000 rows that statement took.
    """
    stated = [
        _finding(found)
        for found in stored_findings(transaction)
        if found.category not in MASS_CLASSES
    ]
    counted = [finding for finding in stated if finding.category not in ignored_classes]
    counts = {t.table: RowCounts(t.inserts, t.updates, t.deletes) for t in transaction.tables}
    return stated + mass_findings(counted, counts, rules)


def stored_findings(transaction: IndexedTransaction) -> tuple[Destructive, ...]:
    """The index's findings on a transaction; a flagged one without them (a record made in
    Python) has its worst finding, naming every table it touched."""
    if transaction.findings or transaction.destructive is None:
        return transaction.findings
    worst = transaction.destructive
    touched = tuple(t.table for t in transaction.tables)
    return (Destructive(worst.category, worst.severity, worst.reason, touched),)


def _finding(found: Destructive) -> Finding:
    return Finding(found.category, Severity.parse(found.severity), found.reason, found.tables)
