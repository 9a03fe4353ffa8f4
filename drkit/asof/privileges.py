"""Before `drkit asof` reads a row: may drkit's account read the table (and, on MariaDB, the
position table the rows are pinned with) on the delayed replica?

The server is asked itself, with statements that read no row: grants may come from roles,
schema or table grants, so a statement refused is the only sure answer; a lack is then said in
one sentence with the grant statement that fixes it (exit 2, nothing read or changed), not a driver
message halfway through.
"""

from __future__ import annotations

from drkit.dialect import asof as sql
from drkit.dialect import grants
from drkit.errors import NodeError
from drkit.io.mysql import Session

# The servers' "command denied" errors (table, column level): io.mysql ends each failed
# statement's message with the server's error number.
_DENIED = ("(error 1142)", "(error 1143)")
POSITION_TABLE = "mysql.gtid_slave_pos"  # MariaDB: the applied position read with the rows


def require_read(session: Session, table: str, what: str = "asof") -> None:
    """MissingPrivileges when the account may not SELECT `table` (or the position table)."""
    from drkit.checks.privileges import MissingPrivileges

    needed = [table] + ([POSITION_TABLE] if session.version.is_mariadb else [])
    lacking = [name for name in needed if _denied(session, name)]
    if not lacking:
        return
    found = session.one(grants.current_account()) or {}
    account = str(found.get("account") or session.node.user)
    fixes = "; ".join(str(grants.grant_on_table(["SELECT"], name, account)) for name in lacking)
    raise MissingPrivileges(
        f"{what} needs SELECT on {' and '.join(lacking)} on {session.node.name}, which "
        f"drkit's account ({account}) lacks; nothing was read or changed",
        hint=f"on {session.node.name}: {fixes} (`drkit check grants` lists what drkit needs)",
    )


def _denied(session: Session, table: str) -> bool:
    """Whether the server refused the account; any other failure (no such table) is for the
    steps after to say."""
    try:
        session.table(sql.may_read(table))
    except NodeError as exc:
        return any(code in exc.message for code in _DENIED)
    return False
