"""Binlog event framing for MariaDB and MySQL: header layout, event type codes, the format
description event (header and post-header lengths, checksum algorithm) and small field readers.

Everything here works on a buffer (bytes, mmap or memoryview) and an offset; nothing does I/O.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

from drkit.errors import DrkitError

BINLOG_MAGIC = b"\xfebin"
HEADER_LEN = 19
CHECKSUM_LEN = 4

# The v4 common header: timestamp, type, server_id, event size, end position, flags.
HEADER = struct.Struct("<IBIIIH")
U16 = struct.Struct("<H")
U32 = struct.Struct("<I")
U64 = struct.Struct("<Q")

# Header flag the server keeps set on the format description event while the file is open.
LOG_EVENT_BINLOG_IN_USE_F = 0x1
# Header flag of an event a reader that does not know its type may skip.
LOG_EVENT_IGNORABLE_F = 0x80

# Common event types.
START_EVENT_V3 = 1  # MySQL 3.23 - 4.x (binlog format v1 and v3): no format description event
QUERY_EVENT = 2
STOP_EVENT = 3
ROTATE_EVENT = 4
INTVAR_EVENT = 5
RAND_EVENT = 13
USER_VAR_EVENT = 14
FORMAT_DESCRIPTION_EVENT = 15
XID_EVENT = 16
BEGIN_LOAD_QUERY_EVENT = 17
EXECUTE_LOAD_QUERY_EVENT = 18
TABLE_MAP_EVENT = 19
PRE_GA_WRITE_ROWS_EVENT = 20  # MySQL 5.1.0 - 5.1.15: rows events whose table maps carry no
PRE_GA_UPDATE_ROWS_EVENT = 21  # column metadata, so their rows cannot be sized (or counted)
PRE_GA_DELETE_ROWS_EVENT = 22
WRITE_ROWS_EVENT_V1 = 23
UPDATE_ROWS_EVENT_V1 = 24
DELETE_ROWS_EVENT_V1 = 25
INCIDENT_EVENT = 26
HEARTBEAT_LOG_EVENT = 27
IGNORABLE_LOG_EVENT = 28

# MySQL 5.6+ / 8.
ROWS_QUERY_LOG_EVENT = 29
WRITE_ROWS_EVENT = 30
UPDATE_ROWS_EVENT = 31
DELETE_ROWS_EVENT = 32
GTID_LOG_EVENT = 33
ANONYMOUS_GTID_LOG_EVENT = 34
PREVIOUS_GTIDS_LOG_EVENT = 35
TRANSACTION_CONTEXT_EVENT = 36
VIEW_CHANGE_EVENT = 37
XA_PREPARE_LOG_EVENT = 38  # MariaDB 10.5+ uses the same code
PARTIAL_UPDATE_ROWS_EVENT = 39
TRANSACTION_PAYLOAD_EVENT = 40
HEARTBEAT_LOG_EVENT_V2 = 41
GTID_TAGGED_LOG_EVENT = 42

# MariaDB.
ANNOTATE_ROWS_EVENT = 160
BINLOG_CHECKPOINT_EVENT = 161
GTID_EVENT = 162
GTID_LIST_EVENT = 163
START_ENCRYPTION_EVENT = 164
QUERY_COMPRESSED_EVENT = 165
WRITE_ROWS_COMPRESSED_EVENT_V1 = 166
UPDATE_ROWS_COMPRESSED_EVENT_V1 = 167
DELETE_ROWS_COMPRESSED_EVENT_V1 = 168
WRITE_ROWS_COMPRESSED_EVENT = 169
UPDATE_ROWS_COMPRESSED_EVENT = 170
DELETE_ROWS_COMPRESSED_EVENT = 171

# Every type MySQL (up to 8.4) and MariaDB (up to 11.4) write; anything else is a corrupt event
# unless it carries LOG_EVENT_IGNORABLE_F.
KNOWN_EVENT_TYPES = frozenset(range(1, GTID_TAGGED_LOG_EVENT + 1)) | frozenset(
    range(ANNOTATE_ROWS_EVENT, DELETE_ROWS_COMPRESSED_EVENT + 1)
)

# Start_v3, Load, Slave, Create_file, Exec_load, New_load (MySQL 3.23-4.x) and heartbeats (sent
# to replicas, never written to a file).
_NOT_IN_V4_FILES = frozenset({1, 6, 7, 8, 10, 12, 27, 41})

# Row operations, as the letters used in counters and row images.
INSERT = "insert"
UPDATE = "update"
DELETE = "delete"

# Rows event type -> (operation, rows v2 post-header with extra data, MariaDB zlib-compressed).
ROWS_EVENTS: dict[int, tuple[str, bool, bool]] = {
    WRITE_ROWS_EVENT_V1: (INSERT, False, False),
    UPDATE_ROWS_EVENT_V1: (UPDATE, False, False),
    DELETE_ROWS_EVENT_V1: (DELETE, False, False),
    WRITE_ROWS_EVENT: (INSERT, True, False),
    UPDATE_ROWS_EVENT: (UPDATE, True, False),
    DELETE_ROWS_EVENT: (DELETE, True, False),
    PARTIAL_UPDATE_ROWS_EVENT: (UPDATE, True, False),
    WRITE_ROWS_COMPRESSED_EVENT_V1: (INSERT, False, True),
    UPDATE_ROWS_COMPRESSED_EVENT_V1: (UPDATE, False, True),
    DELETE_ROWS_COMPRESSED_EVENT_V1: (DELETE, False, True),
    WRITE_ROWS_COMPRESSED_EVENT: (INSERT, True, True),
    UPDATE_ROWS_COMPRESSED_EVENT: (UPDATE, True, True),
    DELETE_ROWS_COMPRESSED_EVENT: (DELETE, True, True),
}
PRE_GA_ROWS_EVENTS: dict[int, str] = {
    PRE_GA_WRITE_ROWS_EVENT: INSERT,
    PRE_GA_UPDATE_ROWS_EVENT: UPDATE,
    PRE_GA_DELETE_ROWS_EVENT: DELETE,
}

# Rows event flag: the last rows event of a statement (a statement outside BEGIN ends there).
STMT_END_F = 0x0001

# Incident event numbers (MariaDB and MySQL agree on these).
INCIDENTS = {0: "NONE", 1: "LOST_EVENTS"}

# Checksum algorithms named in the format description event.
CHECKSUM_OFF = 0
CHECKSUM_CRC32 = 1
CHECKSUM_UNDEFINED = 255


class BinlogFormatError(DrkitError):
    """The bytes are not a binlog drkit can read (bad magic, encryption, a corrupt event)."""


# What decoding a corrupt event can raise besides BinlogFormatError.
DECODING_ERRORS = (struct.error, IndexError, ValueError, KeyError, OverflowError, zlib.error)


def corrupt_event(file: str, pos: int, exc: Exception) -> BinlogFormatError:
    """`exc`, raised while decoding the event at `pos`, as a BinlogFormatError naming that offset
    (an error that names an offset already is returned as it is)."""
    if isinstance(exc, BinlogFormatError):
        if "offset" in exc.message:
            return exc
        detail = exc.message
    else:
        detail = f"{type(exc).__name__}: {exc}"
    return BinlogFormatError(
        f"{file}: the event at offset {pos} is corrupt ({detail})",
        hint="the file is damaged at that offset; compare it with the server's copy",
    )


@dataclass(frozen=True)
class FormatDescription:
    """What the format description event says about every later event of its file."""

    binlog_version: int
    server_version: str
    created: int
    header_len: int
    post_header_lens: bytes  # indexed by event type, 256 entries (declared or default)
    checksum: int

    @property
    def mariadb(self) -> bool:
        return "mariadb" in self.server_version.lower()

    @property
    def checksum_len(self) -> int:
        return CHECKSUM_LEN if self.checksum == CHECKSUM_CRC32 else 0

    def post_header_len(self, event_type: int) -> int:
        """The post-header length the server declared for an event type (or the usual one)."""
        return self.post_header_lens[event_type]

    @property
    def writes_checksum_byte(self) -> bool:
        """Whether the server is MySQL 5.6.1+ or MariaDB 5.3+ (binlog checksums exist)."""
        return _version_has_checksum(self.server_version)

    def never_writes(self, event_type: int) -> bool:
        """Whether this file's server cannot have written an event of this type: the types of
        format versions 1 and 3 and of the network protocol (heartbeats), MariaDB's own types
        from MySQL, and MySQL 5.6's (Rows_query, MySQL GTIDs, ...) from MariaDB or an older MySQL."""
        if event_type in _NOT_IN_V4_FILES:
            return True
        if event_type >= ANNOTATE_ROWS_EVENT:
            return not self.mariadb
        if not ROWS_QUERY_LOG_EVENT <= event_type <= GTID_TAGGED_LOG_EVENT:
            return False
        if self.mariadb:
            return event_type != XA_PREPARE_LOG_EVENT
        return _version(self.server_version) < (5, 6, 0)


