"""How one transaction is laid out in the index's tables (shared by its writers and readers)."""

from __future__ import annotations

import array
import json
import struct
import sys
from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any

from drkit.index.ddl import ddl_tables
from drkit.io.secrets import redact_statement
from drkit.model.coords import file_sequence

# One finding of the classifier: (class, severity rank, reason, tables).
Found = tuple[str, int | None, str, tuple[str, ...]]
# Every finding on one transaction, in the classifier's order; empty when it is harmless.
Verdict = tuple[Found, ...]
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


# One row of `transactions`, `transaction_tables` and `findings`, in the columns' order (store.py).
TransactionRow = tuple[Any, ...]
TableRow = tuple[int, str, str, int, int, int]
FindingRow = tuple[int, int, str, int | None, str, str]

# The stored statement is for reading; the classifier has already seen the whole text.
STATEMENT_LIMIT = 4000


def lay_out(
    batch: Sequence[Scanned], first_id: int, verdicts: Sequence[Verdict]
) -> tuple[list[TransactionRow], list[TableRow], list[FindingRow]]:
    """The `transactions`, `transaction_tables` and `findings` rows of a classified batch, ids
    from first_id."""
    last_file, sequence = "", 0
    rows: list[TransactionRow] = []
    table_rows: list[TableRow] = []
    finding_rows: list[FindingRow] = []
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
            default_schema,
            row_events,
        ),
        verdict,
    ) in enumerate(zip(batch, verdicts, strict=True), start=first_id):
        inserts = updates = deletes = 0
        own_rows = len(table_rows)  # where this transaction's table rows begin
        for schema, table, ins, upd, dele in tables:
            inserts += ins
            updates += upd
            deletes += dele
            table_rows.append((tx_id, schema, table, ins, upd, dele))
        if not verdict:
            category = severity = reason = None
        else:
            # The worst finding (the first on ties) is the transaction's, as shown and filtered.
            category, severity, reason, _ = max(verdict, key=_rank)
            finding_rows.extend(
                (tx_id, seq, found[0], found[1], found[2], json.dumps(found[3]))
                for seq, found in enumerate(verdict)
            )
            # DDL carries no row events: the finding is what names its tables (DROP TABLE x).
            named = {f"{schema}.{table}" for schema, table, *_ in tables}
            for name in (name for found in verdict for name in found[3]):
                # A name without a schema is left out: Annotate_rows text carries no default
                # schema, so a DML finding may say `orders` where the row events say
                # `shop.orders`, the same table.
                schema, dot, table = name.partition(".")
                if dot and name not in named:
                    named.add(name)
                    table_rows.append((tx_id, schema, table, 0, 0, 0))
        if kind == "ddl":
            # A schema change has no row events to name its tables: read them from its text
            # (CREATE and ALTER too, and both names of a RENAME), so --table finds it.
            named_now = {f"{row[1]}.{row[2]}" for row in table_rows[own_rows:]}
            for name in ddl_tables(statements, default_schema):
                if name not in named_now:
                    schema, _, table = name.partition(".")
                    named_now.add(name)
                    table_rows.append((tx_id, schema, table, 0, 0, 0))
        if file != last_file:  # a batch spans one file, seldom two
            last_file, sequence = file, file_sequence(file)
        statement = redact_statement(";\n".join(statements))  # no password reaches the index
        if len(statement) > STATEMENT_LIMIT:
            statement = clip(statement)
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
                statement,
                inserts,
                updates,
                deletes,
                category,
                severity,
                reason,
                pack_pairs(row_events),
            )
        )
    return rows, table_rows, finding_rows


def _rank(found: Found) -> int:
    return found[1] or 0


def clip(text: str) -> str:
    return text if len(text) <= STATEMENT_LIMIT else text[: STATEMENT_LIMIT - 1] + "…"


def pack_pairs(pairs: Sequence[tuple[int, int]]) -> bytes:
    """(start, end) offsets as little-endian 64-bit integers: a tenth of the cost of JSON."""
    pack = _PAIR_PACKERS.get(len(pairs))
    if pack is None:
        pack = _PAIR_PACKERS[len(pairs)] = struct.Struct(f"<{2 * len(pairs)}q").pack
    return pack(*chain.from_iterable(pairs))


# One packer per count of pairs: a transaction's row events are few, and their counts repeat.
_PAIR_PACKERS: dict[int, Callable[..., bytes]] = {}


def unpack_pairs(stored: bytes | str) -> list[tuple[int, int]]:
    """`pack_pairs` read back (and the JSON the first indexer wrote)."""
    if isinstance(stored, str):
        return [(int(a), int(b)) for a, b in json.loads(stored)]
    flat = array.array("q")
    flat.frombytes(stored)
    if sys.byteorder != "little":
        flat.byteswap()
    return list(zip(flat[::2], flat[1::2], strict=True))
