"""Ignore rules: which finding tables an fnmatch pattern list hides, and which a finding names."""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

from drkit.classify.findings import DROP_TABLE, RENAME_TABLE, Finding

# `drkit extract --merge` fills `S.T_drkit_merge` on the primary and drops it once the merge is
# verified; `drkit asof --into S.T2` fills `S.T2_drkit_merge` and renames it to S.T2 once
# verified: scratch tables of drkit's own, reserved by this name (README), whose DROP or RENAME
# takes no data anyone had. Flagged, it would stop every later recovery until named and freeze
# a guard.
STAGING_SUFFIX = "_drkit_merge"


def tables_ignored(tables: Sequence[str], patterns: Sequence[str]) -> bool:
    """Whether ignore patterns cover every table a finding names (the guard's rules use this too)."""
    return all_ignored(tables, patterns)


def all_ignored(tables: Sequence[str], patterns: Sequence[str]) -> bool:
    return bool(tables) and all(table_ignored(table, patterns) for table in tables)


def table_ignored(table: str, patterns: Sequence[str]) -> bool:
    if table.endswith(".*"):
        # A whole database: hidden only by a pattern that covers every table in it.
        database = table[:-2]
        return any(
            pattern == "*" or (pattern.endswith(".*") and fnmatchcase(database, pattern[:-2]))
            for pattern in patterns
        )
    return any(fnmatchcase(table, pattern) for pattern in patterns)


def drops_only_staging(finding: Finding) -> bool:
    """Whether a finding is a DROP TABLE or RENAME TABLE of drkit's staging tables and of
    nothing else (a RENAME finding names the tables renamed away)."""
    return (
        finding.category in (DROP_TABLE, RENAME_TABLE)
        and bool(finding.tables)
        and all(_is_staging(table) for table in finding.tables)
    )


def _is_staging(table: str) -> bool:
    name = table.rpartition(".")[2].strip("`")
    return name.endswith(STAGING_SUFFIX) and len(name) > len(STAGING_SUFFIX)


def names_table(finding: Finding, table: str) -> bool:
    """Whether a statement finding is about `table` ("schema.table" from the row events)."""
    for named in finding.tables:
        if named.endswith(".*") and table.startswith(named[:-1]):
            return True
        if named == table or table.endswith("." + named):
            return True
    return False
