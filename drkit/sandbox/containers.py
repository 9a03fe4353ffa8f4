"""`drkit sandbox up --docker`: the same topology in containers, MariaDB 11.4 or MySQL 8.4.

Runs the compose files in docker/ through testcontainers, when a Docker engine answers.
"""

from __future__ import annotations

import importlib
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from drkit.errors import SandboxError
from drkit.sandbox.configfile import render_config
from drkit.sandbox.layout import NODE_ROLES, SERVER_IDS, SandboxLayout
from drkit.sandbox.state import (
    Account,
    NodeState,
    SandboxState,
    load_state,
    save_state,
    write_private,
)

COMPOSE_DIR = Path(__file__).resolve().parents[2] / "docker"
COMPOSE_FILES = {"mariadb": "compose-mariadb.yml", "mysql": "compose-mysql.yml"}
IMAGES = {"mariadb": "mariadb:11.4", "mysql": "mysql:8.4"}


def docker_unavailable_reason() -> str | None:
    """None when a Docker engine answers; otherwise why not, in one sentence."""
    try:
        # By name: the repository's own docker/ folder would otherwise shadow the SDK for mypy.
        docker = importlib.import_module("docker")
    except ImportError:
        return "the docker extra is not installed (pip install 'drkit[docker]')"
    try:
        client = docker.from_env(timeout=5)
        client.ping()
    except Exception as exc:  # any failure here means "no engine answers"
        return f"no Docker engine answers ({type(exc).__name__}: {exc})"
    return None


def up(
    directory: Path,
    *,
    delay: int,
    flavour: str = "mariadb",
    report: Callable[[str], None] = lambda _: None,
) -> SandboxState:
    """Start the containers, wait until healthy, and write drkit.toml for them."""
    reason = docker_unavailable_reason()
    if reason is not None:
        raise SandboxError(f"cannot start a Docker sandbox: {reason}")
    layout = SandboxLayout(directory.resolve())
    existing = load_state(layout.state_file)
    if existing is not None:
        report(f"sandbox in {layout.root} already recorded; nothing changed")
        return existing
    from drkit.sandbox.topology import free_ports

    layout.root.mkdir(parents=True, exist_ok=True)
    layout.root.chmod(0o700)
    ports = free_ports(len(NODE_ROLES))
    state = SandboxState(
        flavour=flavour,
        version=IMAGES[flavour],
        delay=delay,
        admin=Account("drkit", secrets.token_urlsafe(18)),
        replication=Account("repl", secrets.token_urlsafe(18)),
        application=Account("app", secrets.token_urlsafe(18)),
        nodes={
            name: NodeState(name, port, SERVER_IDS[name])
            for name, port in zip(NODE_ROLES, ports, strict=True)
        },
        docker=True,
    )
    report(f"starting {IMAGES[flavour]} containers on ports {', '.join(map(str, ports))}")
    with _compose(state) as compose:
        compose.start()
    save_state(layout.state_file, state)
    write_private(layout.config_file, render_config(layout, state))
    return state


def down(directory: Path, *, purge: bool) -> None:
    layout = SandboxLayout(directory.resolve())
    state = load_state(layout.state_file)
    if state is None or not state.docker:
        return
    with _compose(state) as compose:
        compose.stop(down=purge)


@contextmanager
def _compose(state: SandboxState) -> Iterator[Any]:
    from testcontainers.compose import DockerCompose

    if not (COMPOSE_DIR / COMPOSE_FILES[state.flavour]).exists():
        raise SandboxError(f"compose file {COMPOSE_DIR / COMPOSE_FILES[state.flavour]} not found")
    env = {
        "DRKIT_ADMIN_PASSWORD": state.admin.password,
        "DRKIT_REPL_PASSWORD": state.replication.password,
        "DRKIT_APP_PASSWORD": state.application.password,
        "DRKIT_DELAY": str(state.delay),
        "DRKIT_PRIMARY_PORT": str(state.nodes["primary"].port),
        "DRKIT_REPLICA_PORT": str(state.nodes["replica"].port),
        "DRKIT_DELAYED_PORT": str(state.nodes["delayed"].port),
    }
    # docker compose reads these from its environment; passwords never reach its argv.
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield DockerCompose(
            str(COMPOSE_DIR), compose_file_name=COMPOSE_FILES[state.flavour], wait=True
        )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
