"""`drkit check grants`: per node, what drkit's account lacks and what it holds beyond need (pure).

The needs come from drkit/dialect/grants.py; every node gets the union of every feature, since
roles change (promotion makes the delayed replica the primary). A missing privilege names the
features that need it; the fix is one statement granting and one revoking, per node.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from drkit.dialect import grants as table
from drkit.dialect.sql import Sql


@dataclass(frozen=True)
class NodeGrants:
    """What one node's account holds against what drkit needs, with the statements to fix it."""

    node: str
    account: str | None
    reachable: bool
    problem: str = ""
    missing: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # privilege -> features
    excess: tuple[str, ...] = ()
    statements: tuple[Sql, ...] = ()

    @property
    def ok(self) -> bool:
        return self.reachable and not self.missing and not self.excess

    def to_json(self) -> dict[str, object]:
        return {
            "node": self.node,
            "account": self.account,
            "reachable": self.reachable,
            "problem": self.problem or None,
            "ok": self.ok,
            "missing": [
                {"privilege": privilege, "needed_by": list(features)}
                for privilege, features in self.missing.items()
            ],
            "excess": list(self.excess),
            "statements": [str(s) for s in self.statements],
        }


def compare(
    node: str,
    account: str,
    held: Iterable[str],
    *,
    mariadb: bool,
    features: Iterable[str] = table.FEATURES,
) -> NodeGrants:
    """The verdict on one node's account from the privileges it holds ON *.*."""
    needs = table.required(mariadb, features)
    have = frozenset(held)
    missing = {p: f for p, f in needs.items() if p not in have}
    excess = tuple(sorted(p for p in have if p not in needs))
    statements: list[Sql] = []
    if missing:
        statements.append(table.grant_statement(missing, account))
    if excess:
        statements.append(table.revoke_statement(excess, account))
    return NodeGrants(node, account, True, "", missing, excess, tuple(statements))


def unreachable(node: str, problem: str) -> NodeGrants:
    return NodeGrants(node, None, False, problem)


def lacking(report: NodeGrants, features: Iterable[str]) -> tuple[str, ...]:
    """The privileges `features` need that the account lacks (for a refusal before a first step)."""
    wanted = set(features)
    return tuple(p for p, f in report.missing.items() if wanted & set(f))


def render(reports: Iterable[NodeGrants]) -> str:
    lines = []
    for report in reports:
        head = f"{report.node}"
        if not report.reachable:
            lines.append(f"{head}: not checked: {report.problem}")
            continue
        if report.ok:
            lines.append(f"{head}: {report.account} holds exactly what drkit needs")
            continue
        lines.append(f"{head}: {report.account}")
        for privilege, features in report.missing.items():
            lines.append(f"  missing  {privilege}  (needed by {', '.join(features)})")
        for privilege in report.excess:
            lines.append(f"  excess   {privilege}")
        for statement in report.statements:
            lines.append(f"  fix: {statement};")
    return "\n".join(lines)
