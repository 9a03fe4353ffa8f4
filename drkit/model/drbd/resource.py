"""DRBD state as one normalized value in DRBD 9 words, whichever tool reported it."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

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


def eta(seconds: float | None) -> int | None:
    """Seconds to the end of a resync; None when unknown (missing, NaN or drbdsetup's sentinel)."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0 or seconds == _UNKNOWN_ETA:
        return None
    return round(seconds)
