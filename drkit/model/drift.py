"""Whether the servers still play the roles drkit.toml gives them (pure): after a promotion they
do not, and drkit does not edit the config itself."""

from __future__ import annotations

from collections.abc import Sequence

from drkit.model.facts import NodeFacts
from drkit.model.roles import Role


def role_drift(nodes: Sequence[NodeFacts]) -> tuple[str, ...]:
    """One sentence per configured role the servers contradict (nothing for nodes not answering)."""
    found: list[str] = []
    promoted = [
        n
        for n in nodes
        if n.role is not Role.PRIMARY and n.reachable and n.replica is None and n.read_only is False
    ]
    for node in promoted:
        found.append(
            f"{node.name} (configured {node.role.value}) is writable with no replication: it "
            f'looks promoted; set role = "primary" for it in drkit.toml'
        )
    for node in nodes:
        if node.role is Role.PRIMARY and node.reachable and node.read_only:
            found.append(
                f"{node.name} (configured primary) is read-only: the old primary, fenced; give it "
                "its new role in drkit.toml (or rebuild it)"
                if promoted
                else f"{node.name} (configured primary) is read-only: nothing can write (fenced, "
                "or no longer the primary?)"
            )
    return tuple(found)
