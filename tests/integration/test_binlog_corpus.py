"""Every binlog of MariaDB's own test suite (the `mariadb-test` package, installed by `make test`)
scanned by drkit and read by `mariadb-binlog -vv` in the same test: transactions, positions,
tables, row counts, statements and, for every file with rows, every decoded value must agree.

Where they may not, the reason is written down in REFUSED and TOOL_LIMITS below.
"""

from __future__ import annotations

import re
import shutil
import struct
from pathlib import Path

import pytest

from drkit.binlog import BinlogFormatError, RowImage, Transaction, decode_rows, scan_file
from drkit.binlog import events as ev
from drkit.binlog import transaction as tx
from drkit.binlog.charsets import decode_text
from drkit.binlog.tablemap import TableMap, parse_table_map
from tests.support.binlog_oracle import (
    OracleRow,
    OracleTransaction,
    OracleView,
    read_with_mariadb_binlog,
    unquote,
)
from tests.support.scan_modes import scan_mode  # noqa: F401 - a fixture: each test runs on both walks
from tests.support.std_data import MISSING, STD_DATA, std_data_binlogs

pytestmark = [
    pytest.mark.usefixtures("scan_mode"),
    pytest.mark.integration,
    pytest.mark.skipif(not STD_DATA.is_dir(), reason=MISSING),
    pytest.mark.skipif(shutil.which("mariadb-binlog") is None, reason="no mariadb-binlog"),
]

FILES = std_data_binlogs() if STD_DATA.is_dir() else []

# Files drkit refuses, and the sentence it must refuse them with.
REFUSED = {
    "master-bin.000001": "format version 2 .* too old",  # MySQL 4.0
    "bug47142_master-bin.000001": "format version 3 .* too old",  # MySQL 4.1
    "binlog_old_version_4_1.000001": "format version 3 .* too old",
    "trunc_binlog.000001": "format version 3 .* too old",
    "binlog_before_20574.bin": "is encrypted",
    "corrupt-relay-bin.000624": r"offset 91204\b",  # the tool stops there too
    "mdev-39404-binlog.000001": r"checksum mismatch in the event at offset 256\b",  # and here
}
# Events the tool cannot read but drkit can: past them, only drkit's records remain.
TOOL_LIMITS = {
    # MariaDB's tool does not know MySQL 8's Transaction_payload events (compressed transactions).
    "mdev35643_mysql_80_binlog.000001": ev.TRANSACTION_PAYLOAD_EVENT,
    # An Incident event of an unknown number: the tool calls it invalid, drkit flags it.
    "bug40482-bin.000001": ev.INCIDENT_EVENT,
}


def test_the_corpus_is_all_there() -> None:
    assert len(FILES) >= 34, [path.name for path in FILES]


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_drkit_reads_what_mariadb_binlog_reads(path: Path) -> None:
    oracle = read_with_mariadb_binlog(path)
    if path.name in REFUSED:
        with pytest.raises(BinlogFormatError, match=REFUSED[path.name]):
            list(scan_file(path))
        return
    scan = scan_file(path)
    ours = list(scan)
    if oracle.error_at is not None:
        assert path.name in TOOL_LIMITS, oracle.output[-500:]
        event_type = path.read_bytes()[oracle.error_at + 4]
        assert event_type == TOOL_LIMITS[path.name]
        beyond = [t for t in ours if t.end_pos > oracle.error_at]
        assert beyond and beyond[0].start_pos <= oracle.error_at
        if event_type == ev.INCIDENT_EVENT:
            assert beyond[0].kind == tx.INCIDENT
        ours = [t for t in ours if t.end_pos <= oracle.error_at]
    else:
        assert scan.stop_reason in ("end of file", "partial event")
    assert [_record(t) for t in ours] == [_expected(t, o) for t, o in _pairs(ours, oracle)]
    assert len(ours) == len(oracle.transactions)


def _pairs(
    ours: list[Transaction], oracle: OracleView
) -> list[tuple[Transaction, OracleTransaction]]:
    return list(zip(ours, oracle.transactions, strict=False))


def _record(t: Transaction) -> tuple[object, ...]:
    counts = {c.name: [c.inserts, c.updates, c.deletes] for c in t.tables}
    if tx.ROWS_UNCOUNTED in t.flags:
        counts = {name: [] for name in counts}
    return (t.start_pos, t.end_pos, sorted(counts), counts, [s.strip() for s in t.statements])


