"""Render the drkit.toml a sandbox hands to every other command (pure)."""

from __future__ import annotations

import json

from drkit.sandbox.layout import NODE_ROLES, SandboxLayout
from drkit.sandbox.state import SandboxState


def render_config(layout: SandboxLayout, state: SandboxState) -> str:
    """drkit.toml for this sandbox; paths are relative to the sandbox folder."""
    lines = [
        "# Written by `drkit sandbox up`. Holds sandbox passwords: keep it private (mode 0600).",
        "",
        "[sandbox]",
        'dir = "."',
        "",
        "[index]",
        'path = "index.db"',
        'archive_dir = "binlogs"',
    ]
    if state.tls:
        lines += [
            "",
            "[tls]  # the sandbox's private CA, and drkit's client certificate (REQUIRE X509)",
            'ca = "tls/ca.pem"',
            'cert = "tls/client-cert.pem"',
            'key = "tls/client-key.pem"',
            'verify = "identity"',
        ]
    for name, role in NODE_ROLES.items():
        node = state.nodes[name]
        lines += [
            "",
            f"[nodes.{name}]",
            f"role = {_toml(role.value)}",
            'host = "127.0.0.1"',
            f"port = {node.port}",
            f"user = {_toml(state.tool_account.user)}",
            f"password = {_toml(state.tool_account.password)}",
        ]
        if name == "delayed":
            lines.append(f"delay = {state.delay}")
        if name != "primary":
            relative = layout.node(name).datadir.relative_to(layout.root)
            lines.append(f"relay_log_dir = {_toml(str(relative))}")
    if state.haproxy is not None:
        proxy = state.haproxy
        servers = ", ".join(f"{node} = {_toml(server)}" for node, server in proxy.servers.items())
        lines += [
            "",
            "[loadbalancer]",
            'kind = "haproxy"',
            f"socket = {_toml(proxy.socket)}",
            f"backend = {_toml(proxy.backend)}",
            f'frontend = "127.0.0.1:{proxy.frontend_port}"',
            f"servers = {{ {servers} }}",
        ]
    return "\n".join(lines) + "\n"


def _toml(value: str) -> str:
    # A JSON string is a valid TOML basic string for everything drkit writes.
    return json.dumps(value)
