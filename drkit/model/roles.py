"""What a node is for in the topology, and the shape of a configured node the model reads."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class Role(StrEnum):
    PRIMARY = "primary"
    REPLICA = "replica"
    DELAYED = "delayed"


class ConfiguredNode(Protocol):
    """What the model needs of a configured node (drkit.config.NodeConfig is one)."""

    @property
    def name(self) -> str: ...

    @property
    def role(self) -> Role: ...

    @property
    def address(self) -> str: ...

    @property
    def delay(self) -> int | None: ...