def parse_format_description(buf: bytes, pos: int, size: int) -> FormatDescription:
    """Decode the format description event occupying buf[pos:pos+size]."""
    body = pos + HEADER_LEN
    lens_start = body + 57
    end = pos + size
    if lens_start > end or end > len(buf):
        raise BinlogFormatError(f"format description event at offset {pos} is too short")
    (binlog_version,) = U16.unpack_from(buf, body)
    raw_version = bytes(buf[body + 2 : body + 52])
    server_version = raw_version.split(b"\0", 1)[0].decode("ascii", errors="replace")
    (created,) = U32.unpack_from(buf, body + 52)
    header_len = buf[body + 56]
    if not _SERVER_VERSION.match(server_version):
        raise BinlogFormatError(
            f"format description event at offset {pos} names no server version "
            f"({server_version[:20]!r})"
        )
    if binlog_version != 4 or header_len < HEADER_LEN:
        raise BinlogFormatError(
            f"format description event at offset {pos} declares binlog version {binlog_version} "
            f"and {header_len}-byte event headers: not a v4 binlog this reader knows"
        )
    checksum = CHECKSUM_OFF
    lens_end = end
    if _version_has_checksum(server_version):
        # The algorithm byte and (when on) the CRC itself close the event.
        lens_end = end - CHECKSUM_LEN - 1
        if lens_end < lens_start:
            raise BinlogFormatError(f"format description event at offset {pos} is too short")
        checksum = buf[lens_end]
        if checksum not in (CHECKSUM_OFF, CHECKSUM_CRC32, CHECKSUM_UNDEFINED):
            raise BinlogFormatError(
                f"unknown binlog checksum algorithm {checksum} in the format description event "
                f"at offset {pos}"
            )
        if checksum == CHECKSUM_UNDEFINED:
            checksum = CHECKSUM_OFF
    lens = bytearray(_DEFAULT_POST_HEADER_LENS)
    declared = bytes(buf[lens_start:lens_end])
    for event_type, length in enumerate(declared[:255], start=1):
        if length:  # 0: a type this server never writes (pre-GA rows events, MySQL's own)
            lens[event_type] = length
    problem = _unreadable_post_header_len(lens)
    if problem:
        raise BinlogFormatError(f"format description event at offset {pos} declares {problem}")
    return FormatDescription(
        binlog_version=binlog_version,
        server_version=server_version,
        created=created,
        header_len=header_len,
        post_header_lens=bytes(lens),
        checksum=checksum,
    )


