"""What becomes of every other node when the delayed replica is promoted (pure).

A node that applied the disaster, or holds anything the new primary lacks, cannot follow the new
primary as if it were a copy of it: it is marked "rebuild from the new primary", with the commands
to do it. A node that holds nothing the new primary lacks could follow it; drkit says how, and
never repoints anything itself.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from drkit.checks.gtids import errant_mariadb, size, subtract
from drkit.checks.replication import applied
from drkit.dialect import Dialect, for_version
from drkit.index.records import IndexedTransaction
from drkit.model.facts import NodeFacts
from drkit.model.gtid import MariadbGtidPos, MysqlGtidSet
from drkit.tls import TlsState

REPLICATION_USER = "<replication user>"
REPLICATION_PASSWORD = "<password>"  # noqa: S105 - a placeholder the operator fills in


class Fate(StrEnum):
    NEW_PRIMARY = "new-primary"
    REBUILD = "rebuild"
    CAN_FOLLOW = "can-follow"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class NodeFate:
    """One node after the promotion: what it is, why, and the commands an operator would run."""

    node: str
    fate: Fate
    reason: str
    commands: tuple[str, ...] = ()
    applied_destructive: bool | None = None

    @property
    def headline(self) -> str:
        words = {
            Fate.NEW_PRIMARY: "the new primary",
            Fate.REBUILD: "rebuild from the new primary",
            Fate.CAN_FOLLOW: "can follow the new primary (not repointed by drkit)",
            Fate.UNKNOWN: "unknown: check it before it serves again",
        }
        return words[self.fate]

    def render(self) -> list[str]:
        lines = [f"{self.node}: {self.headline}: {self.reason}"]
        lines += [f"    {command}" for command in self.commands]
        return lines

    def to_json(self) -> dict[str, object]:
        return {
            "node": self.node,
            "fate": self.fate.value,
            "reason": self.reason,
            "commands": list(self.commands),
            "applied_destructive": self.applied_destructive,
        }


def node_fates(
    new_primary: NodeFacts,
    others: Collection[NodeFacts],
    destructive: IndexedTransaction | None,
    *,
    old_primary: str | None = None,
    reference_executed: str | None = None,
) -> tuple[NodeFate, ...]:
    """The new primary's fate first, then every other node's.

    `reference_executed` is what the new primary held when it was promoted (its own writes after
    that are not something the others should have); by default, what it holds now.
    """
    fates = [
        NodeFate(
            new_primary.name,
            Fate.NEW_PRIMARY,
            _new_primary_reason(new_primary),
            applied_destructive=False if destructive else None,
        )
    ]
    reference = reference_executed if reference_executed is not None else str(new_primary.executed)
    for node in others:
        fates.append(_fate(node, new_primary, reference, destructive, node.name == old_primary))
    return tuple(fates)


def rebuild_commands(node: NodeFacts, new_primary: NodeFacts) -> tuple[str, ...]:
    """Reload `node` from a consistent dump of the new primary, then replicate from it."""
    if new_primary.version is None:
        return ()
    d = for_version(new_primary.version)
    host, port = _host_port(new_primary.address)
    source = f"{new_primary.name}.cnf"
    target = f"{node.name}.cnf"
    if new_primary.is_mariadb:
        dump = (
            f"mariadb-dump --defaults-extra-file={source} --single-transaction --gtid "
            "--master-data=1 --all-databases --routines --events --triggers"
        )
        client = f"mariadb --defaults-extra-file={target}"
    else:
        source_data = (
            "--source-data=1" if new_primary.version.at_least(8, 0, 26) else "--master-data=1"
        )
        dump = (
            f"mysqldump --defaults-extra-file={source} --single-transaction {source_data} "
            "--set-gtid-purged=ON --all-databases --routines --events --triggers"
        )
        client = f"mysql --defaults-extra-file={target}"
    return (
        f"# on {node.name}, emptied (or freshly initialized); X.cnf: a [client] file with "
        "host, port, user, password for X",
        f"{node.name}> {d.stop_replication()}; {d.reset_replica()}; {d.reset_binary_logs()}",
        f"{dump} | {client}",
        f"{node.name}> {_follow(d, host, port, new_primary.tls)}",
    )


def follow_commands(node: NodeFacts, new_primary: NodeFacts) -> tuple[str, ...]:
    """Point a consistent node at the new primary (shown to the operator, never run by drkit)."""
    if new_primary.version is None:
        return ()
    d = for_version(new_primary.version)
    host, port = _host_port(new_primary.address)
    return (f"{node.name}> {d.stop_replication()}; {_follow(d, host, port, new_primary.tls)}",)


def _fate(
    node: NodeFacts,
    new_primary: NodeFacts,
    reference: str,
    destructive: IndexedTransaction | None,
    was_primary: bool,
) -> NodeFate:
    role = "the old primary" if was_primary else "a replica"
    if not node.reachable:
        return NodeFate(
            node.name,
            Fate.UNKNOWN,
            f"{role}, not answering ({node.unreachable_reason}): whatever it holds is unknown; "
            "rebuild it from the new primary before it serves again",
            rebuild_commands(node, new_primary),
        )
    did = applied(node, destructive.gtid) if destructive and destructive.gtid else None
    if did:
        assert destructive is not None
        return NodeFate(
            node.name,
            Fate.REBUILD,
            f"{role} that applied {destructive.label}, which {new_primary.name} did not: "
            "its data holds the damage",
            rebuild_commands(node, new_primary),
            applied_destructive=True,
        )
    extra = _beyond(node, reference, new_primary.is_mariadb)
    if extra:
        return NodeFate(
            node.name,
            Fate.REBUILD,
            f"{role} holding transactions {new_primary.name} lacks ({extra}): following it "
            "would leave them diverged",
            rebuild_commands(node, new_primary),
            applied_destructive=did,
        )
    return NodeFate(
        node.name,
        Fate.CAN_FOLLOW,
        f"{role} holding nothing {new_primary.name} lacks ({str(node.executed) or 'empty'})",
        follow_commands(node, new_primary),
        applied_destructive=did,
    )


def _beyond(node: NodeFacts, reference: str, mariadb: bool) -> str:
    if mariadb:
        mine = node.executed
        assert isinstance(mine, MariadbGtidPos)
        found = errant_mariadb(mine, MariadbGtidPos.parse(reference), node.server_id)
        return "; ".join(found)
    extra = subtract(MysqlGtidSet.parse(node.gtid_executed_text), MysqlGtidSet.parse(reference))
    return f"{extra}, {size(extra)} transactions" if extra.intervals else ""


def _new_primary_reason(facts: NodeFacts) -> str:
    if not facts.reachable:
        return f"does not answer ({facts.unreachable_reason})"
    writable = "writable" if facts.read_only is False else "still read-only"
    replication = "replication reset" if facts.replica is None else "still a replica"
    return f"{writable}, {replication}, server id {facts.server_id}, holds {facts.executed}"


def _follow(d: Dialect, host: str, port: int, tls: TlsState | None = None) -> str:
    change = str(d.change_source(host, port, REPLICATION_USER, REPLICATION_PASSWORD))
    if tls is not None and tls.encrypted:
        # drkit reached the new primary over TLS: so must its replicas, checked the same way.
        change += f"; {d.source_tls(tls.ca, None, None, verify=tls.verified != 'no')}"
    return f"{change}; {d.start_replication()}"


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port) if port.isdigit() else 3306
