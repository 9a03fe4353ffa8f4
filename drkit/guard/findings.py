"""Every finding of one indexed transaction under the guard's rules.

The index stores only the worst finding, its statement clipped, and no default schema; the guard
needs all of them with their tables qualified, so a flagged transaction is read again from the
archive the indexer has just written. Row counts alone (mass changes) come from the index.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path

from drkit.binlog.events import BinlogFormatError
from drkit.binlog.scan import scan_file
from drkit.binlog.transaction import Transaction
from drkit.classify import ClassifyRules, Finding, RowCounts, Severity, transaction_findings
from drkit.index.records import IndexedTransaction


def guard_findings(
    transaction: IndexedTransaction, rules: ClassifyRules, archive_dir: Path
) -> list[Finding]:
    """Statement and mass findings of `transaction`; empty when it is harmless."""
    counts = _counts({t.table: (t.inserts, t.updates, t.deletes) for t in transaction.tables})
    if transaction.destructive is None:
        # The index's classifier found no statement to flag, under the same ignore rules: only the
        # guard's own mass threshold can still find something.
        return transaction_findings((), counts, rules)
    original = read_transaction(archive_dir, transaction)
    if original is not None:
        return transaction_findings(
            original.statements,
            _counts({t.name: (t.inserts, t.updates, t.deletes) for t in original.tables}),
            rules,
            original.default_schema,
        )
    # The archive copy is gone or unreadable: trust the index's finding, on every table it touched.
    flagged = transaction.destructive
    indexed = Finding(
        flagged.category,
        Severity.parse(flagged.severity),
        flagged.reason,
        tuple(t.table for t in transaction.tables),
    )
    mass = [f for f in transaction_findings((), counts, rules) if f.category != indexed.category]
    return [indexed, *mass]


def read_transaction(archive_dir: Path, transaction: IndexedTransaction) -> Transaction | None:
    """The archived transaction at the indexed one's position, or None when it cannot be read."""
    try:
        scan = scan_file(archive_dir / transaction.file, transaction.start_pos)
        try:
            found = next(iter(scan), None)
        finally:
            with contextlib.suppress(Exception):
                scan.close()
    except (OSError, ValueError, BinlogFormatError):
        return None
    if found is None or found.start_pos != transaction.start_pos:
        return None
    return found


def _counts(rows: Mapping[str, tuple[int, int, int]]) -> dict[str, RowCounts]:
    return {table: RowCounts(*numbers) for table, numbers in rows.items()}