_SERVER_VERSION = re.compile(r"\d+\.\d+\.\d+")


def _unreadable_post_header_len(lens: bytearray) -> str:
    """What is wrong with the post-header lengths this reader relies on ("" when nothing)."""
    allowed = {
        QUERY_EVENT: range(11, 256),
        QUERY_COMPRESSED_EVENT: range(11, 256),
        EXECUTE_LOAD_QUERY_EVENT: range(11, 256),
        TABLE_MAP_EVENT: (6, 8),
        INCIDENT_EVENT: range(2, 256),
    }
    for event_type, (_operation, v2, _compressed) in ROWS_EVENTS.items():
        allowed[event_type] = range(10, 256) if v2 else (6, 8)
    for event_type in PRE_GA_ROWS_EVENTS:
        allowed[event_type] = (6, 8)
    for event_type, lengths in allowed.items():
        if lens[event_type] not in lengths:
            return f"a post-header length of {lens[event_type]} for event type {event_type}"
    return ""


def too_old_message(file: str, buf: bytes) -> str:
    """Why a file starting with a Start_v3 event (MySQL 3.23 to 4.x) cannot be read."""
    version = bytes(buf[4 + HEADER_LEN : 4 + HEADER_LEN + 2])
    server = bytes(buf[4 + HEADER_LEN + 2 : 4 + HEADER_LEN + 52]).split(b"\0", 1)[0]
    number = int.from_bytes(version, "little") if len(version) == 2 else "?"
    return (
        f"{file} is a binlog of format version {number} written by "
        f"{server.decode('ascii', errors='replace') or 'an unknown server'}: that format is too "
        "old for drkit, which reads format version 4 (MySQL 5.0 and later, every MariaDB)"
    )


