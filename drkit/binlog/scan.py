"""Scanning a binlog file into per-transaction records for the index, without decoding rows.

`scan_file(path, start_pos)` yields each complete transaction; the returned scan object's
`position` then says where the next scan of the same file must resume. A file still being
written may end in a partial event or an unfinished transaction: that is not an error, those
bytes are simply left for the next scan.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import struct
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from drkit.binlog import events as ev
from drkit.binlog.compiled import compiled_scanner
from drkit.binlog.events import (
    HEADER,
    HEADER_LEN,
    BinlogFormatError,
    FormatDescription,
    event_checksum_ok,
    parse_format_description,
)
from drkit.binlog.files import map_file
from drkit.binlog.payload import payload_events
from drkit.binlog.rowcount import RowCounter, build_row_counter, present_columns
from drkit.binlog.tablemap import (
    TableMap,
    UnreadableColumns,
    parse_table_map,
    parse_table_name,
)
from drkit.binlog.transaction import (
    COMPRESSED,
    DML,
    OTHER,
    ROWS_UNCOUNTED,
    STANDALONE,
    XA_PREPARE,
    TableChange,
    Transaction,
    TransactionBuilder,
)

if TYPE_CHECKING:
    from drkit.binlog._scanner import Walker

_U16 = struct.Struct("<H").unpack_from
_U32 = struct.Struct("<I").unpack_from
_MARIADB_GTID = ev.MARIADB_GTID.unpack_from
_OPERATION_INDEX = {ev.INSERT: 0, ev.UPDATE: 1, ev.DELETE: 2}
# Rows event type -> (type, counter index of its operation, is an update, v2 header, compressed).
_ROWS = {
    event_type: (event_type, _OPERATION_INDEX[operation], operation == ev.UPDATE, v2, compressed)
    for event_type, (operation, v2, compressed) in ev.ROWS_EVENTS.items()
}
_GROUP_EVENTS = frozenset(
    {
        ev.INTVAR_EVENT,
        ev.RAND_EVENT,
        ev.USER_VAR_EVENT,
        ev.BEGIN_LOAD_QUERY_EVENT,
        ev.ANNOTATE_ROWS_EVENT,
        ev.ROWS_QUERY_LOG_EVENT,
    }
)
_QUERY_EVENTS = frozenset({ev.QUERY_EVENT, ev.QUERY_COMPRESSED_EVENT, ev.EXECUTE_LOAD_QUERY_EVENT})
_MYSQL_GTID_EVENTS = frozenset(
    {ev.GTID_LOG_EVENT, ev.ANONYMOUS_GTID_LOG_EVENT, ev.GTID_TAGGED_LOG_EVENT}
)
_ENDING_EVENTS = frozenset({ev.XID_EVENT, ev.XA_PREPARE_LOG_EVENT})


def scan_file(
    path: str | os.PathLike[str],
    start_pos: int | None = None,
    *,
    verify_checksums: bool = True,
    table_maps: TableMapCache | None = None,
) -> BinlogScan:
    """Scan one binlog file from `start_pos` (a transaction boundary; default: the beginning).

    Iterate the result for the complete transactions; afterwards read its `position`, `finished`
    and `stop_reason`. The format description event at offset 4 is always read first. A caller
    that scans again and again (the indexer following a primary) passes one `table_maps` cache
    to every scan: the tables' column layouts and row counters are then built once, not once
    per scan.
    """
    file_path = Path(path)
    # From a later offset the bytes before it are not read (but for the format description):
    # a compressed archive file then decompresses only the rest.
    spans = None if start_pos is None or start_pos <= 4 else [(start_pos, sys.maxsize)]
    return BinlogScan(
        file_path.name, lambda: map_file(file_path, spans), start_pos, verify_checksums, table_maps
    )


def scan_bytes(
    data: bytes, file: str, start_pos: int | None = None, *, verify_checksums: bool = True
) -> BinlogScan:
    """Scan a binlog file's bytes already in memory (as `scan_file` does)."""
    return BinlogScan(file, lambda: contextlib.nullcontext(data), start_pos, verify_checksums)


