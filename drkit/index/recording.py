"""What a scanned transaction becomes in the index: the classifier's finding and the stored rows.

This runs wherever the index is written: in the indexer's own process for small increments, or
in the writer process during a long catch-up (`drkit.index.writer_process`). It works on
`Scanned` tuples rather than `Transaction` objects because plain tuples of strings and integers
cross a process boundary at a fraction of the cost.
"""

from __future__ import annotations

from collections.abc import Sequence

from drkit.binlog.transaction import Transaction
from drkit.classify import ClassifyRules, RowCounts, classify_transaction
from drkit.index.layout import TableRow, TransactionRow, clip, pack_pairs
from drkit.model.coords import file_sequence

# The classifier's finding on one transaction: (class, severity rank, reason, tables), or None.
Verdict = tuple[str, int, str, tuple[str, ...]] | None
# (schema, table, inserts, updates, deletes)
ScannedTable = tuple[str, str, int, int, int]
# (gtid, file, start_pos, end_pos, timestamp, server_id, kind, tables, statements,
#  default_schema, row_events)
Scanned = tuple[
    str | None,
    str,
    int,
    int,
    int,
    int,
    str,
    tuple[ScannedTable, ...],
    tuple[str, ...],
    str | None,
    tuple[tuple[int, int], ...],
]


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

    The two steps are apart so that they may run in different processes: the indexer classifies
    a batch itself when its writer process falls behind, and leaves it to the writer otherwise.
    """

    def __init__(self, rules: ClassifyRules) -> None:
        self.rules = rules

    def verdicts(self, batch: Sequence[Scanned]) -> list[Verdict]:
        """The classifier's finding on each transaction of the batch, as plain values."""
        mass = self.rules.mass_rows
        rules = self.rules
        found: list[Verdict] = []
        for scanned_tx in batch:
            tables = scanned_tx[7]
            # Row counts matter to the classifier only from mass_rows up: pass just those tables.
            counts = {
                f"{schema}.{table}": RowCounts(ins, upd, dele)
                for schema, table, ins, upd, dele in tables
                if upd >= mass or dele >= mass
            }
            finding = classify_transaction(scanned_tx[8], counts, rules, scanned_tx[9])
            found.append(
                None
                if finding is None
                else (finding.category, int(finding.severity), finding.reason, finding.tables)
            )
        return found

    def rows(
        self, batch: Sequence[Scanned], first_id: int, verdicts: Sequence[Verdict] | None = None
    ) -> tuple[list[TransactionRow], list[TableRow]]:
        """The `transactions` and `transaction_tables` rows of a batch whose ids start at first_id
        (classified here unless its verdicts are given)."""
        if verdicts is None:
            verdicts = self.verdicts(batch)
        sequences: dict[str, int] = {}
        rows: list[TransactionRow] = []
        table_rows: list[TableRow] = []
        for tx_id, (
            (
                gtid,
                file,
                start,
                end,
                timestamp,
                server_id,
                kind,
                tables,
                statements,
                _default_schema,
                row_events,
            ),
            verdict,
        ) in enumerate(zip(batch, verdicts, strict=True), start=first_id):
            inserts = updates = deletes = 0
            for schema, table, ins, upd, dele in tables:
                inserts += ins
                updates += upd
                deletes += dele
                table_rows.append((tx_id, schema, table, ins, upd, dele))
            if verdict is None:
                category = severity = reason = None
            else:
                category, severity, reason, found_tables = verdict
                # DDL carries no row events: the finding is what names its tables (DROP TABLE x).
                named = {f"{schema}.{table}" for schema, table, *_ in tables}
                for name in found_tables:
                    # A name without a schema is left out: Annotate_rows text carries no default
                    # schema, so a DML finding may say `orders` where the row events say
                    # `shop.orders`, the same table.
                    schema, dot, table = name.partition(".")
                    if dot and name not in named:
                        named.add(name)
                        table_rows.append((tx_id, schema, table, 0, 0, 0))
            sequence = sequences.get(file)
            if sequence is None:
                sequence = sequences[file] = file_sequence(file)
            rows.append(
                (
                    tx_id,
                    gtid,
                    file,
                    sequence,
                    start,
                    end,
                    timestamp,
                    server_id,
                    kind,
                    clip(";\n".join(statements)),
                    inserts,
                    updates,
                    deletes,
                    category,
                    severity,
                    reason,
                    pack_pairs(row_events),
                )
            )
        return rows, table_rows