def _default_post_header_lens() -> bytes:
    """Post-header lengths of current servers, for event types an FDE does not list."""
    lens = bytearray(256)
    lens[QUERY_EVENT] = lens[QUERY_COMPRESSED_EVENT] = 13
    lens[EXECUTE_LOAD_QUERY_EVENT] = 26
    lens[ROTATE_EVENT] = 8
    lens[TABLE_MAP_EVENT] = 8
    lens[INCIDENT_EVENT] = 2
    for event_type, (_operation, v2, _compressed) in ROWS_EVENTS.items():
        lens[event_type] = 10 if v2 else 8
    for event_type in PRE_GA_ROWS_EVENTS:
        lens[event_type] = 8
    return bytes(lens)


_DEFAULT_POST_HEADER_LENS = _default_post_header_lens()


def _version_has_checksum(server_version: str) -> bool:
    """Servers from MySQL 5.6.1 and MariaDB 5.3 write the checksum algorithm byte."""
    version = _version(server_version)
    if "mariadb" in server_version.lower():
        return version[:2] >= (5, 3)
    return version >= (5, 6, 1)


def _version(server_version: str) -> tuple[int, int, int]:
    """(major, minor, patch) of a server version string such as "10.11.6-MariaDB-log"."""
    digits = server_version.split("-", 1)[0].split(".")
    numbers = [int("".join(c for c in part if c.isdigit()) or 0) for part in digits[:3]]
    numbers += [0] * (3 - len(numbers))
    return numbers[0], numbers[1], numbers[2]


def event_checksum_ok(buf: bytes, pos: int, size: int, event_type: int) -> bool:
    """Whether an event's trailing CRC32 matches its bytes."""
    end = pos + size
    stored: int = U32.unpack_from(buf, end - CHECKSUM_LEN)[0]
    if event_type == FORMAT_DESCRIPTION_EVENT and buf[pos + 17] & LOG_EVENT_BINLOG_IN_USE_F:
        # The server computes this CRC with the in-use flag cleared and flips it in place later.
        data = bytearray(buf[pos : end - CHECKSUM_LEN])
        data[17] &= ~LOG_EVENT_BINLOG_IN_USE_F & 0xFF
        return zlib.crc32(data) == stored
    return zlib.crc32(buf[pos : end - CHECKSUM_LEN]) == stored


def read_packed_int(buf: bytes, pos: int) -> tuple[int, int]:
    """Read a length-encoded integer; returns (value, next position)."""
    first = buf[pos]
    if first < 251:
        return first, pos + 1
    if first == 252:
        return buf[pos + 1] | buf[pos + 2] << 8, pos + 3
    if first == 253:
        return buf[pos + 1] | buf[pos + 2] << 8 | buf[pos + 3] << 16, pos + 4
    if first == 254:
        return U64.unpack_from(buf, pos + 1)[0], pos + 9
    raise BinlogFormatError(f"invalid length-encoded integer prefix {first} at {pos}")


# MariaDB Gtid_log_event flags2 (the scan reads the GTID event inline, for speed).
FL_STANDALONE = 0x01  # no BEGIN: the event group is one statement (DDL and the like)
FL_GROUP_COMMIT_ID = 0x02  # an 8-byte commit id follows the flags
FL_PREPARED_XA = 0x40  # the group ends with an XA_PREPARE event
FL_COMPLETED_XA = 0x80  # an XA COMMIT/ROLLBACK of a group prepared earlier

MARIADB_GTID = struct.Struct("<QIB")  # sequence number, domain id, flags2


def mysql_gtid_text(buf: bytes, body: int, event_type: int) -> str | None:
    """The `uuid:number` of a MySQL GTID event; None for an anonymous GTID event."""
    if event_type == ANONYMOUS_GTID_LOG_EVENT:
        return None
    sid = bytes(buf[body + 1 : body + 17]).hex()
    (gno,) = U64.unpack_from(buf, body + 17)
    return f"{_uuid_text(sid)}:{gno}"


def _uuid_text(sid: str) -> str:
    return f"{sid[:8]}-{sid[8:12]}-{sid[12:16]}-{sid[16:20]}-{sid[20:]}"


# Gtid_tagged_log_event (MySQL 8.3+) is written with MySQL's serialization library
# (libs/mysql/serialization/readme.md): a version number (1), the message's size counted from
# the version byte on, the last non-ignorable field id, then (field id, value) pairs. Field ids
# of the GTID message: 0 flags, 1 source uuid (16 varlen bytes), 2 gno (signed), 3 tag (a
# length-prefixed string); the later fields (commit timestamps, lengths, versions) are not
# needed to name the transaction, and reading stops at the first of them.
_TAGGED_VERSION = 1
_TAGGED_FLAGS, _TAGGED_UUID, _TAGGED_GNO, _TAGGED_TAG = 0, 1, 2, 3