class BinlogScan:
    """An iterator of a file's complete transactions that remembers where it stopped.

    After iteration: `position` is the offset after the last complete transaction (or after the
    last event outside any transaction), where the next scan resumes; `finished` is True when a
    Rotate or Stop event closed the file (`next_file` names the next one); `stop_reason` is
    "end of file", "partial event" or "unfinished transaction"; `events` counts the events read.
    """

    def __init__(
        self,
        file: str,
        opener: Callable[[], contextlib.AbstractContextManager[bytes]],
        start_pos: int | None,
        verify_checksums: bool,
        table_maps: TableMapCache | None = None,
    ) -> None:
        self.file = file
        self.position = max(start_pos or 4, 4)
        self.finished = False
        self.next_file: str | None = None
        self.stop_reason = ""
        self.events = 0
        self.abandoned = 0  # unfinished groups cut short by a new GTID (a crashed writer)
        self.format: FormatDescription | None = None
        self._closed_at = -1  # the end of the last Rotate or Stop event
        self._own_positions = False  # each header's end position is checked (see _read_format)
        self._opener = opener
        self._verify = verify_checksums
        self._iterator: Iterator[Transaction] | None = None
        self._tables = _TableMaps(table_maps if table_maps is not None else TableMapCache())

    def __iter__(self) -> BinlogScan:
        return self

    def __next__(self) -> Transaction:
        if self._iterator is None:
            self._iterator = self._run()
        return next(self._iterator)

    def close(self) -> None:
        """Release the file early when iteration is abandoned before its end."""
        if self._iterator is not None:
            self._iterator.close()  # type: ignore[attr-defined]

    def _run(self) -> Iterator[Transaction]:
        with self._opener() as buf:
            size = len(buf)
            fde_end = self._read_format(buf, size)
            if fde_end is None:
                return
            start = self.position
            if start <= 4:
                start = fde_end
                self.events = 1  # the format description event itself
            with memoryview(buf) as view:
                yield from self._walk(buf, view, start, size, TransactionBuilder(self.file))

    def _read_format(self, buf: bytes, size: int) -> int | None:
        """Check the magic and read the format description event at offset 4; its end or None."""
        if size < 4 + HEADER_LEN:
            self.stop_reason = "partial event"
            return None
        if bytes(buf[:4]) != ev.BINLOG_MAGIC:
            raise BinlogFormatError(f"{self.file} is not a binlog file (bad magic number)")
        event_type: int = buf[4 + 4]
        event_size: int = _U32(buf, 4 + 9)[0]
        if event_type == ev.START_EVENT_V3:
            raise BinlogFormatError(ev.too_old_message(self.file, buf))
        if event_type != ev.FORMAT_DESCRIPTION_EVENT:
            raise BinlogFormatError(f"{self.file}: no format description event at offset 4")
        if 4 + event_size > size:
            self.stop_reason = "partial event"
            return None
        try:
            fmt = parse_format_description(buf, 4, event_size)
        except (BinlogFormatError, *ev.DECODING_ERRORS) as exc:
            raise ev.corrupt_event(self.file, 4, exc) from exc
        self.format = fmt
        if self._verify and fmt.checksum_len:
            self._check(buf, 4, event_size, event_type)
        fde_end = 4 + event_size
        # The second event tells a server's own binlog (it ends where its header says) from a
        # relay log (its source's Rotate event comes second, with the source's position).
        # MySQL before 5.6 (and MariaDB before 5.3) wrote positions relative to the transaction
        # inside BEGIN ... COMMIT.
        self._own_positions = (
            fmt.writes_checksum_byte
            and _U32(buf, 4 + 13)[0] == fde_end
            and fde_end + HEADER_LEN <= size
            and _U32(buf, fde_end + 13)[0] == fde_end + _U32(buf, fde_end + 9)[0]
        )
        return fde_end

    def _check(self, buf: bytes, pos: int, size: int, event_type: int) -> None:
        if not event_checksum_ok(buf, pos, size, event_type):
            raise BinlogFormatError(
                f"{self.file}: checksum mismatch in the event at offset {pos}",
                hint="the file is corrupt; compare it with the server's copy",
            )

    def _walk(  # noqa: PLR0912, PLR0915 - one flat loop: a call per event costs 10% of the scan
        self,
        buf: bytes,
        view: memoryview,
        pos: int,
        size: int,
        b: TransactionBuilder,
        *,
        inner: bool = False,
    ) -> Iterator[Transaction]:
        """The event loop: frame each event, feed the builder, yield finished transactions.

        `inner` walks the events inside a Transaction_payload: they belong to the transaction
        already open, and their offsets (inside the decompressed payload) are not recorded.
        Whatever a corrupt event makes the decoding raise comes out as a BinlogFormatError
        naming the event's offset. Where the compiled scanner is built, it walks the runs of
        common transactions between two boundaries and hands anything else back to this loop.
        """
        fmt = self.format
        assert fmt is not None
        crc_len = fmt.checksum_len
        header_len = fmt.header_len
        mariadb = fmt.mariadb
        # A server's own binlog says in each header where the event ends; a relay log does not
        # (its headers carry its source's positions). Where they do, a damaged size shows (where
        # CRCs are checked, they show it already).
        verify = self._verify and crc_len > 0
        own_positions = self._own_positions and not inner and not verify
        unpack_header = HEADER.unpack_from
        crc32 = zlib.crc32
        rows_kinds = _ROWS
        count_rows = self._count_rows
        tables = self._tables
        count = 0
        walker = None if inner else self._compiled_walker(fmt)
        handed_back_at = -1  # where the compiled walk last stopped: this loop takes that event
        try:
            while pos + HEADER_LEN <= size:
                if walker is not None and b.start < 0 and pos != handed_back_at:
                    found, pos, consumed = walker.run(buf, pos, verify, own_positions)
                    handed_back_at = pos
                    if found:
                        count += consumed
                        for transaction in found:
                            self.position = transaction.end_pos
                            yield transaction
                        continue
                timestamp, event_type, server_id, event_size, log_pos, flags = unpack_header(
                    buf, pos
                )
                end = pos + event_size
                if end > size:
                    self.stop_reason = "partial event"
                    break
                if own_positions and log_pos != end:
                    raise BinlogFormatError(
                        f"{self.file}: the event at offset {pos} says it ends at {log_pos}, its size "
                        f"at {end} (a damaged header)"
                    )
                if event_size < header_len + crc_len:
                    raise BinlogFormatError(f"{self.file}: impossible event size at offset {pos}")
                body_end = end - crc_len
                if verify and crc32(view[pos:body_end]) != _U32(buf, body_end)[0]:
                    self._check(buf, pos, event_size, event_type)
                count += 1
                body = pos + header_len
                done = False
                rows_kind = rows_kinds.get(event_type)
                if rows_kind is not None:
                    if b.start < 0:
                        b.open(pos, timestamp, server_id, gtid=None, number=count)
                    if not inner:
                        b.row_events.append((pos, end))
                    done = count_rows(buf, body, body_end, rows_kind, b)
                elif event_type == ev.TABLE_MAP_EVENT:
                    if b.start < 0:
                        b.open(pos, timestamp, server_id, gtid=None, number=count)
                    if not inner:
                        b.row_events.append((pos, end))
                    tables.read(buf, body, body_end, fmt)
                elif event_type == ev.GTID_EVENT:
                    if body + _MARIADB_GTID_LEN > body_end:
                        raise BinlogFormatError("a GTID event shorter than its fields")
                    seq, domain, gtid_flags = _MARIADB_GTID(buf, body)
                    if (
                        body_end - body != _MARIADB_GTID_LEN
                        or gtid_flags & _GTID_MORE_FIELDS
                        or buf[body + 13]
                        or not seq
                        or not mariadb
                    ):
                        _check_mariadb_gtid(buf, body, body_end, fmt)
                    if b.start >= 0:
                        self.abandoned += 1
                        b.reset()
                    b.open(
                        pos, timestamp, server_id, gtid=f"{domain}-{server_id}-{seq}", number=count
                    )
                    # A MariaDB GTID without the standalone flag stands for BEGIN.
                    if gtid_flags & ev.FL_STANDALONE:
                        b.flags.add(STANDALONE)
                    else:
                        b.in_group = True
                    if gtid_flags & ev.FL_PREPARED_XA:
                        b.flags.add(XA_PREPARE)
                elif event_type in _ENDING_EVENTS:
                    if b.start >= 0:
                        if event_type == ev.XA_PREPARE_LOG_EVENT:
                            b.flags.add(XA_PREPARE)
                        done = True
                elif event_type in _GROUP_EVENTS:
                    if b.start < 0:
                        b.open(pos, timestamp, server_id, gtid=None, number=count)
                    if event_type == ev.ANNOTATE_ROWS_EVENT:
                        if fmt.never_writes(event_type):
                            raise BinlogFormatError(_foreign(event_type, fmt))
                        b.statements.append(bytes(buf[body:body_end]).decode("utf-8", "replace"))
                    elif event_type == ev.USER_VAR_EVENT:
                        _check_user_var(buf, body, body_end)
                    elif event_type == ev.ROWS_QUERY_LOG_EVENT:
                        if fmt.never_writes(event_type) and not flags & ev.LOG_EVENT_IGNORABLE_F:
                            raise BinlogFormatError(_foreign(event_type, fmt))
                        # A (truncated) length byte, then the whole text.
                        b.statements.append(
                            bytes(buf[body + 1 : body_end]).decode("utf-8", "replace")
                        )
                elif event_type in _QUERY_EVENTS:
                    if b.start < 0:
                        b.open(pos, timestamp, server_id, gtid=None, number=count)
                    compressed = event_type == ev.QUERY_COMPRESSED_EVENT
                    if compressed and fmt.never_writes(event_type):
                        raise BinlogFormatError(_foreign(event_type, fmt))
                    post_header_len = fmt.post_header_len(event_type)
                    query = ev.parse_query(buf, body, body_end, post_header_len, compressed)
                    if event_type == ev.EXECUTE_LOAD_QUERY_EVENT:
                        ev.check_execute_load_query(buf, body, body_end, post_header_len)
                    if compressed:
                        b.flags.add(COMPRESSED)
                    done = b.query(query.text, query.schema)
                elif event_type in _MYSQL_GTID_EVENTS:
                    if fmt.never_writes(event_type) and not flags & ev.LOG_EVENT_IGNORABLE_F:
                        raise BinlogFormatError(_foreign(event_type, fmt))
                    gtid: str | None
                    if event_type == ev.GTID_TAGGED_LOG_EVENT:
                        gtid = ev.tagged_gtid_text(buf, body, body_end)
                    elif body + _MYSQL_GTID_LEN > body_end:
                        raise BinlogFormatError("a GTID event shorter than its fields")
                    else:
                        gtid = ev.mysql_gtid_text(buf, body, event_type)
                    if b.start >= 0:
                        self.abandoned += 1
                        b.reset()
                    b.open(pos, timestamp, server_id, gtid=gtid, number=count)
                elif event_type == ev.TRANSACTION_PAYLOAD_EVENT and not inner:
                    if fmt.never_writes(event_type):
                        raise BinlogFormatError(_foreign(event_type, fmt))
                    if b.start < 0:
                        b.open(pos, timestamp, server_id, gtid=None, number=count)
                    b.row_events.append((pos, end))
                    self._payload(buf, body, body_end, b)
                    done = True
                elif event_type in ev.PRE_GA_ROWS_EVENTS:
                    if b.start < 0:
                        b.open(pos, timestamp, server_id, gtid=None, number=count)
                    done = self._pre_ga_rows(buf, body, body_end, event_type, b)
                elif event_type == ev.INCIDENT_EVENT and not inner:
                    if b.start >= 0:
                        self.abandoned += (
                            1  # the incident stands where the rest of the group was lost
                        )
                        b.reset()
                    b.open(pos, timestamp, server_id, gtid=None, number=count)
                    b.incident(_incident_text(buf, body, body_end, fmt))
                    done = True
                else:
                    fmt = self._outside(buf, pos, end, event_type, flags, fmt)
                    if event_type == ev.FORMAT_DESCRIPTION_EVENT:
                        # Relay logs repeat their source's FDE mid-file.
                        crc_len = fmt.checksum_len
                        header_len = fmt.header_len
                        mariadb = fmt.mariadb
                        verify = self._verify and crc_len > 0
                        if walker is not None:
                            walker = self._compiled_walker(fmt)
                pos = end
                if done:
                    if inner:
                        b.in_group = False
                    else:
                        self.position = end
                        yield b.finish(end, count)
                elif b.start < 0 and not inner:
                    self.position = pos
            else:
                self.stop_reason = "end of file" if pos == size else "partial event"
        except (BinlogFormatError, *ev.DECODING_ERRORS) as exc:
            if inner:
                raise
            self.finished = False
            raise ev.corrupt_event(self.file, pos, exc) from exc
        if not inner:
            self.events += count
            if b.start >= 0 and self.stop_reason == "end of file":
                self.stop_reason = "unfinished transaction"
            if self.finished and self._closed_at != pos:
                # A Rotate with events after it (a relay log's copy of its source's) closes nothing.
                self.finished = False

    def _compiled_walker(self, fmt: FormatDescription) -> Walker | None:
        """The compiled walk for this format, or None (not built, refused, or a format it does
        not take)."""
        compiled = compiled_scanner()
        if compiled is None:
            return None
        try:
            walker: Walker = compiled.Walker(
                self.file,
                self._tables.by_id,
                self._tables.by_body,
                Transaction,
                TableChange,
                frozenset(),
                frozenset({ROWS_UNCOUNTED}),
                DML,
                OTHER,
                fmt.mariadb,
                fmt.post_header_lens,
                fmt.header_len,
                fmt.checksum_len,
                not fmt.never_writes(ev.GTID_LOG_EVENT),
                self._plain_begin,
            )
        except ValueError:  # a header shorter than v4's: only the Python walk reads those
            return None
        return walker

    def _plain_begin(self, buf: bytes, body: int, body_end: int) -> bool:
        """Whether a Query event (of a MySQL transaction, for the compiled walk) is a BEGIN
        that reads cleanly: anything else, or a damaged one, goes back to the Python walk."""
        fmt = self.format
        assert fmt is not None
        post_header_len = fmt.post_header_len(ev.QUERY_EVENT)
        try:
            query = ev.parse_query(buf, body, body_end, post_header_len, False)
        except (BinlogFormatError, *ev.DECODING_ERRORS):
            return False
        return query.text == "BEGIN"

    def _outside(
        self, buf: bytes, pos: int, end: int, event_type: int, flags: int, fmt: FormatDescription
    ) -> FormatDescription:
        """Events between transactions: format changes, rotation, stop, encryption.

        Returns the format in force after the event.
        """
        body_end = end - fmt.checksum_len
        if event_type == ev.FORMAT_DESCRIPTION_EVENT:
            fmt = parse_format_description(buf, pos, end - pos)
            self.format = fmt
        elif event_type == ev.ROTATE_EVENT:
            post_header_len = fmt.post_header_len(event_type)
            body = pos + fmt.header_len
            self.next_file, _ = ev.parse_rotate(buf, body, body_end, post_header_len)
            self.finished = True
            self._closed_at = end
        elif event_type == ev.STOP_EVENT:
            self.finished = True
            self._closed_at = end
        elif event_type == ev.START_ENCRYPTION_EVENT:
            raise BinlogFormatError(
                f"{self.file} is encrypted (encrypt_binlog=ON) from offset {pos} on: its events "
                "cannot be read here",
                hint="index it from a server that can decrypt it, or turn off binlog encryption",
            )
        elif flags & ev.LOG_EVENT_IGNORABLE_F:
            pass
        elif event_type not in ev.KNOWN_EVENT_TYPES:
            raise BinlogFormatError(f"an event of unknown type {event_type}")
        elif event_type == ev.IGNORABLE_LOG_EVENT or fmt.never_writes(event_type):
            raise BinlogFormatError(_foreign(event_type, fmt))
        return fmt

    def _pre_ga_rows(
        self, buf: bytes, body: int, body_end: int, event_type: int, b: TransactionBuilder
    ) -> bool:
        """A MySQL 5.1 pre-GA rows event: its table is named, its rows cannot be counted (their
        table maps carry no column metadata). True when it ends a statement outside BEGIN."""
        fmt = self.format
        assert fmt is not None
        post_header_len = fmt.post_header_lens[event_type]
        if body + post_header_len > body_end:
            raise BinlogFormatError("a rows event shorter than its post-header")
        b.flags.add(ROWS_UNCOUNTED)
        b.row_events.append((body - fmt.header_len, body_end + fmt.checksum_len))
        entry = self._tables.get(buf, body, post_header_len)
        if entry is not None:
            operation = _OPERATION_INDEX[ev.PRE_GA_ROWS_EVENTS[event_type]]
            b.add_rows(entry.schema, entry.name, operation, 0)
        return _ends_statement(buf, body, post_header_len, b)

    def _count_rows(
        self,
        buf: bytes,
        body: int,
        body_end: int,
        kind: tuple[int, int, bool, bool, bool],
        b: TransactionBuilder,
    ) -> bool:
        """Add a Rows event's row count to the transaction, or flag it as uncounted.

        True when the event ends a statement logged outside BEGIN ... COMMIT (old servers).
        """
        event_type, operation, update, v2, compressed = kind
        fmt = self.format
        assert fmt is not None
        post_header_len = fmt.post_header_lens[event_type]
        if compressed:
            _compressed_rows(event_type, fmt, b)
        pos = body + post_header_len
        if v2:
            extra = _U16(buf, pos - 2)[0]
            if extra < 2:
                raise BinlogFormatError(f"a rows event with an extra-data length of {extra}")
            pos += extra - 2
        if pos >= body_end:
            raise BinlogFormatError("a rows event shorter than its post-header")
        ncols = buf[pos]
        if ncols < 251:
            pos += 1
        else:
            ncols, pos = ev.read_packed_int(buf, pos)
        width = (ncols + 7) // 8
        present = bytes(buf[pos : pos + width])
        pos += width
        present_after = b""
        if update:
            present_after = bytes(buf[pos : pos + width])
            pos += width
        if pos > body_end:
            raise BinlogFormatError("a rows event shorter than its column bitmaps")
        ends = not b.in_group and _ends_statement(buf, body, post_header_len, b)
        entry = self._tables.get(buf, body, post_header_len)
        if entry is None:
            b.flags.add(ROWS_UNCOUNTED)
            return ends
        counter = entry.counter(event_type, ncols, present, present_after)
        data, end = buf, body_end
        try:
            if compressed:
                data = ev.decompress_mariadb(bytes(buf[pos:body_end]))
                pos, end = 0, len(data)
            rows, reached = counter(data, pos, end) if counter is not None else (0, -1)
        except (BinlogFormatError, IndexError, ValueError, struct.error):
            rows, reached = 0, -1
        if reached != end:
            b.flags.add(ROWS_UNCOUNTED)
            rows = 0
        b.add_rows(entry.schema, entry.name, operation, rows)
        return ends

    def _payload(self, buf: bytes, body: int, body_end: int, b: TransactionBuilder) -> None:
        """A MySQL Transaction_payload event: the rest of the transaction, usually compressed."""
        b.flags.add(COMPRESSED)
        inner = payload_events(buf, body, body_end)
        if inner is None:
            b.flags.add(ROWS_UNCOUNTED)
            return
        saved_format, saved_reason = self.format, self.stop_reason
        assert saved_format is not None
        # The events inside a payload carry no checksum of their own.
        self.format = dataclasses.replace(saved_format, checksum=ev.CHECKSUM_OFF)
        try:
            for _ in self._walk(inner, memoryview(inner), 0, len(inner), b, inner=True):
                pass
            if self.stop_reason != "end of file":
                b.flags.add(ROWS_UNCOUNTED)  # the payload did not hold whole events
        finally:
            self.format, self.stop_reason = saved_format, saved_reason


