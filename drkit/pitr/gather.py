"""Gather what planning a recovery needs: node facts, the index's view, relay logs, the archive."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from drkit.config import Config, NodeConfig
from drkit.errors import DrkitError, UsageError
from drkit.index.records import IndexedTransaction
from drkit.index.store import IndexStore
from drkit.io.archive import archived_files
from drkit.io.facts import facts_from_session, gather
from drkit.io.mysql import LoginRefused, NodeUnreachable, Session, connect
from drkit.model.coords import BinlogCoord
from drkit.model.facts import NodeFacts, Unreachable
from drkit.model.gtid import MariadbGtid, MariadbGtidPos, MysqlGtid, MysqlGtidSet, parse_gtid
from drkit.pitr.plan import ArchiveView, RecoveryFacts, RelaySpan, RelayView, Segment

RELAY_PAGE = 5000


def gather_recovery_facts(
    config: Config, store: IndexStore, node: NodeConfig, *, relay: bool
) -> RecoveryFacts:
    """Facts for planning on `node`; `relay` also maps the relay logs (slow for big backlogs)."""
    import time

    session: Session | None = None
    try:
        session = connect(node)
    except LoginRefused as exc:
        delayed = NodeFacts.unreachable(node, Unreachable.AUTH, exc.message, time.time())
    except NodeUnreachable as exc:
        delayed = NodeFacts.unreachable(node, Unreachable.NETWORK, exc.message, time.time())
    try:
        parallel = None
        relay_view = RelayView(None, problem="the delayed replica is unreachable")
        if session is not None:
            delayed = facts_from_session(session)
            parallel = _parallel_threads(session)
            relay_view = (
                _relay_view(session, node, delayed, store)
                if relay
                else RelayView(
                    delayed.replica.relay if delayed.replica else None,
                    problem="relay logs not examined",
                    directory=_readable(node.relay_log_dir),
                )
            )
        primary_config = config.primary
        primary = gather(primary_config, timeout=3) if primary_config else None
        binlogs = (
            _binlog_files(primary_config)
            if primary_config and primary and primary.reachable
            else ()
        )
        index_end = store.latest()
        applied_gtid = last_applied_gtid(delayed, index_end)
        applied = store.by_gtid(applied_gtid) if applied_gtid else None
        sizes = {
            path.name: path.stat().st_size for path in archived_files(config.index.archive_dir)
        }
        return RecoveryFacts(
            node=node,
            delayed=delayed,
            primary=primary,
            primary_binlogs=binlogs,
            applied=applied,
            applied_gtid=applied_gtid,
            index_end=index_end,
            relay=relay_view,
            archive=ArchiveView(config.index.archive_dir, sizes),
            parallel_threads=parallel,
        )
    finally:
        if session is not None:
            session.close()


def last_applied_gtid(facts: NodeFacts, reference: IndexedTransaction | None) -> str | None:
    """The node's last applied GTID from the source the index follows (its domain or uuid)."""
    if not facts.reachable or reference is None or reference.gtid is None:
        return None
    sample = parse_gtid(reference.gtid)
    if isinstance(sample, MariadbGtid):
        pos = facts.executed
        assert isinstance(pos, MariadbGtidPos)
        last = pos.last_in_domain(sample.domain)
        if last is None:
            return None
        # The position names the last server to write the domain; the index names the primary.
        return (
            str(MariadbGtid(last.domain, sample.server_id, last.seq))
            if last.server_id != sample.server_id
            else str(last)
        )
    assert isinstance(sample, MysqlGtid)
    gset = MysqlGtidSet.parse(facts.gtid_executed_text)
    for uuid, spans in gset.intervals:
        if uuid == sample.uuid and spans:
            return f"{uuid}:{spans[-1][1]}"
    return None


def segments(
    store: IndexStore,
    applied: IndexedTransaction | None,
    skips: Sequence[IndexedTransaction],
    stop: IndexedTransaction | None,
) -> tuple[Segment, ...]:
    """The stretches to apply between the replica's position, each skipped one, and the stop."""
    found = []
    after = applied
    for boundary in (*skips, stop):
        count, first, last, tables = store.span(
            after.id if after else None, boundary.id if boundary else None
        )
        found.append(Segment(after, boundary, first, last, count, tables))
        after = boundary
    return tuple(found)


