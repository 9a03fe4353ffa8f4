"""An Incident event in a primary's binlog reaches the index as a record of its own, flagged as
a critical finding that `drkit events --destructive` lists (issue 15, fault 7)."""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

from drkit.binlog import events as ev
from drkit.config import Config, IndexConfig, NodeConfig, PasswordSource, Role
from drkit.index.indexer import Indexer
from drkit.index.store import Filters, IndexStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "binlog"
MESSAGE = b"error writing to the binary log"


def with_incident(source: Path) -> tuple[bytes, int]:
    """The file with a LOST_EVENTS Incident event (CRC32 included) after its first transaction,
    as a server writes one when it could not log a transaction; and the event's offset."""
    data = bytearray(source.read_bytes())
    pos = 4
    while data[pos + 4] != ev.XID_EVENT:
        pos += struct.unpack_from("<I", data, pos + 9)[0]
    at = pos + struct.unpack_from("<I", data, pos + 9)[0]
    body = struct.pack("<H", 1) + bytes([len(MESSAGE)]) + MESSAGE
    size = 19 + len(body) + 4
    event = struct.pack("<IBIIIH", 1_700_000_000, ev.INCIDENT_EVENT, 1, size, at + size, 0) + body
    event += struct.pack("<I", zlib.crc32(event))
    data[at:at] = event
    # Every later event now ends `size` bytes further: its header says so, and its CRC covers it.
    pos = at + size
    while pos < len(data):
        length = struct.unpack_from("<I", data, pos + 9)[0]
        struct.pack_into("<I", data, pos + 13, pos + length)
        struct.pack_into("<I", data, pos + length - 4, zlib.crc32(data[pos : pos + length - 4]))
        pos += length
    return bytes(data), at


def test_an_incident_is_indexed_as_a_critical_finding(tmp_path: Path) -> None:
    archive = tmp_path / "binlogs"
    archive.mkdir()
    data, at = with_incident(FIXTURES / "bin.000001")
    (archive / "bin.000001").write_bytes(data)
    shutil.copyfile(FIXTURES / "bin.000002", archive / "bin.000002")
    primary = NodeConfig("primary", Role.PRIMARY, "127.0.0.1", 1, "x", PasswordSource(literal=""))
    config = Config(
        tmp_path / "drkit.toml",
        {"primary": primary},
        IndexConfig(tmp_path / "index.db", archive, False, 1.0),
    )
    with Indexer(config) as indexer:
        indexer.scan(None)
    with IndexStore(config.index.path, readonly=True) as store:
        flagged = store.search(Filters(destructive=True))
    incident = next(t for t in flagged if t.kind == "incident")
    assert (incident.file, incident.start_pos, incident.gtid) == ("bin.000001", at, None)
    shown = incident.to_json()
    assert shown["kind"] == "incident"
    assert shown["statement"] == "binlog incident LOST_EVENTS: error writing to the binary log"
    destructive = shown["destructive"]
    assert isinstance(destructive, dict)
    assert (destructive["class"], destructive["severity"]) == ("binlog_incident", "critical")