_MARIADB_GTID_LEN = 19  # sequence number, domain id, flags, then padding (or more fields)
_GTID_MORE_FIELDS = ev.FL_GROUP_COMMIT_ID | ev.FL_PREPARED_XA | ev.FL_COMPLETED_XA
_FL_EXTRA_MULTI_ENGINE = 0x01
_FL_EXTRA_ALTER = 0x06  # FL_COMMIT_ALTER_E1 | FL_ROLLBACK_ALTER_E1


def _foreign(event_type: int, fmt: FormatDescription) -> str:
    return f"an event of type {event_type}, which {fmt.server_version} does not write"


_DUMMY_TABLE_IDS = frozenset({0xFFFFFF, 0xFFFFFFFF, 0xFFFFFFFFFFFF})
_MYSQL_GTID_LEN = 25  # flags, 16-byte source uuid, 8-byte number


def _check_mariadb_gtid(buf: bytes, body: int, body_end: int, fmt: FormatDescription) -> None:
    """Raise when a MariaDB GTID event is shorter than the fields its flags announce (or its
    server is not MariaDB)."""
    if fmt.never_writes(ev.GTID_EVENT):
        raise BinlogFormatError(_foreign(ev.GTID_EVENT, fmt))
    flags = buf[body + 12]
    pos = body + 13 + (8 if flags & ev.FL_GROUP_COMMIT_ID else 0)
    if flags & (ev.FL_PREPARED_XA | ev.FL_COMPLETED_XA):
        if pos + 6 > body_end:
            raise BinlogFormatError("a GTID event shorter than its XA transaction id")
        pos += 6 + buf[pos + 4] + buf[pos + 5]
    if pos < body_end:
        # MariaDB 10.5+: extra flags, an engine count and an ALTER's sequence number may follow.
        extra = buf[pos]
        pos += 1 + (1 if extra & _FL_EXTRA_MULTI_ENGINE else 0)
        pos += 8 if extra & _FL_EXTRA_ALTER else 0
    if pos > body_end:
        raise BinlogFormatError("a GTID event shorter than the fields its flags announce")
    if not int.from_bytes(buf[body : body + 8], "little"):
        raise BinlogFormatError("a GTID event of sequence number 0")


