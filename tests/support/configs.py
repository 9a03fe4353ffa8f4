"""Config texts the unit tests share: nothing connects to these nodes (port 3306 is never used)."""

from __future__ import annotations

# A primary and a delayed replica an hour late, as TOML; tests append the sections they need.
TWO_NODES = """
[nodes.primary]
role = "primary"
host = "127.0.0.1"
port = 13306
user = "drkit"
password = "x"

[nodes.delayed]
role = "delayed"
host = "127.0.0.1"
port = 13308
user = "drkit"
password = "x"
delay = 3600
"""