def _expected(t: Transaction, o: OracleTransaction) -> tuple[object, ...]:
    counts: dict[str, list[int]] = {name: [0, 0, 0] for name in o.tables}
    counts.update(o.counts())
    if tx.ROWS_UNCOUNTED in t.flags:
        # Pre-GA rows events: the tool prints "Number of rows: 0" for them, drkit flags them.
        assert not o.rows
        counts = {name: [] for name in counts}
    statements = [s.strip() for s in o.statements]
    if o.wildcard_statement and [_load_data(s) for s in statements] == [
        _load_data(s.strip()) for s in t.statements
    ]:
        # LOAD DATA: the tool names its own temporary file (LOCAL) where the server logged the
        # user's file name; the rest of the statement must agree.
        statements = [s.strip() for s in t.statements]
    return (o.start, o.end, sorted(counts), counts, statements)


def _load_data(statement: str) -> str:
    return re.sub(r"LOAD DATA (?:LOCAL )?INFILE '[^']*'", "LOAD DATA INFILE '*'", statement)


FILES_WITH_ROWS = [path for path in FILES if path.name not in REFUSED]


@pytest.mark.parametrize("path", FILES_WITH_ROWS, ids=[path.name for path in FILES_WITH_ROWS])
def test_every_decoded_value_is_the_one_mariadb_binlog_prints(path: Path) -> None:
    oracle = read_with_mariadb_binlog(path)
    ours = [t for t in scan_file(path) if oracle.error_at is None or t.end_pos <= oracle.error_at]
    compared = 0
    for transaction, expected in _pairs(ours, oracle):
        if not expected.rows:
            continue
        images = decode_rows(path, transaction.row_events)
        tables = _table_maps(path, transaction)
        assert len(images) == len(expected.rows)
        for image, row in zip(images, expected.rows, strict=True):
            compared += _compare_row(image, row, tables)
    if any(t.rows for t in oracle.transactions):
        assert compared > 0


def _table_maps(path: Path, transaction: Transaction) -> dict[str, TableMap]:
    data = path.read_bytes()
    fmt = ev.parse_format_description(data, 4, struct.unpack_from("<I", data, 4 + 9)[0])
    maps: dict[str, TableMap] = {}
    for start, end in transaction.row_events:
        if data[start + 4] == ev.TABLE_MAP_EVENT:
            body = start + fmt.header_len
            post_header_len = fmt.post_header_len(ev.TABLE_MAP_EVENT)
            table = parse_table_map(
                data, body, end - fmt.checksum_len, post_header_len, fmt.mariadb
            )
            maps[f"{table.schema}.{table.table}"] = table
    return maps


def _compare_row(image: RowImage, row: OracleRow, tables: dict[str, TableMap]) -> int:
    operation = {"INSERT INTO": ev.INSERT, "UPDATE": ev.UPDATE, "DELETE FROM": ev.DELETE}
    assert (image.operation, f"{image.schema}.{image.table}") == (
        operation[row.operation],
        row.table,
    )
    ours = [image.after] if image.operation == ev.INSERT else [image.before]
    if image.operation == ev.UPDATE:
        ours.append(image.after)
    assert len(ours) == len(row.images)
    columns = tables[row.table].columns
    compared = 0
    for values, printed in zip(ours, row.images, strict=True):
        assert values is not None
        assert len(values) == len(printed)
        for value, (number, text) in zip(values.values(), printed, strict=True):
            assert _same(value, text, columns[number - 1].collation), (row.table, number, text)
            compared += 1
    return compared


def _same(value: object, text: bytes, collation: int | None) -> bool:
    """Whether drkit's value is what the tool printed: NULL, a number, or a quoted string."""
    raw = unquote(text)
    if raw is None or value is None:
        return raw is None and value is None
    if isinstance(value, int):
        # A negative value is followed by its unsigned reading: "-1 (4294967295)".
        shown = {int(part.strip(b"()")) for part in raw.split()}
        return value in shown
    if isinstance(value, bytes):
        return value == raw
    if isinstance(value, str):
        return value == decode_text(raw, collation)
    return str(value).encode() == raw
