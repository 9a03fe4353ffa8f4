"""GTID arithmetic the checks need: errant transactions and counting along the primary's stream.

MariaDB positions keep only the last GTID per domain, so "what is missing" is a range of sequence
numbers; MySQL sets are intervals per source uuid, so it is a set difference. Both flavours number
the primary's transactions upwards along one stream (a MariaDB domain, a MySQL uuid): the checks
count along that stream.
"""

from __future__ import annotations

from dataclasses import dataclass

from drkit.model.gtid import MariadbGtid, MariadbGtidPos, MysqlGtid, MysqlGtidSet, parse_gtid


@dataclass(frozen=True)
class Stream:
    """The primary's numbering of its transactions: a MariaDB domain or a MySQL source uuid."""

    mariadb: bool
    domain: int = 0
    server_id: int = 0  # MariaDB: the primary's server id, to name GTIDs along the stream
    uuid: str = ""

    @classmethod
    def of(cls, gtid: str) -> Stream:
        """The stream a GTID of the primary belongs to; ValueError when it is not a GTID."""
        parsed = parse_gtid(gtid)
        if isinstance(parsed, MariadbGtid):
            return cls(True, domain=parsed.domain, server_id=parsed.server_id)
        return cls(False, uuid=parsed.uuid)

    def number(self, gtid: str) -> int | None:
        """The GTID's place along this stream; None when it belongs to another stream."""
        parsed = parse_gtid(gtid)
        if isinstance(parsed, MariadbGtid):
            return parsed.seq if self.mariadb and parsed.domain == self.domain else None
        return parsed.number if not self.mariadb and parsed.uuid == self.uuid else None

    def last(self, position: str) -> int:
        """The highest number of this stream in a position or set (0 when it has none)."""
        if not position.strip():
            return 0
        if self.mariadb:
            found = MariadbGtidPos.parse(position).last_in_domain(self.domain)
            return found.seq if found else 0
        for uuid, spans in MysqlGtidSet.parse(position).intervals:
            if uuid == self.uuid and spans:
                return spans[-1][1]
        return 0

    def name(self, number: int) -> str:
        """The GTID at `number` along the stream, as the primary wrote it."""
        if self.mariadb:
            return str(MariadbGtid(self.domain, self.server_id, number))
        return str(MysqlGtid(self.uuid, number))

    def span(self, low: int, high: int) -> str:
        """`0-1-7` or `0-1-7 .. 0-1-9`."""
        return self.name(low) if low == high else f"{self.name(low)} .. {self.name(high)}"


def errant_mariadb(
    replica: MariadbGtidPos, primary: MariadbGtidPos, replica_server_id: int | None
) -> list[str]:
    """What the replica holds that the primary never had, one sentence per domain.

    A domain the primary never wrote, or a sequence beyond the primary's, is certain; the replica's
    own server id on its last GTID where the primary's differs means it wrote that one itself.
    """
    found = []
    for mine in replica.by_domain:
        theirs = primary.last_in_domain(mine.domain)
        if theirs is None:
            found.append(f"domain {mine.domain} ({mine}), which the primary never had")
        elif mine.seq > theirs.seq:
            found.append(f"{mine}, beyond the primary's {theirs} in domain {mine.domain}")
        elif (
            replica_server_id is not None
            and mine.server_id == replica_server_id
            and theirs.server_id != replica_server_id
        ):
            found.append(f"{mine}, written on the replica itself (server id {mine.server_id})")
    return found


def subtract(left: MysqlGtidSet, right: MysqlGtidSet) -> MysqlGtidSet:
    """The GTIDs in `left` and not in `right`."""
    theirs = dict(right.intervals)
    result = []
    for uuid, spans in left.intervals:
        remaining = list(spans)
        for low, high in theirs.get(uuid, ()):
            remaining = [piece for span in remaining for piece in _cut(span, low, high)]
        if remaining:
            result.append((uuid, tuple(remaining)))
    return MysqlGtidSet(tuple(result))


def size(gtids: MysqlGtidSet) -> int:
    """How many transactions a set names."""
    return sum(high - low + 1 for _, spans in gtids.intervals for low, high in spans)


def _cut(span: tuple[int, int], low: int, high: int) -> list[tuple[int, int]]:
    start, end = span
    if high < start or low > end:
        return [span]
    pieces = []
    if start < low:
        pieces.append((start, low - 1))
    if end > high:
        pieces.append((high + 1, end))
    return pieces