def resolve_target(store: IndexStore, text: str) -> IndexedTransaction:
    """TARGET as the operator types it: an index id, a GTID, or `latest-destructive`."""
    from drkit.model.gtid import looks_like_gtid

    value = text.strip()
    if value == "latest-destructive":
        found = store.latest_destructive()
        if found is None:
            raise UsageError("the index holds no destructive transaction (latest-destructive)")
        return found
    if value.isdigit():
        found = store.get(int(value))
        if found is None:
            raise UsageError(f"no transaction #{value} in the index ({store.count()} transactions)")
        return found
    if looks_like_gtid(value):
        found = store.by_gtid(value)
        if found is None:
            raise UsageError(
                f"GTID {value} is not in the index",
                hint="check `drkit events`; run `drkit index` if the primary wrote it recently",
            )
        return found
    raise UsageError(
        f"not a target: {text!r} (an index id, a GTID like 0-1-28, or latest-destructive)"
    )


def _parallel_threads(session: Session) -> int | None:
    try:
        row = session.one(session.dialect.parallel_workers_setting())
    except DrkitError:
        return None
    return int(row["workers"]) if row and row.get("workers") is not None else None


def _binlog_files(node: NodeConfig) -> tuple[str, ...]:
    try:
        session = connect(node, timeout=3)
    except DrkitError:
        return ()
    try:
        return tuple(str(row["Log_name"]) for row in session.rows(session.dialect.binlog_files()))
    except DrkitError:
        return ()
    finally:
        session.close()


def _readable(path: Path | None) -> Path | None:
    if path is None:
        return None
    index = path / "relay-bin.index"
    return path if path.is_dir() and os.access(path, os.R_OK) and index.exists() else None


def _relay_view(
    session: Session, node: NodeConfig, facts: NodeFacts, store: IndexStore
) -> RelayView:
    """Walk the relay logs from the applier's position through SHOW RELAYLOG EVENTS."""
    replica = facts.replica
    directory = _readable(node.relay_log_dir)
    if replica is None or replica.relay is None:
        return RelayView(None, problem="no relay log position is known", directory=directory)
    starts: list[tuple[str, BinlogCoord]] = []
    file, pos = replica.relay.file, replica.relay.pos
    d = session.dialect
    while True:
        try:
            rows = session.rows(d.relaylog_events(file, pos, RELAY_PAGE))
        except DrkitError as exc:
            if starts or file != replica.relay.file:
                break  # past the last relay log file
            return RelayView(
                replica.relay,
                problem=f"cannot read the relay logs: {exc.message}",
                directory=directory,
            )
        for row in rows:
            if str(row.get("Event_type")) == "Gtid":
                gtid = _gtid_of(str(row.get("Info", "")))
                if gtid:
                    starts.append((gtid, BinlogCoord(str(row["Log_name"]), int(row["Pos"]))))
        if len(rows) >= RELAY_PAGE:
            # Continue from the last row's own position (an event start); its repeat is dropped.
            file, pos = str(rows[-1]["Log_name"]), int(rows[-1]["Pos"])
            continue
        file = _next_file(file)
        pos = 4
    positions = {}
    unique = list(dict.fromkeys(starts))
    for index, (gtid, start) in enumerate(unique):
        if index + 1 < len(unique):
            positions[gtid] = RelaySpan(start, unique[index + 1][1])
    last_complete = unique[-2][0] if len(unique) >= 2 else None
    if unique:
        tail_gtid, tail_start = unique[-1]
        record = store.by_gtid(tail_gtid)
        received = replica.read_source
        if record is not None and received is not None and received >= record.end:
            positions[tail_gtid] = RelaySpan(
                tail_start,
                BinlogCoord(tail_start.file, tail_start.pos + record.end_pos - record.start_pos),
            )
            last_complete = tail_gtid
    return RelayView(replica.relay, positions, last_complete, directory)


def _gtid_of(info: str) -> str | None:
    # MariaDB: "BEGIN GTID 0-1-3" / "GTID 0-1-5"; MySQL: "SET @@SESSION.GTID_NEXT= 'uuid:3'".
    for word in info.replace("'", " ").split():
        try:
            parse_gtid(word)
        except ValueError:
            continue
        return word
    return None


def _next_file(name: str) -> str:
    prefix, _, digits = name.rpartition(".")
    return f"{prefix}.{int(digits) + 1:0{len(digits)}d}"
