"""Verdicts on a DRBD resource: split brain risk, I/O suspended, degraded, resyncing, or healthy.

Each finding is its own Verdict with a sentence saying what was seen and why it matters, so a
check can show every reason at once and a script can act on the codes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from drkit.model.drbd import (
    DISKLESS,
    INCONSISTENT,
    PRIMARY,
    REPLICATION_OFF,
    STANDALONE,
    SYNC_SOURCE_STATES,
    SYNC_TARGET_STATES,
    UP_TO_DATE,
    DrbdPeer,
    DrbdPeerVolume,
    DrbdResource,
    DrbdVolume,
    find_resource,
)

SPLIT_BRAIN_RISK = "split_brain_risk"
IO_SUSPENDED = "io_suspended"
DEGRADED = "degraded"
RESYNCING = "resyncing"
HEALTHY = "healthy"
RESOURCE_MISSING = "resource_missing"
STATE_UNKNOWN = "state_unknown"


class Level(StrEnum):
    """How bad a verdict is; compare with `rank`."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return (Level.OK, Level.WARNING, Level.CRITICAL).index(self)


@dataclass(frozen=True)
class Verdict:
    """One finding about a resource: its level, a stable code, and the reason in one sentence."""

    level: Level
    code: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"level": self.level.value, "code": self.code, "reason": self.reason}


def assess_configured(resources: Iterable[DrbdResource], wanted: str) -> tuple[Verdict, ...]:
    """Verdicts for the configured resource `wanted`; a critical one when the output lacks it."""
    found = tuple(resources)
    resource = find_resource(found, wanted)
    if resource is None:
        seen = ", ".join(r.label for r in found) or "none"
        return (
            _critical(
                RESOURCE_MISSING,
                f"resource {wanted} is not in the DRBD output (resources seen: {seen}); "
                "it is down, not configured on this node, or named differently",
            ),
        )
    return assess(resource)


def assess(resource: DrbdResource) -> tuple[Verdict, ...]:
    """Every finding about one resource, worst first; a single healthy verdict when none."""
    found = [
        *_split_brain_risks(resource),
        *_suspension(resource),
        *_degradations(resource),
        *_resyncs(resource),
    ]
    found.sort(key=lambda verdict: -verdict.level.rank)  # stable: keeps the order within a level
    return tuple(found) or (_healthy(resource),)


def worst(verdicts: Iterable[Verdict]) -> Level:
    """The most severe level among `verdicts` (OK when there are none)."""
    return max(
        (verdict.level for verdict in verdicts), key=lambda level: level.rank, default=Level.OK
    )


def _critical(code: str, reason: str) -> Verdict:
    return Verdict(Level.CRITICAL, code, reason)


def _warning(code: str, reason: str) -> Verdict:
    return Verdict(Level.WARNING, code, reason)


def _split_brain_risks(resource: DrbdResource) -> Iterator[Verdict]:
    for peer in resource.peers:
        if peer.connection == STANDALONE:
            yield _critical(
                SPLIT_BRAIN_RISK,
                f"{resource.label}: the connection to {peer.label} is StandAlone"
                f"{_out_of_sync(peer)}: DRBD will not reconnect by itself (it stops so "
                "after detecting a split brain, or an operator disconnected it), so "
                "both sides may be writing diverging data",
            )
    primaries = [f"this node ({resource.label})"] if resource.role == PRIMARY else []
    primaries += [peer.label for peer in resource.peers if peer.role == PRIMARY]
    if len(primaries) > 1:
        yield _critical(
            SPLIT_BRAIN_RISK,
            f"{resource.label}: {len(primaries)} Primaries ({', '.join(primaries)}): "
            "more than one node can write; unless this resource is meant to be "
            "dual-primary under a cluster file system, the copies will diverge",
        )


def _suspension(resource: DrbdResource) -> Iterator[Verdict]:
    if resource.suspended:
        yield _critical(
            IO_SUSPENDED,
            f"{resource.label}: I/O is suspended ({', '.join(resource.suspended)}): "
            "writes to it hang until DRBD resumes it",
        )


