"""Stop every delayed replica's applier at once, each over a session kept open for the purpose.

A freeze is one statement (the dialect's stop_applier), audited like every statement drkit runs,
between two reads of the node's facts: before, to leave alone a node that has already applied the
transaction (the window is missed there, and stopping it saves nothing); after, to confirm the
applier stopped. Sessions stay open between freezes so the statement is one round trip away.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from drkit.config import NodeConfig
from drkit.errors import DrkitError
from drkit.guard.outcome import (
    ALREADY_FROZEN,
    FAILED,
    FROZEN,
    WINDOW_MISSED,
    NodeOutcome,
    applied,
)
from drkit.index.records import IndexedTransaction
from drkit.io.audit import AuditLog
from drkit.io.facts import facts_from_session
from drkit.io.mysql import Session, connect
from drkit.model.facts import NodeFacts

CONNECT_TIMEOUT = 3.0


class Freezer:
    """Freezes a fixed set of delayed nodes, in parallel, one audited statement each."""

    def __init__(self, nodes: Sequence[NodeConfig], audit: AuditLog) -> None:
        self.nodes = tuple(nodes)
        self.audit = audit
        self._sessions: dict[str, Session] = {}
        self._locks = {node.name: threading.Lock() for node in self.nodes}
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, len(self.nodes)), thread_name_prefix="freeze"
        )

    def warm(self) -> list[str]:
        """Open every session now, so the first freeze does not pay for a login; the failures."""
        problems = []
        for node, problem in zip(
            self.nodes, self._pool.map(self._open_quietly, self.nodes), strict=True
        ):
            if problem:
                problems.append(f"{node.name}: {problem}")
        return problems

    def freeze_all(self, transaction: IndexedTransaction) -> list[NodeOutcome]:
        """Freeze every node at once before `transaction` applies there; one outcome per node."""
        return list(self._pool.map(lambda node: self.freeze(node, transaction), self.nodes))

    def freeze(self, node: NodeConfig, transaction: IndexedTransaction) -> NodeOutcome:
        """Freeze one node (retrying once over a fresh session if the kept one has gone stale)."""
        with self._locks[node.name]:
            for attempt in (1, 2):
                reused = node.name in self._sessions
                try:
                    return self._freeze(self._session(node), node, transaction)
                except DrkitError as exc:
                    self._drop(node)
                    if attempt == 1 and reused:
                        continue
                    # No answer is no news: the node may be applying the transaction right now.
                    return NodeOutcome(
                        node.name, FAILED, f"state unknown: {exc.message}", at=time.time()
                    )
        raise AssertionError("unreachable")

    def facts(self, node: NodeConfig) -> NodeFacts | None:
        """The node's facts over its kept session; None when it does not answer (unknown)."""
        with self._locks[node.name]:
            for attempt in (1, 2):
                reused = node.name in self._sessions
                try:
                    return facts_from_session(self._session(node))
                except DrkitError:
                    self._drop(node)
                    if attempt == 1 and reused:
                        continue
                    return None
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for name in list(self._sessions):
            self._sessions.pop(name).close()

    # -- one node -------------------------------------------------------------------------------

    def _freeze(
        self, session: Session, node: NodeConfig, transaction: IndexedTransaction
    ) -> NodeOutcome:
        before = facts_from_session(session)
        if before.replica is None:
            return NodeOutcome(node.name, FAILED, "no replication configured", at=time.time())
        left = _seconds_left(node, before, transaction)
        if applied(before, transaction):
            return NodeOutcome(
                node.name,
                WINDOW_MISSED,
                f"it has already applied {_name(transaction)}: the delay ran out before the guard saw it",
                str(before.executed) or None,
                at=time.time(),
            )
        if not before.replica.applier_running:
            return NodeOutcome(
                node.name,
                ALREADY_FROZEN,
                "the applier was already stopped",
                str(before.executed) or None,
                left,
                time.time(),
            )
        session.run(session.dialect.stop_applier())
        stopped_at = time.time()
        after = facts_from_session(session)
        executed = str(after.executed) or None
        if after.replica is None or after.replica.applier_running:
            # Only the server's own word that the applier stopped makes a freeze.
            seen = "still runs" if after.replica else "is not reported (no replica status)"
            return NodeOutcome(
                node.name,
                FAILED,
                f"the applier {seen} after the stop",
                executed,
                left,
                stopped_at,
            )
        if applied(after, transaction):
            return NodeOutcome(
                node.name,
                WINDOW_MISSED,
                f"stopped, but it applied {_name(transaction)} just before",
                executed,
                at=stopped_at,
            )
        return NodeOutcome(
            node.name,
            FROZEN,
            "applier stopped; receiver and relay logs kept",
            executed,
            left,
            stopped_at,
        )

    def _session(self, node: NodeConfig) -> Session:
        session = self._sessions.get(node.name)
        if session is None:
            session = connect(node, observer=self.audit, timeout=CONNECT_TIMEOUT)
            self._sessions[node.name] = session
        return session

    def _drop(self, node: NodeConfig) -> None:
        session = self._sessions.pop(node.name, None)
        if session is not None:
            session.close()

    def _open_quietly(self, node: NodeConfig) -> str | None:
        with self._locks[node.name]:
            try:
                self._session(node)
            except DrkitError as exc:
                return exc.message
        return None


def _seconds_left(
    node: NodeConfig, facts: NodeFacts, transaction: IndexedTransaction
) -> float | None:
    delay = facts.replica.sql_delay if facts.replica else node.delay
    if not delay:
        return None
    return transaction.timestamp + delay - time.time()


def _name(transaction: IndexedTransaction) -> str:
    return f"#{transaction.id} ({transaction.gtid or transaction.start})"