def tagged_gtid_text(buf: bytes, body: int, body_end: int) -> str:
    """The `uuid:tag:number` of a MySQL 8.3+ tagged GTID event (an untagged one in this
    format reads `uuid:number`). A malformed body is a BinlogFormatError."""
    version, pos = read_varlen_uint(buf, body, body_end)
    if version != _TAGGED_VERSION:
        raise BinlogFormatError(f"a tagged GTID event of serialization version {version}")
    size, pos = read_varlen_uint(buf, pos, body_end)
    end = body + size
    if end > body_end or end <= pos:
        raise BinlogFormatError("a tagged GTID event whose size runs past it")
    _last_non_ignorable, pos = read_varlen_uint(buf, pos, end)
    sid: bytes | None = None
    gno: int | None = None
    tag = ""
    while pos < end:
        field, pos = read_varlen_uint(buf, pos, end)
        if field == _TAGGED_FLAGS:
            _, pos = read_varlen_uint(buf, pos, end)
        elif field == _TAGGED_UUID:
            octets = bytearray()
            for _ in range(16):
                octet, pos = read_varlen_uint(buf, pos, end)
                if octet > 0xFF:
                    raise BinlogFormatError("a tagged GTID event with a uuid byte over 255")
                octets.append(octet)
            sid = bytes(octets)
        elif field == _TAGGED_GNO:
            zigzag, pos = read_varlen_uint(buf, pos, end)
            gno = -((zigzag >> 1) + 1) if zigzag & 1 else zigzag >> 1
        elif field == _TAGGED_TAG:
            length, pos = read_varlen_uint(buf, pos, end)
            if pos + length > end:
                raise BinlogFormatError("a tagged GTID event whose tag runs past it")
            tag = bytes(buf[pos : pos + length]).decode("ascii", "replace")
            pos += length
        else:
            break
    if sid is None or gno is None or gno <= 0:
        raise BinlogFormatError("a tagged GTID event without its source uuid or number")
    prefix = _uuid_text(sid.hex())
    return f"{prefix}:{tag}:{gno}" if tag else f"{prefix}:{gno}"


def read_varlen_uint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """A variable-length integer of MySQL's serialization library: the count of trailing one
    bits of the first byte, plus one, is the number of bytes; the rest is the value."""
    if pos >= end:
        raise BinlogFormatError(f"a variable-length integer at {pos} past its event")
    first = buf[pos]
    width = 1
    while width < 9 and first >> (width - 1) & 1:
        width += 1
    if pos + width > end:
        raise BinlogFormatError(f"a variable-length integer at {pos} past its event")
    if width == 1:
        return first >> 1, pos + 1
    rest = int.from_bytes(bytes(buf[pos + 1 : pos + width]), "little")
    if width == 9:
        return rest, pos + 9
    return first >> width | rest << (8 - width), pos + width


@dataclass(frozen=True)
class QueryInfo:
    """A Query event's default schema and statement text."""

    schema: str
    text: str


_QUERY_POST_HEADER = struct.Struct("<IIBHH")


def parse_query(
    buf: bytes, body: int, body_end: int, post_header_len: int, compressed: bool
) -> QueryInfo:
    """Decode a Query (or MariaDB Query_compressed) event body into its schema and text.

    Status variables or a schema name running past the event make it a corrupt event (the
    server refuses to read it too).
    """
    if body + post_header_len > body_end:
        raise BinlogFormatError("a query event shorter than its post-header")
    _thread, _exec_time, db_len, _error, status_len = _QUERY_POST_HEADER.unpack_from(buf, body)
    schema_start = body + post_header_len + status_len
    text_start = schema_start + db_len + 1
    if text_start > body_end:
        raise BinlogFormatError(
            f"a query event whose status variables ({status_len} bytes) and schema name "
            f"({db_len} bytes) run past its end"
        )
    if status_len:
        check_status_vars(bytes(buf[schema_start - status_len : schema_start]))
    schema = bytes(buf[schema_start : schema_start + db_len]).decode("utf-8", errors="replace")
    raw = bytes(buf[text_start:body_end])
    if compressed:
        raw = decompress_mariadb(raw)
    return QueryInfo(schema, raw.decode("utf-8", errors="replace"))


