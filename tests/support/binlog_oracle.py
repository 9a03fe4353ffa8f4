"""What `mariadb-binlog -vv` says about a binlog file, grouped into transactions by its own
printout: the oracle the corpus and fuzz tests hold drkit's reader to.

Only the tool's text is read here (its `# at` offsets, event header lines, statement texts and
`###` row lines), never the file's bytes, except for the size of the last event it printed.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

_AT = re.compile(rb"^# at (\d+)$")
_HEADER = re.compile(
    rb"^#\d{6} [ \d]\d:\d\d:\d\d server id \d+\s+end_log_pos \d+(?: CRC32 0x[0-9a-f]+)?\s*(.*)$"
)
_ERROR_AT = re.compile(rb"Could not read entry at offset (\d+)")
_TABLE_MAP = re.compile(rb"^Table_map: `(.*)`\.`(.*)` mapped to number (\d+)")
_ROWS = re.compile(rb"^(\w+_rows\w*): table id (\d+)( flags: STMT_END_F)?")
_ROW_LINE = re.compile(rb"^### (INSERT INTO|UPDATE|DELETE FROM) `(.*)`\.`(.*)`$")
_VALUE_LINE = re.compile(rb"^###   @(\d+)=(.*?)(?: /\* .* \*/)?$")
_PREAMBLE = re.compile(
    rb"^(use `.*`/\*!\*/;|SET TIMESTAMP=.*|SET @@session\..*|/\*!\\C .*|SET INSERT_ID=.*"
    rb"|SET LAST_INSERT_ID=.*|SET @`.*|/\*!\d+ SET .*|/\*M!\d+ SET .*)$"
)
_MYSQL_GTID = re.compile(rb"^# Ignorable event type 3[34] ")
# Statements drkit's records leave out (they neither start nor end a transaction).
_LEFT_OUT = ("SAVEPOINT", "ROLLBACK TO", "XA END")


@dataclass
class OracleRow:
    """One row the tool printed: operation word, table, and its value texts per image."""

    operation: str
    table: str
    images: list[list[tuple[int, bytes]]] = field(default_factory=list)


@dataclass
class OracleTransaction:
    start: int
    end: int = -1
    gtid: bool = False
    in_group: bool = False
    tables: set[str] = field(default_factory=set)
    statements: list[str] = field(default_factory=list)
    rows: list[OracleRow] = field(default_factory=list)
    incident: bool = False
    wildcard_statement: bool = False  # LOAD DATA: the tool prints its own temporary file name

    def counts(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for row in self.rows:
            index = {"INSERT INTO": 0, "UPDATE": 1, "DELETE FROM": 2}[row.operation]
            out.setdefault(row.table, [0, 0, 0])[index] += 1
        return out


@dataclass
class OracleView:
    transactions: list[OracleTransaction]
    error_at: int | None  # the offset of the event the tool refused, if any
    output: bytes


def read_with_mariadb_binlog(path: Path) -> OracleView:
    """Run the tool on `path` and group what it printed into transactions."""
    result = run_mariadb_binlog(["-vv", "--base64-output=decode-rows", str(path)])
    error = _ERROR_AT.search(result.stderr) or _ERROR_AT.search(result.stdout)
    error_at = int(error.group(1)) if error else None
    events = _events(result.stdout)
    data = path.read_bytes()
    return OracleView(_group(events, data, error_at), error_at, result.stdout + result.stderr)


def run_mariadb_binlog(args: list[str]) -> subprocess.CompletedProcess[bytes]:
    """The tool's run, its LOAD DATA files (which it never deletes) in a folder removed after."""
    with tempfile.TemporaryDirectory(prefix="drkit-load-") as folder:
        return subprocess.run(
            ["mariadb-binlog", "--no-defaults", f"--local-load={folder}", *args],
            capture_output=True,
            check=False,
            timeout=120,
        )


@dataclass
class _Event:
    start: int
    header: bytes = b""
    body: list[bytes] = field(default_factory=list)


def _events(output: bytes) -> list[_Event]:
    """Events in file order; the lines after a run of headers go to the last event of the run."""
    events: list[_Event] = []
    pending: list[_Event] = []  # `# at` lines whose header lines have not come yet
    current: _Event | None = None
    for line in output.split(b"\n"):
        at = _AT.match(line)
        if at:
            event = _Event(int(at.group(1)))
            events.append(event)
            pending.append(event)
            continue
        header = _HEADER.match(line)
        if header and pending:
            current = pending.pop(0)
            current.header = header.group(1).strip()
            continue
        if current is not None:
            if not current.header and line.startswith(b"#") and not current.body:
                current.header = line[1:].strip()  # Begin_load_query and friends: own line
                continue
            current.body.append(line)
    return [event for event in events if event.header]


