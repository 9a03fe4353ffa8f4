"""Gather what planning a recovery needs: node facts, the index's view, relay logs, the archive."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from drkit.compression import binlog_size
from drkit.config import Config, NodeConfig
from drkit.errors import DrkitError, IndexBehind, RefusedError
from drkit.index.position import last_applied, last_applied_gtid, position_at
from drkit.index.records import IndexedTransaction
from drkit.index.store import IndexStore
from drkit.io.archive import archived_files
from drkit.io.facts import facts_from_session, gather_with
from drkit.io.mysql import LoginRefused, NodeUnreachable, Session, connect
from drkit.model.coords import BinlogCoord
from drkit.model.facts import NodeFacts, Unreachable
from drkit.model.gtid import MariadbGtidPos, parse_gtid
from drkit.pitr.plan import ArchiveView, RecoveryFacts, RelaySpan, RelayView, Segment
from drkit.pitr.state import RecoveryState
from drkit.retry import Retry

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
                    directory=readable_relay_dir(node.relay_log_dir),
                )
            )
        primary_config = config.primary
        primary, found = (
            gather_with(primary_config, _binlog_files, timeout=3)
            if primary_config
            else (None, None)
        )
        binlogs = found or ()
        index_end = store.latest()
        applied_gtid = last_applied_gtid(delayed, index_end)
        index_behind = None
        try:
            applied, in_order = last_applied(delayed, store, index_end)
        except IndexBehind as exc:
            applied, in_order, index_behind = None, True, exc.message
        sizes = {
            # Decompressed: the planner compares them with binlog positions.
            path.name: binlog_size(path)
            for path in archived_files(config.index.archive_dir)
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
            applied_in_order=in_order,
            index_behind=index_behind,
        )
    finally:
        if session is not None:
            session.close()


def slave_positions(
    store: IndexStore,
    facts: NodeFacts,
    applied: IndexedTransaction | None,
    skips: Sequence[IndexedTransaction],
    last_id: int | None,
    segment_ends: Sequence[int] = (),
) -> tuple[str | None, str | None, tuple[str, ...], tuple[str, ...]]:
    """MariaDB: gtid_slave_pos as it must be at the applied point, after each skipped
    transaction, at the end of the plan, and at the end of each segment (the UNTIL points);
    read from the index, domain by domain."""
    if not facts.reachable or not facts.is_mariadb or store.latest() is None:
        return None, None, (), ()
    executed = facts.executed
    assert isinstance(executed, MariadbGtidPos)
    base = MariadbGtidPos.parse(facts.gtid_slave_pos_text)
    low = applied.id if applied else None
    high = max([last_id or 0, low or 0, *(s.id for s in skips), *segment_ends])
    domains = {str(gtid.domain) for gtid in executed.by_domain}
    if high:
        domains |= store.domains_between(low, high)

    def at(tx_id: int) -> str:
        return str(position_at(store, base, domains, tx_id))

    return (
        at(applied.id) if applied else None,
        at(high) if high else None,
        tuple(at(s.id) for s in skips),
        tuple(at(end) for end in segment_ends),
    )


def segments(
    store: IndexStore,
    applied: IndexedTransaction | None,
    skips: Sequence[IndexedTransaction],
    stop: IndexedTransaction | None,
    end: IndexedTransaction | None = None,
) -> tuple[Segment, ...]:
    """The stretches to apply between the replica's position, each skipped one, and the stop
    (with no stop: up to `end`, the last indexed transaction when the recovery started)."""
    found = []
    after = applied
    for boundary in (*skips, stop):
        high = boundary.id if boundary else (end.id + 1 if end else None)
        count, first, last, tables = store.span(after.id if after else None, high)
        found.append(Segment(after, boundary, first, last, count, tables))
        after = boundary
    return tuple(found)


def _parallel_threads(session: Session) -> int | None:
    try:
        row = session.one(session.dialect.parallel_workers_setting())
    except DrkitError:
        return None
    return int(row["workers"]) if row and row.get("workers") is not None else None


def _binlog_files(session: Session) -> tuple[str, ...]:
    return tuple(str(row["Log_name"]) for row in session.rows(session.dialect.binlog_files()))


def readable_relay_dir(path: Path | None) -> Path | None:
    if path is None:
        return None
    index = path / "relay-bin.index"
    return path if path.is_dir() and os.access(path, os.R_OK) and index.exists() else None


def _relay_view(
    session: Session, node: NodeConfig, facts: NodeFacts, store: IndexStore
) -> RelayView:
    """Walk the relay logs from the applier's position through SHOW RELAYLOG EVENTS."""
    replica = facts.replica
    directory = readable_relay_dir(node.relay_log_dir)
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


def settle_killed_run(node: NodeConfig, previous: RecoveryState | None, wait: float = 30.0) -> None:
    """Before planning after a killed drkit: its tools are gone and the server has finished
    with their sessions, so the facts read next are final (what they applied stays applied)."""
    import signal
    import time

    if previous is None or not previous.in_progress or previous.owner_alive:
        return
    for pid in previous.children:
        if _is_server_tool(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + wait
    if not Retry(0.05, timeout=wait).until(
        lambda: not any(_is_server_tool(pid) for pid in previous.children)
    ):
        raise RefusedError(
            f"the tools a killed recovery started (pids {list(previous.children)}) do not "
            "exit; nothing was changed",
            hint="stop them by hand, then re-run",
        )
    try:
        session = connect(node)
    except DrkitError:
        return  # planning reports the node's state itself
    with session:
        busy: list[dict[str, Any]] = []
        # The same deadline for both waits: `wait` bounds the whole settling.
        for _ in Retry(0.1, timeout=max(0.0, deadline - time.monotonic())):
            busy = session.rows(session.dialect.busy_sessions(node.user))
            if not busy:
                return
        ids = ", ".join(str(row["id"]) for row in busy)
        raise RefusedError(
            f"sessions of {node.user} left by a killed recovery still run on "
            f"{node.name} (ids {ids}); nothing was changed",
            hint="wait for them to end (SHOW PROCESSLIST), or KILL them, then re-run",
        )


def _is_server_tool(pid: int) -> bool:
    try:
        name = Path(f"/proc/{pid}/comm").read_text(encoding="utf-8").strip()
        state = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[-1].split()
    except OSError:
        return False
    return bool(state) and state[0] != "Z" and ("mariadb" in name or "mysql" in name)
