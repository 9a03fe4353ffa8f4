"""Private client option files: how a password reaches the server's own tools without argv."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from drkit.config import NodeConfig


@contextlib.contextmanager
def client_option_file(node: NodeConfig) -> Iterator[Path]:
    """A [client] file (mode 0600, in a private temp folder) for `--defaults-extra-file`, removed after."""
    folder = Path(tempfile.mkdtemp(prefix="drkit-client-"))
    try:
        path = folder / "client.cnf"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(render(node))
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def render(node: NodeConfig) -> str:
    password = node.password.resolve().replace("\\", "\\\\").replace('"', '\\"')
    lines = ["[client]", f"user = {node.user}", f'password = "{password}"']
    if node.socket:
        lines.append(f"socket = {node.socket}")
    else:
        lines += [f"host = {node.host}", f"port = {node.port}", "protocol = tcp"]
    return "\n".join(lines) + "\n"
