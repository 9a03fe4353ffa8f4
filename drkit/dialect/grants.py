"""The privileges each drkit feature needs, per flavour, and SHOW GRANTS read back (pure).

MariaDB names are those of 10.5.2 and later (where SUPER was split); MySQL names are 8.0's
dynamic privileges. drkit acts on every schema, so everything is granted ON *.*.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from drkit.dialect.sql import Sql, quote_string, quote_table, read

# What the archive replay applies is whatever the primary ran: every data privilege, on every schema.
_DATA = (
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "CREATE",
    "DROP",
    "ALTER",
    "INDEX",
    "REFERENCES",
    "CREATE TEMPORARY TABLES",
    "LOCK TABLES",
    "CREATE VIEW",
    "SHOW VIEW",
    "TRIGGER",
    "CREATE ROUTINE",
    "ALTER ROUTINE",
    "EXECUTE",
    "EVENT",
)

FEATURES = ("status", "index", "recover", "extract", "promote")
FEATURE_NAMES = {
    "status": "status, check replication, check promotion",
    "index": "index, guard (follow the primary's binlog)",
    "recover": "freeze, recover, resume, inspect (including the archive replay)",
    "extract": "extract, flashback, asof --into",
    "promote": "promote",
}

MARIADB: Mapping[str, tuple[str, ...]] = {
    "status": ("SLAVE MONITOR", "BINLOG MONITOR", "PROCESS"),
    "index": ("REPLICATION SLAVE", "BINLOG MONITOR"),
    # BINLOG REPLAY: the replay's BINLOG statements and session gtid_* / pseudo_thread_id;
    # READ_ONLY ADMIN: it writes on a read-only replica.
    "recover": (
        "REPLICATION SLAVE ADMIN",
        "SLAVE MONITOR",
        "BINLOG MONITOR",
        "BINLOG REPLAY",
        "READ_ONLY ADMIN",
        *_DATA,
    ),
    # DROP, ALTER: the staging tables (extract --merge drops one, asof --into renames one).
    "extract": (
        "SELECT",
        "SHOW VIEW",
        "LOCK TABLES",
        "CREATE",
        "INSERT",
        "UPDATE",
        "DELETE",
        "REFERENCES",
        "DROP",
        "ALTER",
    ),
    # RELOAD: RESET SLAVE ALL on the new primary.
    "promote": ("READ_ONLY ADMIN", "REPLICATION SLAVE ADMIN", "RELOAD", "SLAVE MONITOR", "PROCESS"),
}

MYSQL: Mapping[str, tuple[str, ...]] = {
    "status": ("REPLICATION CLIENT", "PROCESS"),
    "index": ("REPLICATION SLAVE", "REPLICATION CLIENT"),
    # REPLICATION_APPLIER: BINLOG statements; SESSION_VARIABLES_ADMIN: the replay's session
    # variables; CONNECTION_ADMIN: writes on a read_only (not super_read_only) replica.
    "recover": (
        "REPLICATION_SLAVE_ADMIN",
        "REPLICATION CLIENT",
        "REPLICATION_APPLIER",
        "SESSION_VARIABLES_ADMIN",
        "SYSTEM_VARIABLES_ADMIN",
        "CONNECTION_ADMIN",
        *_DATA,
    ),
    # DROP, ALTER: the staging tables (extract --merge drops one, asof --into renames one).
    "extract": (
        "SELECT",
        "SHOW VIEW",
        "LOCK TABLES",
        "CREATE",
        "INSERT",
        "UPDATE",
        "DELETE",
        "REFERENCES",
        "DROP",
        "ALTER",
    ),
    "promote": (
        "SYSTEM_VARIABLES_ADMIN",
        "REPLICATION_SLAVE_ADMIN",
        "RELOAD",
        "REPLICATION CLIENT",
        "PROCESS",
    ),
}

# What ALL PRIVILEGES stands for (static privileges; MySQL's dynamic ones are listed one by one).
_MARIADB_ALL = (
    *_DATA,
    "RELOAD",
    "SHUTDOWN",
    "PROCESS",
    "FILE",
    "SHOW DATABASES",
    "SUPER",
    "REPLICATION SLAVE",
    "BINLOG MONITOR",
    "CREATE USER",
    "CREATE TABLESPACE",
    "DELETE HISTORY",
    "SET USER",
    "FEDERATED ADMIN",
    "CONNECTION ADMIN",
    "READ_ONLY ADMIN",
    "REPLICATION SLAVE ADMIN",
    "REPLICATION MASTER ADMIN",
    "BINLOG ADMIN",
    "BINLOG REPLAY",
    "SLAVE MONITOR",
)
_MYSQL_ALL = (
    *_DATA,
    "RELOAD",
    "SHUTDOWN",
    "PROCESS",
    "FILE",
    "SHOW DATABASES",
    "SUPER",
    "REPLICATION SLAVE",
    "REPLICATION CLIENT",
    "CREATE USER",
    "CREATE TABLESPACE",
    "CREATE ROLE",
    "DROP ROLE",
)

# Older or newer spellings of the same privilege.
_ALIASES = {
    "REPLICA MONITOR": "SLAVE MONITOR",
    "REPLICATION REPLICA": "REPLICATION SLAVE",
    "REPLICATION REPLICA ADMIN": "REPLICATION SLAVE ADMIN",
    "REPLICATION_REPLICA_ADMIN": "REPLICATION_SLAVE_ADMIN",
}

GRANT_OPTION = "GRANT OPTION"


def required(mariadb: bool, features: Iterable[str] = FEATURES) -> dict[str, tuple[str, ...]]:
    """privilege -> the features that need it, for the features asked for."""
    table = MARIADB if mariadb else MYSQL
    needs: dict[str, list[str]] = {}
    for feature in features:
        for privilege in table[feature]:
            needs.setdefault(privilege, [])
            if feature not in needs[privilege]:
                needs[privilege].append(feature)
    return {privilege: tuple(found) for privilege, found in needs.items()}


def current_grants() -> Sql:
    return read("SHOW GRANTS FOR CURRENT_USER()")


def current_account() -> Sql:
    return read("SELECT CURRENT_USER() AS account")


_GRANT = re.compile(r"^GRANT\s+(?P<privs>.+?)\s+ON\s+(?P<level>\S+)\s+TO\s+", re.IGNORECASE)


def global_privileges(rows: Iterable[str], mariadb: bool) -> frozenset[str]:
    """The privileges SHOW GRANTS lines hold ON *.* (ALL PRIVILEGES expanded, GRANT OPTION kept)."""
    held: set[str] = set()
    for line in rows:
        match = _GRANT.match(line.strip())
        if match is None or match.group("level") != "*.*":
            continue
        privileges = match.group("privs")
        if privileges.upper().startswith("PROXY"):
            continue
        for name in privileges.split(","):
            word = " ".join(name.strip().upper().split())
            if word in ("ALL", "ALL PRIVILEGES"):
                held.update(_MARIADB_ALL if mariadb else _MYSQL_ALL)
            elif word == "REPLICATION CLIENT" and mariadb:
                held.add("BINLOG MONITOR")  # its 10.5 name
            elif word and word != "USAGE":
                held.add(_ALIASES.get(word, word))
        if re.search(r"\bWITH\b.*\bGRANT\s+OPTION\b", line, re.IGNORECASE):
            held.add(GRANT_OPTION)
    return frozenset(held)


def only_global(rows: Iterable[str]) -> bool:
    """True when every grant line is ON *.* (or PROXY): no role or schema grant can add more."""
    for line in rows:
        match = _GRANT.match(line.strip())
        if match is None:
            return False  # a role granted to the account
        if match.group("level") != "*.*" and not match.group("privs").upper().startswith("PROXY"):
            return False
    return True


def grant_statement(privileges: Iterable[str], account: str) -> Sql:
    """GRANT ... ON *.* TO account, where `account` is CURRENT_USER()'s 'user'@'host'."""
    return Sql(f"GRANT {', '.join(privileges)} ON *.* TO {_account(account)}")


def grant_on_table(privileges: Iterable[str], table: str, account: str) -> Sql:
    """GRANT ... ON one table: the least a command reading only that table needs."""
    return Sql(f"GRANT {', '.join(privileges)} ON {quote_table(table)} TO {_account(account)}")


def revoke_statement(privileges: Iterable[str], account: str) -> Sql:
    return Sql(f"REVOKE {', '.join(privileges)} ON *.* FROM {_account(account)}")


def _account(account: str) -> str:
    user, _, host = account.rpartition("@")
    if not user:
        user, host = account, "%"
    return f"{quote_string(user.strip('`'))}@{quote_string(host.strip('`') or '%')}"
