"""DRBD state as one normalized value, whichever tool reported it.

Three outputs describe the same state in different words: `drbdsetup status --json` (DRBD 9), the
text of `drbdsetup status` / `drbdadm status` (plain or `--verbose --statistics`; drbd-utils print
the same text for DRBD 8.4), and `/proc/drbd` (DRBD 8.4). Every parser returns a tuple of
DrbdResource in DRBD 9 words; malformed input raises ValueError naming the line or key at fault.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NoReturn

PRIMARY = "Primary"
ROLES = frozenset({PRIMARY, "Secondary", "Unknown"})
UP_TO_DATE = "UpToDate"
INCONSISTENT = "Inconsistent"
DISKLESS = "Diskless"
DISK_UNKNOWN = "DUnknown"
CONNECTED = "Connected"
CONNECTING = "Connecting"
STANDALONE = "StandAlone"
ESTABLISHED = "Established"
REPLICATION_OFF = "Off"

# Replication states in which a resync runs, waits to start, or is paused; "...S" = this node sends.
SYNC_SOURCE_STATES = frozenset(
    {"StartingSyncS", "WFBitMapS", "SyncSource", "PausedSyncS"},
)
SYNC_TARGET_STATES = frozenset(
    {"StartingSyncT", "WFBitMapT", "WFSyncUUID", "SyncTarget", "PausedSyncT"},
)
SYNC_STATES = SYNC_SOURCE_STATES | SYNC_TARGET_STATES

# drbdsetup prints this many seconds when it cannot estimate the end of a resync.
_UNKNOWN_ETA = 987654321


class DrbdFormat(StrEnum):
    """Which output a value was parsed from."""

    JSON = "drbdsetup-json"
    STATUS_TEXT = "status-text"
    PROC = "proc-drbd"


@dataclass(frozen=True)
class DrbdVolume:
    """One local volume of a resource (a /dev/drbdN device) and the state of its disk."""

    volume: int | None  # None when the output does not say (/proc/drbd lists minors only)
    disk: str
    minor: int | None = None
    client: bool | None = None  # True: diskless on purpose (a DRBD client); None: not reported
    quorum: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "volume": self.volume,
            "minor": self.minor,
            "disk": self.disk,
            "client": self.client,
            "quorum": self.quorum,
        }


@dataclass(frozen=True)
class DrbdPeerVolume:
    """How one volume is replicated to one peer."""

    volume: int | None
    replication: str
    peer_disk: str
    peer_client: bool | None = None
    sync_percent: float | None = None  # resync progress, only while a resync runs and is reported
    eta_seconds: int | None = None
    out_of_sync_kib: int | None = None

    @property
    def resyncing(self) -> bool:
        return self.replication in SYNC_STATES

    def to_json(self) -> dict[str, Any]:
        return {
            "volume": self.volume,
            "replication": self.replication,
            "peer_disk": self.peer_disk,
            "peer_client": self.peer_client,
            "sync_percent": self.sync_percent,
            "eta_seconds": self.eta_seconds,
            "out_of_sync_kib": self.out_of_sync_kib,
        }


@dataclass(frozen=True)
class DrbdPeer:
    """One connection of a resource: the peer's role, the link, and each replicated volume."""

    name: str | None  # None when the output does not name peers (/proc/drbd)
    connection: str
    role: str
    node_id: int | None = None
    volumes: tuple[DrbdPeerVolume, ...] = ()

    @property
    def label(self) -> str:
        if self.name:
            return f"peer {self.name}"
        return f"peer node-id {self.node_id}" if self.node_id is not None else "the peer"

    @property
    def connected(self) -> bool:
        return self.connection == CONNECTED

    @property
    def out_of_sync_kib(self) -> int | None:
        """KiB the peer lacks, summed over volumes; None when no volume reports it."""
        known = [v.out_of_sync_kib for v in self.volumes if v.out_of_sync_kib is not None]
        return sum(known) if known else None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "node_id": self.node_id,
            "connection": self.connection,
            "role": self.role,
            "volumes": [volume.to_json() for volume in self.volumes],
        }