def _compressed_rows(event_type: int, fmt: FormatDescription, b: TransactionBuilder) -> None:
    if fmt.never_writes(event_type):
        raise BinlogFormatError(_foreign(event_type, fmt))
    b.flags.add(COMPRESSED)


def _check_user_var(buf: bytes, body: int, body_end: int) -> None:
    """Raise when a User_var event's name or value runs past it."""
    pos = body + 4
    if pos > body_end:
        raise BinlogFormatError("a user variable event shorter than its name length")
    pos += _U32(buf, body)[0]
    if pos + 1 > body_end:
        raise BinlogFormatError("a user variable event whose name runs past it")
    # Unless NULL: type, charset, value length, value.
    if not buf[pos] and (pos + 10 > body_end or pos + 10 + _U32(buf, pos + 6)[0] > body_end):
        raise BinlogFormatError("a user variable event whose value runs past it")


def _ends_statement(buf: bytes, body: int, post_header_len: int, b: TransactionBuilder) -> bool:
    """Whether a rows event ends a statement that no BEGIN or GTID opened: MySQL 5.1 logged
    autocommitted row changes of non-transactional tables without BEGIN ... COMMIT."""
    if b.in_group or b.gtid is not None:
        return False
    flags_at = body + (4 if post_header_len == 6 else 6)
    return bool(_U16(buf, flags_at)[0] & ev.STMT_END_F)


