"""The reader's faults of issue 15, each on a real binlog of MariaDB's test suite or on the
fixture (a MariaDB 10.11 file) with the damage the fault needs, checksums not verified."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from drkit.binlog import BinlogFormatError, scan_bytes, scan_file
from drkit.binlog import events as ev
from drkit.binlog import transaction as tx
from drkit.binlog.charsets import MULTI_BYTE_CODECS, decoder_for
from drkit.binlog.collations import BYTE_TABLES, COLLATIONS
from drkit.binlog.rows import decode_rows, decode_rows_bytes
from tests.support.scan_modes import scan_mode  # noqa: F401 - a fixture: each test runs on both walks
from tests.support.std_data import MISSING, STD_DATA, std_file

pytestmark = pytest.mark.usefixtures("scan_mode")

needs_std_data = pytest.mark.skipif(not STD_DATA.is_dir(), reason=MISSING)
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "binlog" / "bin.000001"


def test_every_collation_id_has_a_decoder_and_latin1_loses_nothing() -> None:
    assert len(COLLATIONS) > 1200
    for collation_id, (_name, charset) in COLLATIONS.items():
        decode = decoder_for(collation_id)
        assert (decode is None) == (charset == "binary"), collation_id
        if decode is not None:
            codec = MULTI_BYTE_CODECS.get(charset, "ascii")
            assert decode("Az".encode(codec)) == "Az", collation_id
    latin1 = decoder_for(8)
    assert latin1 is not None
    assert latin1(bytes(range(256))) == BYTE_TABLES["latin1"]
    assert latin1(b"\x81\x8d\x8f\x90\x9d\x80") == "\x81\x8d\x8f\x90\x9d€"


@needs_std_data
@pytest.mark.parametrize(
    "name",
    [
        "mdev-4645-binlog_none.binlog",
        "mdev-4645-binlog_checksum.binlog",  # 23-byte event headers
        "mdev-4645-binlog_group_id.binlog",  # 27
        "mdev-4645-binlog_group_id_checksum.binlog",  # 31
    ],
)
def test_the_common_header_length_of_the_format_description_is_honoured(name: str) -> None:
    scanned = list(scan_file(std_file(name)))
    assert [(t.kind, t.statements) for t in scanned] == [
        ("ddl", ("create table test.t1 (id int not null)",)),
        ("dml", ("insert into test.t1 (id) values (1)",)),
        ("ddl", ("drop table test.t1",)),
    ]


@needs_std_data
@pytest.mark.parametrize("name", ["ver_5_1_17.001", "ver_5_1-telco.001", "bug32407.001"])
def test_pre_ga_rows_events_name_their_table_and_flag_their_rows_uncounted(name: str) -> None:
    scanned = [t for t in scan_file(std_file(name)) if t.row_events]
    assert scanned
    for transaction in scanned:
        assert [t.name for t in transaction.tables] == ["test.t1"]
        assert tx.ROWS_UNCOUNTED in transaction.flags
        assert transaction.kind == "dml"
    # Their table maps carry no column metadata either.
    with pytest.raises(BinlogFormatError, match=r"pre-GA|no column metadata"):
        decode_rows(std_file(name), scanned[0].row_events)


@needs_std_data
def test_an_incident_event_is_a_record_of_its_own() -> None:
    scan = scan_file(std_file("bug40482-bin.000001"))
    (incident,) = list(scan)
    assert (incident.start_pos, incident.end_pos, incident.kind) == (106, 128, tx.INCIDENT)
    assert tx.BINLOG_INCIDENT in incident.flags
    assert incident.statements == ("binlog incident unknown incident 66",)
    assert scan.finished and scan.next_file == "master-bin.000003"


def test_a_lost_events_incident_names_its_message() -> None:
    data = bytearray(FIXTURE.read_bytes())
    size = struct.unpack_from("<I", data, 4 + 9)[0]
    end = 4 + size
    message = b"error writing to the binary log"
    body = struct.pack("<H", 1) + bytes([len(message)]) + message
    crc_len = 4
    event = struct.pack("<IBIIIH", 1, ev.INCIDENT_EVENT, 1, 19 + len(body) + crc_len, 0, 0) + body
    data[end:end] = event + b"\0" * crc_len
    scanned = list(scan_bytes(bytes(data), "bin.000001", verify_checksums=False))
    assert scanned[0].kind == tx.INCIDENT
    assert scanned[0].statements == (
        "binlog incident LOST_EVENTS: error writing to the binary log",
    )
    assert scanned[0].start_pos == end
    assert len(scanned) == len(list(scan_file(FIXTURE))) + 1


@needs_std_data
def test_a_query_whose_status_variables_overrun_the_event_is_an_error() -> None:
    data = bytearray(std_file("mariadb-5.5-binlog.000001").read_bytes())
    data[275:277] = b"\x42\x35"
    with pytest.raises(BinlogFormatError, match=r"offset 245\b.*status variables"):
        list(scan_bytes(bytes(data), "mariadb-5.5-binlog.000001"))


@needs_std_data
def test_a_corrupt_relay_log_stops_with_the_offset_not_a_finished_file() -> None:
    scan = scan_file(std_file("corrupt-relay-bin.000624"))
    seen = 0
    with pytest.raises(BinlogFormatError, match=r"offset 91204\b"):
        for _transaction in scan:
            seen += 1
    assert seen == 228
    assert not scan.finished


@needs_std_data
@pytest.mark.parametrize(
    "name",
    [
        "master-bin.000001",
        "bug47142_master-bin.000001",
        "binlog_old_version_4_1.000001",
        "trunc_binlog.000001",
    ],
)
def test_mysql_4_binlogs_are_refused_as_too_old(name: str) -> None:
    with pytest.raises(BinlogFormatError, match=r"format version [23] .* too old"):
        list(scan_file(std_file(name)))
    with pytest.raises(BinlogFormatError, match="too old"):
        decode_rows(std_file(name), [])


def _first_rows_event(data: bytes) -> tuple[int, int, int]:
    """(start, end, post-header start) of the fixture's first rows event (MariaDB: v1)."""
    pos = 4
    while True:
        event_type, size = data[pos + 4], struct.unpack_from("<I", data, pos + 9)[0]
        if event_type in ev.ROWS_EVENTS:
            return pos, pos + size, pos + 19
        pos += size


