"""Binlog coordinates: a file name and a byte offset, ordered the way the server orders them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_SEQUENCE = re.compile(r"\.(\d+)$")


def file_sequence(name: str) -> int:
    """The numeric suffix of a binlog or relay-log file name (`mysql-bin.000012` -> 12)."""
    match = _SEQUENCE.search(name)
    if match is None:
        raise ValueError(f"not a binlog file name: {name!r}")
    return int(match.group(1))


@dataclass(frozen=True, order=True)
class BinlogCoord:
    """A position in a binlog (or relay log): file and byte offset."""

    sequence: int = field(init=False, repr=False)
    file: str
    pos: int

    def __post_init__(self) -> None:
        if self.pos < 0:
            raise ValueError(f"negative binlog position {self.pos}")
        object.__setattr__(self, "sequence", file_sequence(self.file))

    @classmethod
    def parse(cls, text: str) -> BinlogCoord:
        """Parse `file:pos`."""
        name, sep, pos = text.rpartition(":")
        if not sep or not pos.isdigit():
            raise ValueError(f"not a binlog coordinate (file:pos): {text!r}")
        return cls(name, int(pos))

    def __str__(self) -> str:
        return f"{self.file}:{self.pos}"