def _incident_text(buf: bytes, body: int, body_end: int, fmt: FormatDescription) -> str:
    """An Incident event as one line: its number's name and the server's message."""
    if body + 2 > body_end:
        raise BinlogFormatError("an incident event shorter than its post-header")
    (number,) = _U16(buf, body)
    name = ev.INCIDENTS.get(number, f"unknown incident {number}")
    pos = body + fmt.post_header_len(ev.INCIDENT_EVENT)
    message = ""
    if pos < body_end:
        length = buf[pos]
        message = bytes(buf[pos + 1 : min(pos + 1 + length, body_end)]).decode("utf-8", "replace")
    return f"{name}: {message}" if message else name


class TableMapCache:
    """Table-map bodies already parsed, with their row counters, kept across scans.

    A body (the event after its table id) names the table and describes its columns in full,
    so the same body always reads the same, in any file of the same server kind; a table id,
    which the server reassigns, is not part of the key. Bounded: a schema with more distinct
    table layouts than LIMIT starts over rather than grow without end.
    """

    LIMIT = 10_000

    def __init__(self) -> None:
        self.by_body: dict[tuple[bool, bytes], _Table] = {}


class _TableMaps:
    """The table maps in force by table id (in this scan), parsed once per distinct body."""

    def __init__(self, cache: TableMapCache) -> None:
        # Shared with the compiled walk, which reads both and adds to by_id.
        self.by_id: dict[int, _Table] = {}
        self.by_body = cache.by_body

    def read(self, buf: bytes, body: int, body_end: int, fmt: FormatDescription) -> None:
        post_header_len = fmt.post_header_lens[ev.TABLE_MAP_EVENT]
        width = 4 if post_header_len == 6 else 6
        table_id = int.from_bytes(buf[body : body + width], "little")
        key = (fmt.mariadb, bytes(buf[body + post_header_len : body_end]))
        try:
            entry = self.by_body[key]
        except KeyError:
            if len(self.by_body) >= TableMapCache.LIMIT:
                self.by_body.clear()
            schema, name = parse_table_name(buf, body, body_end, post_header_len)
            try:
                table = parse_table_map(buf, body, body_end, post_header_len, fmt.mariadb)
            except UnreadableColumns:
                entry = _Table(schema, name, None)  # its rows will be reported as uncounted
            else:
                entry = _Table(schema, name, table)
            self.by_body[key] = entry
        self.by_id[table_id] = entry

    def get(self, buf: bytes, body: int, post_header_len: int) -> _Table | None:
        """The table a Rows event's post-header names; None for the dummy id some servers end a
        statement with. A table id no table map has named is a corrupt event."""
        width = 4 if post_header_len == 6 else 6
        table_id = int.from_bytes(buf[body : body + width], "little")
        found = self.by_id.get(table_id)
        if found is None and table_id not in _DUMMY_TABLE_IDS:
            raise BinlogFormatError(
                f"a rows event of table id {table_id}, which no table map named"
            )
        return found


class _Table:
    """A table map's names, its columns when they could be read, and the row counters generated
    for its row shapes."""

    __slots__ = ("counters", "name", "schema", "table")

    def __init__(self, schema: str, name: str, table: TableMap | None) -> None:
        self.schema = schema
        self.name = name
        self.table = table
        self.counters: dict[tuple[int, bytes, bytes], RowCounter | None] = {}

    def counter(
        self, event_type: int, ncols: int, present: bytes, present_after: bytes
    ) -> RowCounter | None:
        """The row counter for this event type and column bitmaps (None: cannot be counted)."""
        key = (event_type, present, present_after)
        try:
            return self.counters[key]
        except KeyError:
            pass
        counter: RowCounter | None = None
        table = self.table
        if table is not None and ncols == len(table.columns):
            before = present_columns(table.columns, present)
            after = present_columns(table.columns, present_after) if present_after else None
            partial = None
            if event_type == ev.PARTIAL_UPDATE_ROWS_EVENT:
                partial = table.json_column_count
            if before or after:
                # With no column present a row would take no bytes: no count can end.
                counter = build_row_counter(before, after, partial)
        self.counters[key] = counter
        return counter
