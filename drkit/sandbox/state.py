"""sandbox.json: what `drkit sandbox up` started, so `down` and `status` act on exactly that."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from drkit.errors import SandboxError


@dataclass(frozen=True)
class NodeState:
    name: str
    port: int
    server_id: int
    pid: int | None = None


@dataclass(frozen=True)
class HaproxyState:
    """Where the sandbox's HAProxy listens; its process is tracked by drkit.sandbox.haproxy."""

    frontend_port: int
    socket: str
    backend: str
    servers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Account:
    user: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class SandboxState:
    flavour: str
    version: str
    delay: int
    admin: Account
    replication: Account
    application: Account
    nodes: dict[str, NodeState]
    haproxy: HaproxyState | None = None
    docker: bool = False
    tls: bool = False  # `sandbox up --tls`: certificates in DIR/tls, TLS required everywhere
    # drkit's own account, holding exactly what drkit needs (`admin` holds everything, for people
    # and tests); sandboxes made before it existed use `admin` for drkit too.
    drkit: Account | None = None

    @property
    def tool_account(self) -> Account:
        return self.drkit or self.admin

    def with_node(self, node: NodeState) -> SandboxState:
        return replace(self, nodes={**self.nodes, node.name: node})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SandboxState:
        haproxy = data.get("haproxy")
        return cls(
            flavour=data["flavour"],
            version=data["version"],
            delay=int(data["delay"]),
            admin=Account(**data["admin"]),
            replication=Account(**data["replication"]),
            application=Account(**data["application"]),
            nodes={name: NodeState(**node) for name, node in data["nodes"].items()},
            haproxy=HaproxyState(**haproxy) if haproxy else None,
            docker=bool(data.get("docker", False)),
            tls=bool(data.get("tls", False)),
            drkit=Account(**data["drkit"]) if data.get("drkit") else None,
        )


def load_state(path: Path) -> SandboxState | None:
    """The recorded sandbox, None if there is none; SandboxError if the file is damaged."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SandboxError(f"{path}: unreadable sandbox state: {exc}") from None
    try:
        return SandboxState.from_json(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise SandboxError(f"{path}: damaged sandbox state ({exc})") from None


def save_state(path: Path, state: SandboxState) -> None:
    """Write atomically and private (it holds the sandbox's passwords)."""
    write_private(path, json.dumps(state.to_json(), indent=2) + "\n")


def write_private(path: Path, text: str) -> None:
    """Write a file readable only by its owner, atomically (temp file + rename)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
