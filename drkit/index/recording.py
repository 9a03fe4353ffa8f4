"""What a scanned transaction becomes in the index: the classifier's findings and the stored rows.

This runs wherever the index is written: in the indexer's own process for small increments, or
in the writer process during a long catch-up (`drkit.index.writer_process`). It works on
`Scanned` tuples rather than `Transaction` objects because plain tuples of strings and integers
cross a process boundary at a fraction of the cost.
"""

from __future__ import annotations

from collections.abc import Sequence

from drkit.binlog.transaction import Transaction
from drkit.classify import (
    ClassifyRules,
    RowCounts,
    statements_plainly_harmless,
    transaction_findings,
)
from drkit.index.layout import FindingRow, Scanned, TableRow, TransactionRow, Verdict, lay_out


def scanned(transaction: Transaction) -> Scanned:
    """The parts of a scanned transaction the index keeps, as plain values."""
    return (
        transaction.gtid,
        transaction.file,
        transaction.start_pos,
        transaction.end_pos,
        transaction.timestamp,
        transaction.server_id,
        transaction.kind,
        tuple([(t.schema, t.table, t.inserts, t.updates, t.deletes) for t in transaction.tables]),
        transaction.statements,
        transaction.default_schema,
        transaction.row_events,
    )


class Recorder:
    """Classifies scanned transactions and lays them out as the index's rows.

    Both steps run where the batch is laid out: in the writer process, or in the indexer itself
    when its writer process falls behind (which then receives the rows ready).
    """

    def __init__(self, rules: ClassifyRules) -> None:
        self.rules = rules

    def verdicts(self, batch: Sequence[Scanned]) -> list[Verdict]:
        """The classifier's findings on each transaction of the batch, as plain values."""
        mass = self.rules.mass_rows
        rules = self.rules
        found: list[Verdict] = []
        for scanned_tx in batch:
            tables = scanned_tx[7]
            # Row counts matter to the classifier only from mass_rows up: pass just those tables
            # (a plain loop: most transactions have none, and then no dict is built).
            counts: dict[str, RowCounts] | None = None
            for schema, table, ins, upd, dele in tables:
                if upd >= mass or dele >= mass:
                    if counts is None:
                        counts = {}
                    counts[f"{schema}.{table}"] = RowCounts(ins, upd, dele)
            if not counts and statements_plainly_harmless(scanned_tx[8]):
                found.append(())  # most transactions: no names to build, nothing to read
                continue
            # Every table's name: a statement naming one without its schema is read with it.
            names = [f"{schema}.{table}" for schema, table, *_ in tables] if tables else ()
            findings = transaction_findings(
                scanned_tx[8], counts or {}, rules, scanned_tx[9], tables=names
            )
            found.append(
                tuple([(f.category, int(f.severity), f.reason, f.tables) for f in findings])
            )
        return found

    def rows(
        self, batch: Sequence[Scanned], first_id: int
    ) -> tuple[list[TransactionRow], list[TableRow], list[FindingRow]]:
        """The `transactions`, `transaction_tables` and `findings` rows of a batch whose ids start
        at first_id."""
        return lay_out(batch, first_id, self.verdicts(batch))
