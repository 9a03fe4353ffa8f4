"""Parse the text of `drbdsetup status` / `drbdadm status` (plain or `--verbose --statistics`)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from drkit.model.drbd.resource import (
    CONNECTED,
    DISK_UNKNOWN,
    ESTABLISHED,
    REPLICATION_OFF,
    ROLES,
    DrbdFormat,
    DrbdPeer,
    DrbdPeerVolume,
    DrbdResource,
    DrbdVolume,
    eta,
)

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
    return DrbdPeerVolume(
        volume=0 if volume is None else volume,
        replication=record.text("replication") or default_replication,
        # drbd-utils before 2013 (and the DRBD 9 user guide) print a peer's disk as disk:.
        peer_disk=record.text("peer-disk") or record.text("disk") or DISK_UNKNOWN,
        peer_client=record.yes_no("peer-client"),
        sync_percent=record.number("done"),
        eta_seconds=eta(record.number("eta")),
        out_of_sync_kib=record.integer("out-of-sync"),
    )
