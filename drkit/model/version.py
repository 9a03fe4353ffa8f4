"""Server versions parsed into a typed value, so code never compares version strings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Flavour(StrEnum):
    """The SQL family a server belongs to."""

    MARIADB = "mariadb"
    MYSQL = "mysql"


# MariaDB's handshake once prefixed its version with "5.5.5-" to keep old clients happy.
_LEGACY_PREFIX = re.compile(r"^5\.5\.5-")
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True, order=True)
class ServerVersion:
    """A server's flavour and numeric version; ordered within a flavour."""

    flavour: Flavour
    major: int
    minor: int
    patch: int
    text: str = ""

    @classmethod
    def parse(cls, text: str, comment: str = "") -> ServerVersion:
        """Parse `SELECT VERSION()` (and optionally `@@version_comment`) into a value."""
        raw = text.strip()
        body = _LEGACY_PREFIX.sub("", raw)
        match = _VERSION.match(body)
        if match is None:
            raise ValueError(f"not a server version: {text!r}")
        major, minor, patch = (int(part) for part in match.groups())
        is_mariadb = "mariadb" in raw.lower() or "mariadb" in comment.lower()
        flavour = Flavour.MARIADB if is_mariadb else Flavour.MYSQL
        return cls(flavour, major, minor, patch, raw)

    @property
    def number(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def at_least(self, major: int, minor: int = 0, patch: int = 0) -> bool:
        return self.number >= (major, minor, patch)

    @property
    def is_mariadb(self) -> bool:
        return self.flavour is Flavour.MARIADB

    def __str__(self) -> str:
        name = "MariaDB" if self.is_mariadb else "MySQL"
        return f"{name} {self.major}.{self.minor}.{self.patch}"