def check_execute_load_query(buf: bytes, body: int, body_end: int, post_header_len: int) -> None:
    """Raise when an Execute_load_query event's file name span lies outside its statement."""
    if post_header_len < 26:
        raise BinlogFormatError("an Execute_load_query event without its file name span")
    db_len, status_len = buf[body + 8], U16.unpack_from(buf, body + 11)[0]
    statement_len = body_end - (body + post_header_len + status_len + db_len + 1)
    start, end = U32.unpack_from(buf, body + 17)[0], U32.unpack_from(buf, body + 21)[0]
    if start > statement_len or end > statement_len or buf[body + 25] > 2:
        raise BinlogFormatError("an Execute_load_query event whose file name is not in it")


# Status variables of a Query event whose size both MariaDB and MySQL agree on: code -> bytes
# after the code (None: a length byte, then that many bytes). As the servers do, reading stops
# at the first code not listed here; a listed one running past the block is a corrupt event.
_STATUS_VAR_SIZES: dict[int, int | None] = {
    0: 4,  # Q_FLAGS2_CODE
    1: 8,  # Q_SQL_MODE_CODE
    3: 4,  # Q_AUTO_INCREMENT
    4: 6,  # Q_CHARSET_CODE
    5: None,  # Q_TIME_ZONE_CODE
    6: None,  # Q_CATALOG_NZ_CODE
    7: 2,  # Q_LC_TIME_NAMES_CODE
    8: 2,  # Q_CHARSET_DATABASE_CODE
    9: 8,  # Q_TABLE_MAP_FOR_UPDATE_CODE
    10: 4,  # Q_MASTER_DATA_WRITTEN_CODE
    13: 3,  # Q_MICROSECONDS
    128: 3,  # Q_HRNOW (MariaDB)
    129: 8,  # Q_XID (MariaDB)
    130: 1,  # Q_GTID_FLAGS3 (MariaDB)
}
_Q_CATALOG_CODE = 2  # MySQL 5.0.0-5.0.3: length byte, text, zero byte
_Q_INVOKER = 11  # two length-prefixed strings: user and host
_Q_UPDATED_DB_NAMES = 12  # a count, then as many zero-terminated names (254: too many to list)


def check_status_vars(block: bytes) -> None:
    """Walk a Query event's status variables; raise when one runs past the block."""
    pos = 0
    end = len(block)
    while pos < end:
        code = block[pos]
        pos += 1
        size = _STATUS_VAR_SIZES.get(code, -1)
        if size is None:
            pos += 1 + (block[pos] if pos < end else 0)
        elif size >= 0:
            pos += size
        elif code == _Q_CATALOG_CODE:
            pos += 2 + (block[pos] if pos < end else 0)
        elif code == _Q_INVOKER:
            for _ in range(2):
                pos += 1 + (block[pos] if pos < end else 0)
        elif code == _Q_UPDATED_DB_NAMES and pos < end:
            count = block[pos]
            pos += 1
            for _ in range(count if count != 254 else 0):
                zero = block.find(b"\0", pos)
                pos = end + 1 if zero < 0 else zero + 1
        else:
            return  # a code this reader does not know: the rest is skipped, as servers do
        if pos > end:
            raise BinlogFormatError(f"a query event whose status variable {code} runs past them")


def decompress_mariadb(data: bytes) -> bytes:
    """Inflate a MariaDB compressed payload: a header byte 0x8N, N big-endian length bytes, zlib."""
    if not data:
        return data
    header = data[0]
    length_bytes = header & 0x07
    if not header & 0x80 or length_bytes == 0 or length_bytes > 4:
        raise BinlogFormatError(f"unexpected compressed event header byte {header:#x}")
    expected = int.from_bytes(data[1 : 1 + length_bytes], "big")
    try:
        out = zlib.decompress(data[1 + length_bytes :])
    except zlib.error as exc:
        raise BinlogFormatError(f"cannot inflate a compressed event: {exc}") from exc
    if len(out) != expected:
        raise BinlogFormatError(
            f"compressed event inflated to {len(out)} bytes, header says {expected}"
        )
    return out


def parse_rotate(buf: bytes, body: int, body_end: int, post_header_len: int) -> tuple[str, int]:
    """The next file name and position named by a Rotate event."""
    if body + 8 > body_end:
        raise BinlogFormatError("a rotate event shorter than its position")
    (position,) = U64.unpack_from(buf, body)
    name = bytes(buf[body + (post_header_len or 8) : body_end]).decode("utf-8", errors="replace")
    return name, position
