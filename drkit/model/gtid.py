"""GTIDs and GTID positions for both flavours.

MariaDB identifies a transaction by domain-server-sequence and a replica's position by the last
GTID per domain (strict mode keeps sequences increasing within a domain). MySQL identifies it by
source_uuid:number and a position by a set of intervals per uuid. MySQL 8.3+ may tag a GTID
(`uuid:tag:number`): a tagged GTID's source is then `uuid:tag` here, a key of its own in a set,
as MySQL counts each tag's numbers apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

_MARIADB_GTID = re.compile(r"^(\d+)-(\d+)-(\d+)$")
_MYSQL_GTID = re.compile(
    r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"(?::[A-Za-z_][A-Za-z0-9_]{0,31})?):(\d+)$"
)
_MYSQL_TAG = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")
_MYSQL_INTERVAL = re.compile(r"^(\d+)(?:-(\d+))?$")


@dataclass(frozen=True, order=True)
class MariadbGtid:
    domain: int
    server_id: int
    seq: int

    def __str__(self) -> str:
        return f"{self.domain}-{self.server_id}-{self.seq}"


@dataclass(frozen=True, order=True)
class MysqlGtid:
    uuid: str
    number: int

    def __str__(self) -> str:
        return f"{self.uuid}:{self.number}"


Gtid = MariadbGtid | MysqlGtid


def parse_gtid(text: str) -> Gtid:
    """Parse one GTID in either flavour; ValueError names the text when it is neither."""
    value = text.strip()
    match = _MARIADB_GTID.match(value)
    if match:
        domain, server_id, seq = (int(part) for part in match.groups())
        return MariadbGtid(domain, server_id, seq)
    match = _MYSQL_GTID.match(value)
    if match:
        return MysqlGtid(match.group(1).lower(), int(match.group(2)))
    raise ValueError(f"not a GTID: {text!r} (expected 0-1-28 or uuid:28)")


def looks_like_gtid(text: str) -> bool:
    value = text.strip()
    return bool(_MARIADB_GTID.match(value) or _MYSQL_GTID.match(value))


class GtidSet(Protocol):
    """What a replica has executed, asked the one question recovery needs."""

    def contains(self, gtid: Gtid) -> bool: ...

    def __str__(self) -> str: ...


@dataclass(frozen=True)
class MariadbGtidPos:
    """A MariaDB GTID position: the last applied GTID of each replication domain."""

    by_domain: tuple[MariadbGtid, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> MariadbGtidPos:
        if not text or not text.strip():
            return cls()
        latest: dict[int, MariadbGtid] = {}
        for part in text.replace("\n", "").split(","):
            gtid = parse_gtid(part)
            if not isinstance(gtid, MariadbGtid):
                raise ValueError(f"not a MariaDB GTID position: {text!r}")
            current = latest.get(gtid.domain)
            if current is None or gtid.seq > current.seq:
                latest[gtid.domain] = gtid
        return cls(tuple(sorted(latest.values())))

    def contains(self, gtid: Gtid) -> bool:
        if not isinstance(gtid, MariadbGtid):
            return False
        last = self.last_in_domain(gtid.domain)
        return last is not None and last.seq >= gtid.seq

    def last_in_domain(self, domain: int) -> MariadbGtid | None:
        for gtid in self.by_domain:
            if gtid.domain == domain:
                return gtid
        return None

    def merged(self, other: MariadbGtidPos) -> MariadbGtidPos:
        """Per domain, the later of the two positions."""
        latest = {gtid.domain: gtid for gtid in self.by_domain}
        for gtid in other.by_domain:
            if gtid.domain not in latest or gtid.seq > latest[gtid.domain].seq:
                latest[gtid.domain] = gtid
        return MariadbGtidPos(tuple(sorted(latest.values())))

    def with_gtid(self, gtid: MariadbGtid) -> MariadbGtidPos:
        """This position moved on to `gtid` in its domain (what skipping a transaction needs)."""
        others = tuple(g for g in self.by_domain if g.domain != gtid.domain)
        return MariadbGtidPos(tuple(sorted((*others, gtid))))

    def __str__(self) -> str:
        return ",".join(str(gtid) for gtid in self.by_domain)


@dataclass(frozen=True)
class MysqlGtidSet:
    """A MySQL GTID set: closed intervals of transaction numbers per source uuid."""

    intervals: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> MysqlGtidSet:
        if not text or not text.strip():
            return cls()
        by_uuid: dict[str, list[tuple[int, int]]] = {}
        for member in text.replace("\n", "").split(","):
            uuid, *ranges = member.strip().split(":")
            if not ranges:
                raise ValueError(f"not a MySQL GTID set: {text!r}")
            uuid = uuid.lower()
            spans = by_uuid.setdefault(uuid, [])
            for span in ranges:
                if _MYSQL_TAG.match(span):
                    # `uuid:1-5:tag:1-3`: the intervals that follow are the tag's.
                    spans = by_uuid.setdefault(f"{uuid}:{span.lower()}", [])
                    continue
                match = _MYSQL_INTERVAL.match(span)
                if match is None:
                    raise ValueError(f"not a MySQL GTID set: {text!r}")
                low = int(match.group(1))
                high = int(match.group(2) or low)
                spans.append((low, high))
        return cls(tuple((uuid, _merge(spans)) for uuid, spans in sorted(by_uuid.items()) if spans))

    def contains(self, gtid: Gtid) -> bool:
        if not isinstance(gtid, MysqlGtid):
            return False
        for uuid, spans in self.intervals:
            if uuid == gtid.uuid:
                return any(low <= gtid.number <= high for low, high in spans)
        return False

    def __str__(self) -> str:
        parts = []
        for uuid, spans in self.intervals:
            text = ":".join(f"{lo}-{hi}" if hi != lo else str(lo) for lo, hi in spans)
            parts.append(f"{uuid}:{text}")
        return ",".join(parts)


def _merge(spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for low, high in sorted(spans):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
        else:
            merged.append((low, high))
    return tuple(merged)


def parse_gtid_set(text: str | None, mariadb: bool) -> MariadbGtidPos | MysqlGtidSet:
    return MariadbGtidPos.parse(text) if mariadb else MysqlGtidSet.parse(text)