def _group(events: list[_Event], data: bytes, error_at: int | None) -> list[OracleTransaction]:
    transactions: list[OracleTransaction] = []
    table_ids: dict[int, str] = {}
    open_tx: OracleTransaction | None = None

    def close(end: int) -> None:
        nonlocal open_tx
        assert open_tx is not None
        open_tx.end = end
        transactions.append(open_tx)
        open_tx = None

    for index, event in enumerate(events):
        if index + 1 < len(events):
            end = events[index + 1].start
        else:
            end = event.start + int.from_bytes(data[event.start + 9 : event.start + 13], "little")
        header = event.header
        mysql_gtid = header == b"Ignorable" and any(_MYSQL_GTID.match(b) for b in event.body)
        if mysql_gtid or (header.startswith(b"GTID") and not header.startswith(b"Gtid list")):
            open_tx = OracleTransaction(event.start, gtid=True)
            text = b"\n".join(event.body)
            open_tx.in_group = b"START TRANSACTION" in text or b"XA START" in text
            continue
        if header.startswith(b"Incident"):
            open_tx = OracleTransaction(event.start, incident=True)
            close(end)
            continue
        table_map = _TABLE_MAP.match(header)
        rows = _ROWS.match(header)
        if table_map or rows or header.startswith((b"Annotate_rows", b"Rows_query")):
            if open_tx is None:
                open_tx = OracleTransaction(event.start)
            if table_map:
                name = f"{table_map.group(1).decode()}.{table_map.group(2).decode()}"
                table_ids[int(table_map.group(3))] = name
            elif rows:
                open_tx.tables.add(table_ids[int(rows.group(2))])
                _rows(open_tx, event.body)
                # The tool prints no flags for MySQL 5.1 pre-GA rows events (`*_old`): those
                # servers logged autocommitted row changes without BEGIN, each event ending its
                # statement (as the flags in these files say).
                ends = rows.group(3) or rows.group(1).endswith(b"_old")
                if ends and not open_tx.in_group and not open_tx.gtid:
                    close(end)
            elif header.startswith(b"Annotate_rows"):
                open_tx.statements.append(_prefixed(event.body, b"#Q> "))
            else:
                open_tx.statements.append(_prefixed(event.body, b"# "))
            continue
        if header.startswith((b"Intvar", b"User_var", b"Rand", b"Begin_load_query")):
            if open_tx is None:
                open_tx = OracleTransaction(event.start)
            continue
        if header.startswith((b"Query", b"Execute_load_query")):
            text = _statement(event.body)
            words = " ".join(text.upper().split()[:2])
            if open_tx is None:
                open_tx = OracleTransaction(event.start)
            if words == "BEGIN" or words.startswith("XA START"):
                open_tx.in_group = True
                continue
            if words.startswith(_LEFT_OUT):
                continue
            if words in ("COMMIT", "ROLLBACK") and open_tx.in_group:
                close(end)
                continue
            open_tx.statements.append(text)
            if header.startswith(b"Execute_load_query"):
                open_tx.wildcard_statement = True
            if not open_tx.in_group:
                close(end)
            continue
        if header.startswith((b"Xid", b"XA PREPARE")) and open_tx is not None:
            close(end)
    if error_at is not None:
        transactions = [t for t in transactions if t.end <= error_at]
    return transactions


def _rows(transaction: OracleTransaction, body: list[bytes]) -> None:
    row: OracleRow | None = None
    for line in body:
        head = _ROW_LINE.match(line)
        if head:
            table = f"{head.group(2).decode()}.{head.group(3).decode()}"
            row = OracleRow(head.group(1).decode(), table)
            transaction.rows.append(row)
        elif row is not None and line in (b"### SET", b"### WHERE"):
            row.images.append([])
        elif row is not None and row.images:
            value = _VALUE_LINE.match(line)
            if value:
                row.images[-1].append((int(value.group(1)), value.group(2)))


def _prefixed(body: list[bytes], prefix: bytes) -> str:
    return b"\n".join(line[len(prefix) :] for line in body if line.startswith(prefix)).decode(
        "utf-8", "replace"
    )


def _statement(body: list[bytes]) -> str:
    """The statement of a Query event's printout: after its SET/use preamble, before `/*!*/;`."""
    lines = [line for line in body if line not in (b"",)]
    while lines and _PREAMBLE.match(lines[0]):
        lines.pop(0)
    text = b"\n".join(lines)
    for tail in (b"\n/*!*/;", b"/*!*/;"):
        cut = text.find(tail)
        if cut >= 0:
            text = text[:cut]
            break
    return text.decode("utf-8", "replace")


def unquote(value: bytes) -> bytes | None:
    """A printed value as bytes: NULL is None, 'quoted' strings lose their \\xNN escapes."""
    if value == b"NULL":
        return None
    if value.startswith(b"'") and value.endswith(b"'"):
        inner = value[1:-1]
        return re.sub(rb"\\x([0-9a-f]{2})", lambda m: bytes([int(m.group(1), 16)]), inner)
    return value