@dataclass(frozen=True)
class DrbdResource:
    """One DRBD resource as this node sees it: local role, local volumes, and every peer."""

    name: str | None  # None for /proc/drbd, which lists minors without resource names
    role: str
    volumes: tuple[DrbdVolume, ...]
    peers: tuple[DrbdPeer, ...]
    source: DrbdFormat
    node_id: int | None = None
    suspended: tuple[str, ...] = ()  # why I/O is suspended (user, no-data, fencing, quorum)

    @property
    def minors(self) -> tuple[int, ...]:
        return tuple(v.minor for v in self.volumes if v.minor is not None)

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        return f"drbd{self.minors[0]}" if self.minors else "unnamed resource"

    def answers_to(self, wanted: str) -> bool:
        """True for the resource's name, or for `minor:N`, `drbdN`, `/dev/drbdN` of its devices."""
        if self.name is not None and wanted == self.name:
            return True
        aliases = {
            f"{prefix}{minor}"
            for minor in self.minors
            for prefix in ("minor:", "drbd", "/dev/drbd")
        }
        return wanted in aliases

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "source": self.source.value,
            "role": self.role,
            "node_id": self.node_id,
            "suspended": list(self.suspended),
            "volumes": [volume.to_json() for volume in self.volumes],
            "peers": [peer.to_json() for peer in self.peers],
        }


def find_resource(resources: Iterable[DrbdResource], wanted: str) -> DrbdResource | None:
    """The resource named `wanted`; failing that, the one whose device it names (`minor:N`)."""
    candidates = tuple(resources)
    for resource in candidates:
        if resource.name == wanted:
            return resource
    return next((r for r in candidates if r.answers_to(wanted)), None)


def detect_format(text: str) -> DrbdFormat:
    """Which tool printed `text`, judged from how it starts."""
    body = text.lstrip()
    if body.startswith(("[", "{")):
        return DrbdFormat.JSON
    if body.startswith("version:"):
        return DrbdFormat.PROC
    return DrbdFormat.STATUS_TEXT


def parse_any(text: str) -> tuple[DrbdResource, ...]:
    """Resources from any supported output, its format detected from the text itself."""
    kind = detect_format(text)
    if kind is DrbdFormat.JSON:
        return parse_drbdsetup_json(text)
    if kind is DrbdFormat.PROC:
        return parse_proc_drbd(text)
    return parse_status_text(text)


# --- drbdsetup status --json