def _degradations(resource: DrbdResource) -> Iterator[Verdict]:
    if not resource.peers:
        yield _warning(
            DEGRADED,
            f"{resource.label}: no peer is configured, so nothing mirrors this data",
        )
    for volume in resource.volumes:
        problem = _local_disk_problem(resource, volume)
        if problem:
            yield Verdict(Level.WARNING, DEGRADED, f"{_where(resource, volume.volume)}: {problem}")
        if volume.quorum is False:
            yield Verdict(
                Level.WARNING, DEGRADED, f"{_where(resource, volume.volume)}: has lost quorum"
            )
    for peer in resource.peers:
        if peer.connection == STANDALONE:
            continue  # reported as a split brain risk
        if not peer.connected:
            yield _warning(
                DEGRADED,
                f"{resource.label}: {peer.label} is {peer.connection}{_out_of_sync(peer)}: "
                "nothing is replicated to it until it connects",
            )
            continue
        for peer_volume in peer.volumes:
            problem = _peer_volume_problem(peer_volume)
            if problem:
                yield _warning(
                    DEGRADED,
                    f"{_where(resource, peer_volume.volume)}: {peer.label} {problem}",
                )


_LOCAL_DISK_MEANING = {
    "Outdated": "its data is known to be older than a peer's; do not promote this node",
    INCONSISTENT: "its data is partly written and unusable until a resync completes",
    DISKLESS: "it has no backing disk; reads and writes go over the network to a peer",
    "Failed": "its backing disk failed with I/O errors and is being detached",
}


def _local_disk_problem(resource: DrbdResource, volume: DrbdVolume) -> str | None:
    if volume.disk == UP_TO_DATE or (volume.disk == DISKLESS and volume.client):
        return None  # healthy, or diskless on purpose (a DRBD client)
    if volume.disk == INCONSISTENT and _receiving_resync(resource, volume.volume):
        return None  # expected while a resync fills it; reported as resyncing
    meaning = _LOCAL_DISK_MEANING.get(volume.disk, "it is not UpToDate")
    return f"local disk is {volume.disk}: {meaning}"


def _peer_volume_problem(peer_volume: DrbdPeerVolume) -> str | None:
    if peer_volume.resyncing:
        return None  # reported as resyncing, disk states included
    if peer_volume.replication == REPLICATION_OFF:
        return "is connected but replication is Off"
    if peer_volume.replication in ("Ahead", "Behind"):
        return (
            f"replication is {peer_volume.replication}: under congestion the peer only "
            "collects which blocks changed and is not up to date"
        )
    if peer_volume.peer_disk == UP_TO_DATE or (
        peer_volume.peer_disk == DISKLESS and peer_volume.peer_client
    ):
        return None
    return f"has disk {peer_volume.peer_disk}, not UpToDate"


def _receiving_resync(resource: DrbdResource, volume: int | None) -> bool:
    return any(
        peer_volume.volume == volume and peer_volume.replication in SYNC_TARGET_STATES
        for peer in resource.peers
        for peer_volume in peer.volumes
    )


def _resyncs(resource: DrbdResource) -> Iterator[Verdict]:
    for peer in resource.peers:
        if not peer.connected:
            continue
        for peer_volume in peer.volumes:
            if peer_volume.resyncing:
                yield _warning(
                    RESYNCING,
                    f"{_where(resource, peer_volume.volume)}: "
                    f"{_resync_sentence(peer, peer_volume)}",
                )


def _resync_sentence(peer: DrbdPeer, peer_volume: DrbdPeerVolume) -> str:
    state = peer_volume.replication
    sending = state in SYNC_SOURCE_STATES
    direction = f"to {peer.label}" if sending else f"from {peer.label}"
    if state.startswith("PausedSync"):
        what = f"resync {direction} is paused"
    elif state in ("SyncSource", "SyncTarget"):
        what = f"resync {direction} in progress"
    else:
        what = f"resync {direction} is starting ({state})"
    progress = (
        f"{peer_volume.sync_percent:.1f}% done"
        if peer_volume.sync_percent is not None
        else "progress not reported"
    )
    if peer_volume.eta_seconds is not None:
        progress += f", about {_duration(peer_volume.eta_seconds)} left"
    stale = peer.label if sending else "this node"
    return f"{what}, {progress}; {stale} holds an incomplete copy until it finishes"


def _healthy(resource: DrbdResource) -> Verdict:
    disks = sorted({f"{v.disk} (client)" if v.client else v.disk for v in resource.volumes})
    count = len(resource.peers)
    peers = "1 peer" if count == 1 else f"{count} peers"
    return Verdict(
        Level.OK,
        HEALTHY,
        f"{resource.label}: {resource.role}, disk {', '.join(disks) or 'none'}, "
        f"{peers} connected and up to date",
    )


def _where(resource: DrbdResource, volume: int | None) -> str:
    """The resource, plus the volume when the resource has several."""
    if volume is None or len(resource.volumes) <= 1:
        return resource.label
    return f"{resource.label} volume {volume}"


def _out_of_sync(peer: DrbdPeer) -> str:
    kib = peer.out_of_sync_kib
    return f" with {kib} KiB out of sync" if kib else ""


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
