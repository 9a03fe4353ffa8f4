"""The binlog files of MariaDB's own test suite (Debian's `mariadb-test` package): 34 files from
MySQL 4.0 to MySQL 8.0 and MariaDB 10.4, written by servers no one here controls."""

from __future__ import annotations

import os
from pathlib import Path

MYSQL_TEST = Path(os.environ.get("DRKIT_MYSQL_TEST", "/usr/share/mysql/mysql-test"))
STD_DATA = MYSQL_TEST / "std_data"
SUITE_BINLOG = MYSQL_TEST / "suite" / "binlog" / "std_data"
MISSING = f"MariaDB's test suite is not installed ({STD_DATA}): apt-get install mariadb-test"


def std_data_binlogs() -> list[Path]:
    """Every file under a `std_data` folder of the test suite that starts like a binlog."""
    found: list[Path] = []
    for folder, _dirs, names in os.walk(MYSQL_TEST):
        if "std_data" not in Path(folder).parts:
            continue
        for name in names:
            path = Path(folder) / name
            with path.open("rb") as handle:
                if handle.read(4) == b"\xfebin":
                    found.append(path)
    return sorted(found, key=lambda path: path.name)


def std_file(name: str) -> Path:
    """A test-suite binlog by name, from std_data or the binlog suite's std_data."""
    for folder in (STD_DATA, STD_DATA / "rpl", SUITE_BINLOG):
        if (folder / name).exists():
            return folder / name
    raise FileNotFoundError(name)
