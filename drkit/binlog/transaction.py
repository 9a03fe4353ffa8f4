"""The per-transaction record the indexer stores, and how consecutive events build one."""

from __future__ import annotations

from typing import NamedTuple

DML = "dml"
DDL = "ddl"
OTHER = "other"
INCIDENT = "incident"  # not a transaction: the server's mark that its binlog lost events here

# Transaction flags.
STANDALONE = "standalone"  # committed on its own, without BEGIN ... COMMIT (DDL and the like)
NON_TRANSACTIONAL = "non_transactional"  # ended by a COMMIT query (MyISAM/Aria), not an XID
ROLLBACK = "rollback"  # ended by ROLLBACK: only its non-transactional changes were kept
XA_PREPARE = "xa_prepare"  # the prepare half of an XA transaction (its rows are here)
XA_COMMIT = "xa_commit"  # XA COMMIT of a transaction prepared earlier
XA_ROLLBACK = "xa_rollback"
STATEMENT_DML = "statement_dml"  # DML logged as statement text: its rows are not counted
ROWS_UNCOUNTED = "rows_uncounted"  # a Rows event could not be counted (unknown type, no zstd)
COMPRESSED = "compressed"  # MariaDB compressed events or a MySQL transaction payload
BINLOG_INCIDENT = "incident"  # an Incident event: the binlog has a gap here (see INCIDENT)

# The statement of an incident record: this, then the incident's name and message.
INCIDENT_STATEMENT = "binlog incident "

_DML_WORDS = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "LOAD"})
_NO_FLAGS: frozenset[str] = frozenset()


class TableChange(NamedTuple):
    """Rows one transaction changed in one table.

    Named tuples rather than dataclasses, here and for Transaction: a scan makes hundreds of
    thousands of each, and a named tuple is five times cheaper to build than a frozen dataclass.
    """

    schema: str
    table: str
    inserts: int = 0
    updates: int = 0
    deletes: int = 0

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"


class Transaction(NamedTuple):
    """One committed transaction (or standalone statement) of a binlog file.

    `start_pos` is the offset of its first event (the GTID event): a replica told to stop
    `UNTIL MASTER_LOG_POS=start_pos` stops just before it. `end_pos` is the offset after its last event.
    `timestamp` is the header time of that first event, which the server sets to the start of the
    committing statement. `statements` holds its DDL/statement text and the Annotate_rows /
    Rows_query text of its DML. `row_events` lists the (start, end) offsets of its Table_map and
    Rows events in file order (a MySQL Transaction_payload event stands for all of them), which is
    what `drkit.binlog.rows.decode_rows` needs.
    """

    gtid: str | None
    file: str
    start_pos: int
    end_pos: int
    timestamp: int
    server_id: int
    kind: str
    tables: tuple[TableChange, ...]
    statements: tuple[str, ...]
    default_schema: str | None
    row_events: tuple[tuple[int, int], ...]
    flags: frozenset[str]
    events: int

    @property
    def rows(self) -> tuple[int, int, int]:
        """Total (inserts, updates, deletes) over its tables."""
        return (
            sum(t.inserts for t in self.tables),
            sum(t.updates for t in self.tables),
            sum(t.deletes for t in self.tables),
        )


class TransactionBuilder:
    """The transaction being assembled from consecutive events of one file."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.reset()

    def reset(self) -> None:
        self.start = -1  # no transaction open
        self.first_event = 0
        self.gtid: str | None = None
        self.timestamp = 0
        self.server_id = 0
        self.in_group = False  # inside BEGIN ... COMMIT: a DDL query does not end it
        self.flags: set[str] = set()
        self.statements: list[str] = []
        self.default_schema: str | None = None
        self.row_events: list[tuple[int, int]] = []
        self.counts: dict[tuple[str, str], list[int]] = {}
        self.ddl = False
        self.statement_dml = False
        self.incident_text: str | None = None

    def open(
        self, pos: int, timestamp: int, server_id: int, *, gtid: str | None, number: int
    ) -> None:
        """Start a transaction at the event at `pos` (the `number`th event of this scan)."""
        self.start = pos
        self.timestamp = timestamp
        self.server_id = server_id
        self.gtid = gtid
        self.first_event = number

    def add_rows(self, schema: str, table: str, operation: int, rows: int) -> None:
        """Count rows for a table; operation 0 insert, 1 update, 2 delete."""
        key = (schema, table)
        counts = self.counts.get(key)
        if counts is None:
            counts = self.counts[key] = [0, 0, 0]
        counts[operation] += rows

    def query(self, text: str, schema: str) -> bool:
        """Take a Query event's text; True when it ends the transaction."""
        words = leading_words(text)
        first = words[0] if words else ""
        second = words[1] if len(words) > 1 else ""
        if first == "BEGIN" or (first == "XA" and second == "START"):
            self.in_group = True
            return False
        if (first, second) in (("XA", "END"), ("ROLLBACK", "TO")) or first == "SAVEPOINT":
            return False
        if first in ("COMMIT", "ROLLBACK") and self.in_group:
            self.flags.add(NON_TRANSACTIONAL if first == "COMMIT" else ROLLBACK)
            return True
        self.statements.append(text)
        if schema and self.default_schema is None:
            self.default_schema = schema
        if first == "XA":
            self.flags.add(XA_ROLLBACK if second == "ROLLBACK" else XA_COMMIT)
        elif first in _DML_WORDS:
            self.statement_dml = True
            self.flags.add(STATEMENT_DML)
        else:
            self.ddl = True
        if self.in_group:
            return False
        self.flags.add(STANDALONE)
        return True

    def incident(self, text: str) -> None:
        """Record an Incident event ("LOST_EVENTS: message"); it makes a record of its own."""
        self.incident_text = text
        self.statements.append(INCIDENT_STATEMENT + text)
        self.flags.add(BINLOG_INCIDENT)

    def finish(self, end: int, number: int) -> Transaction:
        """The finished transaction ending at `end` with the `number`th event; then reset."""
        tables = tuple([TableChange(s, t, c[0], c[1], c[2]) for (s, t), c in self.counts.items()])
        if self.incident_text is not None:
            kind = INCIDENT
        elif self.ddl:
            kind = DDL
        elif self.counts or self.statement_dml or self.row_events:
            kind = DML
        else:
            kind = OTHER
        transaction = Transaction(
            self.gtid,
            self.file,
            self.start,
            end,
            self.timestamp,
            self.server_id,
            kind,
            tables,
            tuple(self.statements),
            self.default_schema,
            tuple(self.row_events),
            frozenset(self.flags) if self.flags else _NO_FLAGS,
            number - self.first_event + 1,
        )
        self.reset()
        return transaction


def leading_words(text: str) -> list[str]:
    """The first two keywords of a statement, upper-cased, after leading comments."""
    rest = text.lstrip()
    while rest.startswith(("/*", "#", "--")):
        if rest.startswith("/*"):
            close = rest.find("*/")
            rest = rest[close + 2 :].lstrip() if close >= 0 else ""
        else:
            newline = rest.find("\n")
            rest = rest[newline + 1 :].lstrip() if newline >= 0 else ""
    return rest[:40].upper().replace("(", " ").replace(";", " ").split(None, 2)[:2]
