"""Private client option text: how a password reaches the server's own tools without argv or disk.

The text lives in a sealed memfd (a pipe where memfd is missing) that the child inherits; its argv
names it `--defaults-extra-file=/dev/fd/N`. A kill -9 leaves nothing behind: no file ever existed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from drkit.config import NodeConfig
from drkit.io.secrets import (
    InheritedFile,
    check_password,
    inherited_file,
    note_password,
    option_value,
)


@contextlib.contextmanager
def client_option_file(node: NodeConfig, *, mariadb: bool = True) -> Iterator[InheritedFile]:
    """A [client] option file for `--defaults-extra-file`; pass `.pass_fds` to the child."""
    with inherited_file(render(node, mariadb=mariadb).encode("utf-8")) as handle:
        yield handle


def render(node: NodeConfig, *, mariadb: bool = True) -> str:
    """The option text: login, address, and the node's TLS settings in the tools' own names."""
    password = check_password(node.password.resolve(), f"node {node.name}")
    note_password(password)
    lines = [
        "[client]",
        f"user = {option_value(node.user)}",
        f"password = {option_value(password)}",
    ]
    if node.socket:
        lines.append(f"socket = {option_value(node.socket)}")
    else:
        lines += [f"host = {option_value(node.host)}", f"port = {node.port}", "protocol = tcp"]
        tls = getattr(node, "tls", None)
        if tls is not None:
            lines += tls.option_lines(mariadb=mariadb)
    return "\n".join(lines) + "\n"