def parse_drbdsetup_json(text: str) -> tuple[DrbdResource, ...]:
    """Resources from `drbdsetup status --json` (DRBD 9)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"drbdsetup JSON: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(data, list):
        raise ValueError(f"drbdsetup JSON: expected an array of resources, got {_json_kind(data)}")
    return tuple(_json_resource(_JsonObject.at(item, f"[{i}]")) for i, item in enumerate(data))


_JSON_SUSPENSIONS = (
    ("suspended-user", "user"),
    ("suspended-no-data", "no-data"),
    ("suspended-fencing", "fencing"),
    ("suspended-quorum", "quorum"),
)


def _json_resource(obj: _JsonObject) -> DrbdResource:
    suspended = tuple(reason for key, reason in _JSON_SUSPENSIONS if obj.optional_bool(key))
    if not suspended and obj.optional_bool("suspended"):
        suspended = ("unspecified",)
    return DrbdResource(
        name=obj.string("name"),
        role=obj.role("role"),
        volumes=tuple(_json_volume(device) for device in obj.objects("devices")),
        peers=tuple(_json_peer(connection) for connection in obj.objects("connections")),
        source=DrbdFormat.JSON,
        node_id=obj.optional_integer("node-id"),
        suspended=suspended,
    )


def _json_volume(obj: _JsonObject) -> DrbdVolume:
    return DrbdVolume(
        volume=obj.integer("volume"),
        disk=obj.string("disk-state"),
        minor=obj.optional_integer("minor"),
        client=obj.optional_bool("client"),
        quorum=obj.optional_bool("quorum"),
    )


def _json_peer(obj: _JsonObject) -> DrbdPeer:
    # drbdsetup spells this one key with an underscore; accept the hyphen in case it is ever fixed.
    devices = obj.objects("peer_devices", "peer-devices")
    return DrbdPeer(
        name=obj.string("name"),
        connection=obj.string("connection-state"),
        role=obj.role("peer-role"),
        node_id=obj.optional_integer("peer-node-id"),
        volumes=tuple(_json_peer_volume(device) for device in devices),
    )


def _json_peer_volume(obj: _JsonObject) -> DrbdPeerVolume:
    return DrbdPeerVolume(
        volume=obj.integer("volume"),
        replication=obj.string("replication-state"),
        peer_disk=obj.string("peer-disk-state"),
        peer_client=obj.optional_bool("peer-client"),
        sync_percent=obj.optional_number("percent-resync-done"),
        eta_seconds=_eta(obj.optional_number("estimated-seconds-to-finish")),
        out_of_sync_kib=obj.optional_integer("out-of-sync"),
    )


class _JsonObject:
    """A JSON object being read: typed getters whose errors name the path to the key."""

    def __init__(self, data: dict[str, Any], where: str) -> None:
        self._data = data
        self._where = where

    @classmethod
    def at(cls, value: object, where: str) -> _JsonObject:
        if not isinstance(value, dict):
            raise ValueError(f"drbdsetup JSON {where}: expected an object, got {_json_kind(value)}")
        return cls(value, where)

    def _fail(self, key: str, problem: str) -> NoReturn:
        raise ValueError(f"drbdsetup JSON {self._where}.{key}: {problem}")

    def _required(self, key: str) -> object:
        if key not in self._data:
            self._fail(key, "missing")
        return self._data[key]

    def string(self, key: str) -> str:
        value = self._required(key)
        if not isinstance(value, str) or not value:
            self._fail(key, f"expected a non-empty string, got {_json_kind(value)}")
        return value

    def role(self, key: str) -> str:
        value = self.string(key)
        if value not in ROLES:
            self._fail(key, f"{value!r} is not a DRBD role ({', '.join(sorted(ROLES))})")
        return value

    def integer(self, key: str) -> int:
        value = self._required(key)
        if isinstance(value, bool) or not isinstance(value, int):
            self._fail(key, f"expected a whole number, got {_json_kind(value)}")
        return value

    def optional_integer(self, key: str) -> int | None:
        return None if self._data.get(key) is None else self.integer(key)

    def optional_number(self, key: str) -> float | None:
        value = self._data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self._fail(key, f"expected a number, got {_json_kind(value)}")
        return float(value)

    def optional_bool(self, key: str) -> bool | None:
        value = self._data.get(key)
        if value is not None and not isinstance(value, bool):
            self._fail(key, f"expected true or false, got {_json_kind(value)}")
        return value

    def objects(self, key: str, *other_spellings: str) -> list[_JsonObject]:
        found = next((k for k in (key, *other_spellings) if k in self._data), key)
        value = self._required(found)
        if not isinstance(value, list):
            self._fail(found, f"expected an array, got {_json_kind(value)}")
        return [_JsonObject.at(item, f"{self._where}.{found}[{i}]") for i, item in enumerate(value)]


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, int | float):
        return f"the number {value}"
    return "an array" if isinstance(value, list) else "an object"


# --- drbdsetup status / drbdadm status text

_ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def parse_status_text(text: str) -> tuple[DrbdResource, ...]:
    """Resources from `drbdsetup status` or `drbdadm status`, plain or `--verbose --statistics`."""
    resources: list[_TextResource] = []
    # On a terminal (ssh -t) drbdsetup colours states; the escapes carry no information.
    for number, raw in enumerate(_ANSI_COLOUR.sub("", text).expandtabs().splitlines(), start=1):
        body = raw.strip()
        if not body or body.startswith("#"):  # "# No currently configured DRBD found."
            continue
        line = _Line(number, len(raw) - len(raw.lstrip()), body.split())
        if line.indent == 0:
            resources.append(_TextResource.start(line))
        elif not resources:
            raise ValueError(f"status line {number}: indented line before any resource: {body!r}")
        else:
            resources[-1].add(line)
    return tuple(resource.build() for resource in resources)


@dataclass(frozen=True)
class _Line:
    number: int
    indent: int
    tokens: list[str]


@dataclass
class _Record:
    """One object of the text status (resource, volume, connection, peer volume) and its fields."""

    kind: str
    line: int
    name: str | None = None
    fields: dict[str, tuple[str, int]] = field(default_factory=dict)

    def take(self, tokens: list[str], number: int) -> None:
        for token in tokens:
            key, colon, value = token.partition(":")
            if not colon or not key:
                raise ValueError(f"status line {number}: expected key:value, got {token!r}")
            if key in self.fields:
                raise ValueError(f"status line {number}: {key} given twice for one {self.kind}")
            self.fields[key] = (value, number)

    def text(self, key: str) -> str | None:
        found = self.fields.get(key)
        return found[0] if found else None

    def role(self, default: str | None = None) -> str:
        value = self.text("role") or default
        if value is None:
            named = f" {self.name}" if self.name else ""
            raise ValueError(f"status line {self.line}: {self.kind}{named} has no role:")
        if value not in ROLES:
            raise ValueError(
                f"status line {self._line_of('role')}: role:{value} is not a DRBD role"
            )
        return value

    def integer(self, key: str) -> int | None:
        value = self.text(key)
        if value is None:
            return None
        if not (value.isascii() and value.isdigit()):
            raise ValueError(
                f"status line {self._line_of(key)}: {key}:{value} is not a whole number"
            )
        return int(value)

    def number(self, key: str) -> float | None:
        """A decimal field; None when absent or not finite (drbdsetup prints eta:nan)."""
        value = self.text(key)
        if value is None:
            return None
        try:
            number = float(value)
        except ValueError:
            raise ValueError(
                f"status line {self._line_of(key)}: {key}:{value} is not a number"
            ) from None
        return number if math.isfinite(number) else None

    def yes_no(self, key: str) -> bool | None:
        return {"yes": True, "no": False}.get(self.text(key) or "")

    def _line_of(self, key: str) -> int:
        return self.fields[key][1]


@dataclass
class _TextResource:
    """A resource being read line by line; `current` takes the continuation lines."""

    header: _Record
    current: _Record
    volumes: list[_Record] = field(default_factory=list)
    connections: list[tuple[_Record, list[_Record]]] = field(default_factory=list)

    @classmethod
    def start(cls, line: _Line) -> _TextResource:
        name, *rest = line.tokens
        if ":" in name:
            raise ValueError(f"status line {line.number}: expected a resource name, got {name!r}")
        header = _Record("resource", line.number, name)
        header.take(rest, line.number)
        return cls(header, header)

    def add(self, line: _Line) -> None:
        """Place one indented line: a new volume, connection or peer volume, or a continuation.

        drbdsetup indents volumes and connections by 2, peer volumes by 4, and wraps long lines
        (and statistics) onto deeper-indented lines that continue the object above them.
        """
        first = line.tokens[0]
        key = first.partition(":")[0] if ":" in first else None
        tokens = line.tokens
        if line.indent == 2 and key in ("volume", "disk"):
            if self.connections:
                raise ValueError(f"status line {line.number}: a volume after the connections")
            record = _Record("volume", line.number)
            self.volumes.append(record)
        elif line.indent == 2 and key in (None, "node-id"):
            record = _Record("connection", line.number, first if key is None else None)
            self.connections.append((record, []))
            tokens = tokens[1:] if key is None else tokens
        elif line.indent == 4 and key in ("volume", "replication", "peer-disk", "disk"):
            if not self.connections:
                raise ValueError(f"status line {line.number}: a peer volume before any connection")
            record = _Record("peer volume", line.number)
            self.connections[-1][1].append(record)
        else:
            record = self.current
        record.take(tokens, line.number)
        self.current = record

    def build(self) -> DrbdResource:
        header = self.header
        suspended = header.text("suspended")
        return DrbdResource(
            name=header.name,
            role=header.role(),
            volumes=tuple(_text_volume(record) for record in self.volumes),
            peers=tuple(_text_peer(record, devices) for record, devices in self.connections),
            source=DrbdFormat.STATUS_TEXT,
            node_id=header.integer("node-id"),
            suspended=() if suspended in (None, "no") else tuple(suspended.split(",")),
        )


def _text_volume(record: _Record) -> DrbdVolume:
    disk = record.text("disk")
    if not disk:
        raise ValueError(f"status line {record.line}: volume has no disk:")
    volume = record.integer("volume")
    return DrbdVolume(
        volume=0 if volume is None else volume,  # a lone volume 0 is printed without its number
        disk=disk,
        minor=record.integer("minor"),
        client=record.yes_no("client"),
        quorum=record.yes_no("quorum"),
    )


def _text_peer(record: _Record, devices: list[_Record]) -> DrbdPeer:
    # Plain status prints connection: only when not Connected, and role: only when Connected.
    connection = record.text("connection") or CONNECTED
    role = record.role(default=None if connection == CONNECTED else "Unknown")
    replication = ESTABLISHED if connection == CONNECTED else REPLICATION_OFF
    return DrbdPeer(
        name=record.name,
        connection=connection,
        role=role,
        node_id=record.integer("node-id"),
        volumes=tuple(_text_peer_volume(device, replication) for device in devices),
    )


def _text_peer_volume(record: _Record, default_replication: str) -> DrbdPeerVolume:
    # replication: is printed only beyond Established, peer-disk: only when known.
    volume = record.integer("volume")
    eta = record.number("eta")
    return DrbdPeerVolume(
        volume=0 if volume is None else volume,
        replication=record.text("replication") or default_replication,
        # drbd-utils before 2013 (and the DRBD 9 user guide) print a peer's disk as disk:.
        peer_disk=record.text("peer-disk") or record.text("disk") or DISK_UNKNOWN,
        peer_client=record.yes_no("peer-client"),
        sync_percent=record.number("done"),
        eta_seconds=_eta(eta),
        out_of_sync_kib=record.integer("out-of-sync"),
    )


# --- /proc/drbd (DRBD 8.4)

_PROC_VERSION = re.compile(r"version:\s*((\d+)\.\d+\S*)")
_PROC_MINOR = re.compile(r"\s*(\d+):\s+(cs:.*)")
_PROC_FLAGS = re.compile(r"[rs][-a-zA-Z]{3,6}")
_PROC_SYNCED = re.compile(r"sync'ed:\s*(\d+(?:\.\d+)?)%")
_PROC_FINISH = re.compile(r"finish:\s*(\d+):(\d{1,2}):(\d{1,2})")
_PROC_OUT_OF_SYNC = re.compile(r"(?:^|\s)oos:(\d+)")

# DRBD 8.4's one cs: field mixes connection and replication; DRBD 9 splits them (and renames two).
_PROC_CONNECTION_STATES = {
    "WFConnection": (CONNECTING, REPLICATION_OFF),
    "WFReportParams": (CONNECTED, REPLICATION_OFF),
    "Connected": (CONNECTED, ESTABLISHED),
}
_PROC_REPLICATION_STATES = SYNC_STATES | {"VerifyS", "VerifyT", "Ahead", "Behind"}


def parse_proc_drbd(text: str) -> tuple[DrbdResource, ...]:
    """Resources from DRBD 8.4's /proc/drbd: one per configured minor, unnamed (it has no names)."""
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise ValueError("/proc/drbd: empty (is the drbd kernel module loaded?)")
    number, first = lines[0]
    version = _PROC_VERSION.match(first.strip())
    if version is None:
        raise ValueError(f"/proc/drbd line {number}: expected 'version: 8.4.x ...', got {first!r}")
    major = int(version.group(2))
    if major >= 9:
        raise ValueError(
            f"/proc/drbd line {number}: DRBD {version.group(1)} shows only its version "
            "in /proc/drbd, not the state of its resources; use `drbdsetup status --json`"
        )
    if major != 8:
        raise ValueError(f"/proc/drbd line {number}: DRBD {major}.x is not supported (8.x or 9.x)")
    minors: list[_ProcMinor] = []
    for number, line in lines[1:]:
        match = _PROC_MINOR.fullmatch(line.rstrip())
        if match is not None:
            minors.append(_ProcMinor.read(number, int(match.group(1)), match.group(2)))
        elif line[0].isspace() and minors:
            minors[-1].details.append(line)
        elif minors:
            raise ValueError(
                f"/proc/drbd line {number}: expected a device line like ' 0: cs:Connected ...', "
                f"got {line.strip()!r}"
            )
        # Before the first device: GIT-hash:, srcversion: and similar build information.
    return tuple(resource for minor in minors if (resource := minor.build()) is not None)


