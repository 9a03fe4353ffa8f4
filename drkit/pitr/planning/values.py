"""What recovery planning works on: the strategy names, views of the relay logs and the archive, the facts gathered, and the request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from drkit.config import NodeConfig
from drkit.index.records import IndexedTransaction
from drkit.model.coords import BinlogCoord
from drkit.model.facts import NodeFacts


class RecoveryMode(StrEnum):
    """What the operator asked a recovery for; the value is what reports and records say."""

    BEFORE = "before"  # --before: stop just before one transaction
    SKIP = "skip"  # --skip: apply everything but the named transactions
    UNTIL_TIME = "until-time"  # --until-time: everything committed at or before a time

    @classmethod
    def read(cls, value: object) -> RecoveryMode | None:
        """A recorded mode, as any drkit wrote it; None when absent or not one drkit knows."""
        try:
            return cls(value) if isinstance(value, str) else None
        except ValueError:
            return None


class Strategy(StrEnum):
    AUTO = "auto"
    UPSTREAM = "upstream"
    RELAY = "relay"
    ARCHIVE = "archive"


@dataclass(frozen=True)
class RelaySpan:
    """One transaction in the relay logs: where it starts, and where the next one starts."""

    start: BinlogCoord
    after: BinlogCoord


@dataclass(frozen=True)
class RelayView:
    """Where transactions sit in the delayed replica's relay logs (read through the server)."""

    current: BinlogCoord | None  # Relay_Log_File:Relay_Log_Pos, the applier's next read
    positions: Mapping[str, RelaySpan] = field(default_factory=dict)
    last_gtid: str | None = None  # the last complete transaction in the relay logs
    directory: Path | None = None  # readable relay_log_dir, for copying the logs aside
    problem: str | None = None  # why positions could not be read

    def span(self, gtid: str | None) -> RelaySpan | None:
        return None if gtid is None else self.positions.get(gtid)


@dataclass(frozen=True)
class ArchiveView:
    directory: Path
    sizes: Mapping[str, int] = field(default_factory=dict)  # archived binlog file -> bytes

    def covers(self, start: BinlogCoord, stop: BinlogCoord) -> str | None:
        """None when every byte from start to stop is archived; otherwise what is missing."""
        if start.file not in self.sizes:
            return f"the archive lacks {start.file}"
        for name in self.files_between(start, stop):
            if name not in self.sizes:
                return f"the archive lacks {name}"
        if self.sizes.get(stop.file, -1) < stop.pos:
            return f"the archive's {stop.file} ends at {self.sizes.get(stop.file, 0)}, before {stop.pos}"
        return None

    def files_between(self, start: BinlogCoord, stop: BinlogCoord) -> list[str]:
        prefix, _, digits = start.file.rpartition(".")
        width = len(digits)
        return [f"{prefix}.{n:0{width}d}" for n in range(start.sequence, stop.sequence + 1)]


@dataclass(frozen=True)
class Segment:
    """A stretch of transactions to apply: from after `after` up to (not including) `stop`."""

    after: IndexedTransaction | None  # the last transaction already applied when it starts
    stop: IndexedTransaction | None  # the first to leave unapplied; None: to `end`
    first: IndexedTransaction | None  # the first transaction to apply (None: nothing to apply)
    end: IndexedTransaction | None  # the last transaction to apply (None: nothing to apply)
    count: int
    tables: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecoveryFacts:
    """Everything the planner needs, gathered at one moment by drkit.pitr.gather."""

    node: NodeConfig
    delayed: NodeFacts
    primary: NodeFacts | None
    primary_binlogs: tuple[str, ...]
    applied: IndexedTransaction | None  # the last indexed transaction the delayed node applied
    applied_gtid: str | None  # its last applied GTID in the source's domain
    index_end: IndexedTransaction | None
    relay: RelayView
    archive: ArchiveView
    parallel_threads: int | None = None
    applied_in_order: bool = True  # False: some GTID domain lags behind the applied prefix
    index_behind: str | None = None  # the node applied what the index does not hold yet: why


@dataclass(frozen=True)
class RecoveryRequest:
    """What the operator asked for, resolved against the index."""

    mode: RecoveryMode
    stop: IndexedTransaction | None  # stop before this; None: roll on to the end
    skips: tuple[IndexedTransaction, ...] = ()
    segments: tuple[Segment, ...] = ()  # one more than skips
    strategy: Strategy = Strategy.AUTO
    parallel: int = 0  # applier threads during catch-up (MariaDB); 0 leaves the setting alone
    description: str = ""
    end: IndexedTransaction | None = None  # with no stop: the last transaction to apply
    until_time: float | None = None  # --until-time, resolved
    through: tuple[IndexedTransaction, ...] = ()  # destructive ones the operator named
    # MariaDB: gtid_slave_pos as it must be before fetching from the primary, and after the plan
    # (per domain, the last transaction applied or skipped), both read from the index.
    start_position: str | None = None
    final_position: str | None = None
    skip_positions: tuple[str, ...] = ()  # MariaDB: gtid_slave_pos that skips each one
    # MariaDB: the GTID position at the end of each segment that applies something, in order:
    # GTID UNTIL points, immune to the stale coordinates a relay recovery leaves behind.
    until_positions: tuple[str, ...] = ()
