"""What the classifier reports: severities, finding classes, findings, rules and row counts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any


class Severity(IntEnum):
    """How bad a finding is; ordered, so max() picks the worst."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        """The severity named by `text` ("low" ... "critical", any case)."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            allowed = ", ".join(member.label for member in cls)
            raise ValueError(f"unknown severity {text!r} (allowed: {allowed})") from None

    @property
    def label(self) -> str:
        """The lower-case name used in JSON and configuration."""
        return self.name.lower()


DROP_DATABASE = "drop_database"
DROP_TABLE = "drop_table"
TRUNCATE = "truncate"
DELETE_WITHOUT_WHERE = "delete_without_where"
UPDATE_WITHOUT_WHERE = "update_without_where"
ALTER_DROP = "alter_drop"
RENAME_TABLE = "rename_table"
MASS_DELETE = "mass_delete"
MASS_UPDATE = "mass_update"
BINLOG_INCIDENT = "binlog_incident"
# The classes row counts give (the rest come from statement texts).
MASS_CLASSES = frozenset({MASS_DELETE, MASS_UPDATE})

SEVERITIES: Mapping[str, Severity] = {
    DROP_DATABASE: Severity.CRITICAL,
    DROP_TABLE: Severity.CRITICAL,
    TRUNCATE: Severity.CRITICAL,
    DELETE_WITHOUT_WHERE: Severity.CRITICAL,
    UPDATE_WITHOUT_WHERE: Severity.HIGH,
    ALTER_DROP: Severity.HIGH,
    RENAME_TABLE: Severity.MEDIUM,
    MASS_DELETE: Severity.HIGH,
    MASS_UPDATE: Severity.MEDIUM,
    BINLOG_INCIDENT: Severity.CRITICAL,
}


@dataclass(frozen=True)
class Finding:
    """One destructive thing a transaction does; `category` is the JSON key "class"."""

    category: str
    severity: Severity
    reason: str
    tables: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "class": self.category,
            "severity": self.severity.label,
            "reason": self.reason,
            "tables": list(self.tables),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Finding:
        """The finding `to_json` wrote (as stored in the index)."""
        return cls(
            str(data["class"]),
            Severity.parse(str(data["severity"])),
            str(data["reason"]),
            tuple(str(table) for table in data.get("tables", ())),
        )


@dataclass(frozen=True)
class RowCounts:
    """Rows one transaction changed in one table, from its row events."""

    inserts: int = 0
    updates: int = 0
    deletes: int = 0


@dataclass(frozen=True)
class ClassifyRules:
    """Thresholds and exceptions: `mass_rows` or more rows per table and transaction is mass."""

    mass_rows: int = 1000
    ignore_tables: tuple[str, ...] = ()  # fnmatch patterns on "schema.table"

    def __post_init__(self) -> None:
        if self.mass_rows < 1:
            raise ValueError(f"mass_rows must be at least 1, not {self.mass_rows}")


DEFAULT_RULES = ClassifyRules()
