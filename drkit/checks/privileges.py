"""Read each node's account and grants for `drkit check grants`."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from drkit.checks.grants import NodeGrants, compare, lacking, unreachable
from drkit.config import Config, NodeConfig
from drkit.dialect import grants as table
from drkit.errors import DrkitError, ExitCode
from drkit.io.mysql import DEFAULT_CONNECT_TIMEOUT, connect


def node_grants(
    node: NodeConfig,
    features: Iterable[str] = table.FEATURES,
    timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> NodeGrants:
    """One node's verdict; a node that cannot be asked says why (a refused login raises)."""
    try:
        session = connect(node, timeout=timeout)
    except DrkitError as exc:
        if exc.exit_code == 2:
            raise
        return unreachable(node.name, exc.message)
    with session:
        try:
            account_row = session.one(table.current_account()) or {}
            account = str(account_row.get("account") or f"{node.user}@%")
            rows = [str(next(iter(row.values()))) for row in session.rows(table.current_grants())]
            held = table.global_privileges(rows, session.version.is_mariadb)
            return compare(
                node.name, account, held, mariadb=session.version.is_mariadb, features=features
            )
        except DrkitError as exc:
            return unreachable(node.name, exc.message)


def all_grants(config: Config, timeout: float = DEFAULT_CONNECT_TIMEOUT) -> list[NodeGrants]:
    nodes = list(config.nodes.values())
    with ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
        futures = [pool.submit(node_grants, node, table.FEATURES, timeout) for node in nodes]
        return [future.result() for future in futures]


class MissingPrivileges(DrkitError):
    """drkit's account lacks what a command needs: said before its first step (exit 2)."""

    exit_code = ExitCode.USAGE


def require_privileges(nodes: Iterable[NodeConfig], features: Iterable[str], what: str) -> None:
    """Refuse `what` before its first step when a node's account surely lacks a privilege it needs.

    Only accounts whose every grant is ON *.* are judged: roles and schema grants may hold the
    rest, and a doubt must never stop a recovery. Unreachable nodes are the plan's business.
    """
    wanted = tuple(features)
    problems = []
    for node in nodes:
        try:
            session = connect(node)
        except DrkitError:
            continue
        with session:
            try:
                rows = [
                    str(next(iter(row.values()))) for row in session.rows(table.current_grants())
                ]
                if not table.only_global(rows):
                    continue
                account_row = session.one(table.current_account()) or {}
                account = str(account_row.get("account") or node.user)
                mariadb = session.version.is_mariadb
                report = compare(
                    node.name, account, table.global_privileges(rows, mariadb), mariadb=mariadb
                )
                missing = lacking(report, wanted)
                if missing:
                    problems.append(
                        f"node {node.name}: {account} lacks {', '.join(missing)} "
                        f"({table.grant_statement(missing, account)})"
                    )
            except DrkitError:
                continue
    if problems:
        raise MissingPrivileges(
            f"{what} needs privileges drkit's account does not have; nothing was changed: "
            + "; ".join(problems),
            hint="`drkit check grants` lists them per node with the statements to run (docs/grants.md)",
        )