def test_a_rows_event_with_no_column_present_ends() -> None:
    data = bytearray(FIXTURE.read_bytes())
    start, end, body = _first_rows_event(bytes(data))
    ncols = data[body + 8]
    data[body + 9 : body + 9 + (ncols + 7) // 8] = bytes((ncols + 7) // 8)
    scanned = list(scan_bytes(bytes(data), "bin.000001", verify_checksums=False))
    broken = next(t for t in scanned if t.start_pos <= start < t.end_pos)
    assert tx.ROWS_UNCOUNTED in broken.flags
    table_map = broken.row_events[0]
    with pytest.raises(BinlogFormatError, match=rf"offset {start}\b.*no column"):
        decode_rows_bytes(bytes(data), [table_map, (start, end)])


# (what the damage is, offset relative to the first rows event or "fde", bytes written there)
DAMAGE = [
    ("format description cut short", "fde-size", struct.pack("<I", 40)),
    ("post-header lengths of garbage", "fde-lens", b"\xff" * 8),
    ("table map column count past the event", "map+27", b"\xfc\xff\xff"),
    ("table map metadata length past the event", "map+30", b"\xfd\xff\xff\xff"),
    ("rows event column count of 2**64", "rows+27", b"\xfe" + b"\xff" * 8),
    ("rows event of an impossible size", "rows+9", struct.pack("<I", 3)),
    ("rows event of an unknown type", "rows+4", b"\x99"),
    ("rows event turned into a MySQL-only type", "rows+4", b"\x28"),
]


def test_a_damaged_event_size_is_caught_by_the_end_position_in_its_header() -> None:
    data = bytearray(FIXTURE.read_bytes())
    start, end, _body = _first_rows_event(bytes(data))
    struct.pack_into("<I", data, start + 9, end - start + 1)
    with pytest.raises(BinlogFormatError, match=rf"offset {start} says it ends at {end}\b"):
        list(scan_bytes(bytes(data), "bin.000001", verify_checksums=False))


@pytest.mark.parametrize(("what", "where", "damage"), DAMAGE, ids=[d[0] for d in DAMAGE])
def test_corrupt_input_raises_only_binlog_format_errors_naming_an_offset(
    what: str, where: str, damage: bytes
) -> None:
    data = bytearray(FIXTURE.read_bytes())
    start, end, _body = _first_rows_event(bytes(data))
    map_start = next(
        a for a, b in _events(bytes(data)) if b == start and data[a + 4] == ev.TABLE_MAP_EVENT
    )
    offsets = {"fde-size": 4 + 9, "fde-lens": 4 + 19 + 57, "map": map_start, "rows": start}
    base, _, delta = where.partition("+")
    at = offsets[where] if where in offsets else offsets[base] + int(delta)
    data[at : at + len(damage)] = damage
    outcome: list[object] = []
    try:
        outcome = list(scan_bytes(bytes(data), "bin.000001", verify_checksums=False))
    except BinlogFormatError as exc:
        assert re.search(r"offset \d+", str(exc)), what
    try:
        outcome = decode_rows_bytes(bytes(data), [(map_start, start), (start, end)])
    except BinlogFormatError as exc:
        assert re.search(r"offset \d+|format description|no event", str(exc)), what
    assert outcome is not None


def _events(data: bytes) -> list[tuple[int, int]]:
    out = []
    pos = 4
    while pos + 19 <= len(data):
        size = struct.unpack_from("<I", data, pos + 9)[0]
        out.append((pos, pos + size))
        pos += size
    return out