@dataclass
class _ProcMinor:
    """One device of /proc/drbd: its state line and the indented lines under it."""

    line: int
    minor: int
    fields: dict[str, str]
    suspended: bool
    details: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, number: int, minor: int, state: str) -> _ProcMinor:
        fields: dict[str, str] = {}
        suspended = False
        for token in state.split():
            key, colon, value = token.partition(":")
            if colon:
                fields[key] = value
            elif token in ("A", "B", "C"):
                continue  # the replication protocol; absent when StandAlone
            elif _PROC_FLAGS.fullmatch(token):
                suspended = token[0] == "s"  # r = I/O running, s = suspended
            else:
                raise ValueError(f"/proc/drbd line {number}: unexpected {token!r} on minor {minor}")
        return cls(number, minor, fields, suspended)

    def build(self) -> DrbdResource | None:
        """The minor as a resource; None for an unconfigured minor, which holds no resource."""
        cs = self.fields["cs"]
        if cs == "Unconfigured":
            return None
        # DRBD 8.0-8.2 called the roles st: instead of ro:.
        local_role, peer_role = self._pair("ro" if "ro" in self.fields else "st")
        local_disk, peer_disk = self._pair("ds")
        if local_role not in ROLES or peer_role not in ROLES:
            raise ValueError(f"/proc/drbd line {self.line}: roles {local_role}/{peer_role} unknown")
        connection, replication = _PROC_CONNECTION_STATES.get(
            cs, (CONNECTED, cs) if cs in _PROC_REPLICATION_STATES else (cs, REPLICATION_OFF)
        )
        details = "\n".join(self.details)
        synced = _PROC_SYNCED.search(details)
        finish = _PROC_FINISH.search(details)
        out_of_sync = _PROC_OUT_OF_SYNC.search(details)
        peer_volume = DrbdPeerVolume(
            volume=None,
            replication=replication,
            peer_disk=peer_disk,
            sync_percent=float(synced.group(1)) if synced else None,
            eta_seconds=_hms(finish) if finish else None,
            out_of_sync_kib=int(out_of_sync.group(1)) if out_of_sync else None,
        )
        return DrbdResource(
            name=None,
            role=local_role,
            volumes=(DrbdVolume(volume=None, disk=local_disk, minor=self.minor),),
            peers=(DrbdPeer(None, connection, peer_role, volumes=(peer_volume,)),),
            source=DrbdFormat.PROC,
            suspended=("unspecified",) if self.suspended else (),
        )

    def _pair(self, key: str) -> tuple[str, str]:
        value = self.fields.get(key)
        if value is None:
            raise ValueError(f"/proc/drbd line {self.line}: minor {self.minor} has no {key}:")
        local, slash, peer = value.partition("/")
        if not slash or not local or not peer:
            raise ValueError(f"/proc/drbd line {self.line}: {key}:{value} is not LOCAL/PEER")
        return local, peer


def _hms(match: re.Match[str]) -> int:
    hours, minutes, seconds = (int(part) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _eta(seconds: float | None) -> int | None:
    """Seconds to the end of a resync; None when unknown (missing, NaN or drbdsetup's sentinel)."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0 or seconds == _UNKNOWN_ETA:
        return None
    return round(seconds)
