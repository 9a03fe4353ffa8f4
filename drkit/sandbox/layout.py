"""Where a sandbox keeps its files; pure path arithmetic."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from drkit.config import Role

NODE_ROLES: dict[str, Role] = {
    "primary": Role.PRIMARY,
    "replica": Role.REPLICA,
    "delayed": Role.DELAYED,
}
SERVER_IDS = {"primary": 1, "replica": 2, "delayed": 3}

# UNIX socket paths are limited to 107 bytes; deep sandbox folders put their sockets in /tmp.
_SOCKET_PATH_LIMIT = 100


@dataclass(frozen=True)
class NodeLayout:
    name: str
    root: Path

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def options_file(self) -> Path:
        return self.root / "my.cnf"

    @property
    def client_file(self) -> Path:
        return self.root / "client.cnf"

    @property
    def error_log(self) -> Path:
        return self.root / "error.log"

    @property
    def pid_file(self) -> Path:
        return self.root / "server.pid"

    @property
    def tmpdir(self) -> Path:
        return self.root / "tmp"


@dataclass(frozen=True)
class SandboxLayout:
    root: Path

    @property
    def config_file(self) -> Path:
        return self.root / "drkit.toml"

    @property
    def state_file(self) -> Path:
        return self.root / "sandbox.json"

    @property
    def app_client_file(self) -> Path:
        return self.root / "app.cnf"

    @property
    def haproxy_dir(self) -> Path:
        return self.root / "haproxy"

    def node(self, name: str) -> NodeLayout:
        return NodeLayout(name, self.root / "nodes" / name)

    def nodes(self) -> list[NodeLayout]:
        return [self.node(name) for name in NODE_ROLES]

    def socket_dir(self) -> Path:
        """A folder for UNIX sockets short enough for the kernel's path limit."""
        candidate = self.root / "run"
        if len(str(candidate / "primary.sock")) <= _SOCKET_PATH_LIMIT:
            return candidate
        digest = hashlib.sha1(str(self.root).encode(), usedforsecurity=False).hexdigest()[:10]
        return Path(tempfile.gettempdir()) / f"drkit-{digest}"

    def socket(self, name: str) -> Path:
        return self.socket_dir() / f"{name}.sock"
