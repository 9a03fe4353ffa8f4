"""Parse `/proc/drbd` (DRBD 8.4): its one `cs:` field is split into DRBD 9's words."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from drkit.model.drbd.resource import (
    CONNECTED,
    CONNECTING,
    ESTABLISHED,
    REPLICATION_OFF,
    ROLES,
    SYNC_STATES,
    DrbdFormat,
    DrbdPeer,
    DrbdPeerVolume,
    DrbdResource,
    DrbdVolume,
)

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
