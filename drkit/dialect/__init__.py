"""The only place SQL text is written: one dialect per server flavour, chosen by version."""

from __future__ import annotations

from drkit.dialect.base import Dialect
from drkit.dialect.mariadb import MariadbDialect
from drkit.dialect.mysql import MysqlDialect
from drkit.dialect.sql import Sql
from drkit.model.version import ServerVersion

__all__ = ["Dialect", "MariadbDialect", "MysqlDialect", "Sql", "for_version"]


def for_version(version: ServerVersion) -> Dialect:
    """The dialect that speaks to this server; refuses versions drkit was not built for."""
    if version.is_mariadb:
        if not version.at_least(10, 5):
            raise ValueError(f"{version} is older than MariaDB 10.5, the oldest drkit supports")
        return MariadbDialect(version)
    if not version.at_least(8, 0):
        raise ValueError(f"{version} is older than MySQL 8.0, the oldest drkit supports")
    return MysqlDialect(version)
