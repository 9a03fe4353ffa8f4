"""`drkit sandbox up|down|status`: a local primary, replica and delayed replica."""

from __future__ import annotations

from pathlib import Path

import click

from drkit.cli.common import emit_json, json_option, out, sandbox_dir_option, say
from drkit.errors import UsageError
from drkit.render import duration, table
from drkit.sandbox import topology

MAX_DELAY = 2**31 - 1  # the largest MASTER_DELAY the servers take


@click.group()
def sandbox() -> None:
    """A local three-node topology on free loopback ports, for demos, drills and tests."""


def _refuse_changes(directory: Path, delay: int | None, tls: bool) -> None:
    """A recorded sandbox is started as it was made: a different --delay, or --tls on one made
    without it, would be ignored in silence; say so instead (exit 2), before anything starts."""
    from drkit.sandbox.layout import SandboxLayout
    from drkit.sandbox.state import load_state

    state = load_state(SandboxLayout(directory.resolve()).state_file)
    if state is None:
        return
    again = f"`drkit sandbox down --dir {directory} --purge`, then `drkit sandbox up` again"
    if delay is not None and delay != state.delay:
        raise UsageError(
            f"the sandbox in {directory} was made with --delay {state.delay}: --delay {delay} "
            "applies only to a new one; nothing was changed",
            hint=f"{again} with --delay {delay}",
        )
    if tls and not state.tls:
        raise UsageError(
            f"the sandbox in {directory} was made without --tls: --tls applies only to a new "
            "one; nothing was changed",
            hint=f"{again} with --tls",
        )


@sandbox.command()
@sandbox_dir_option
@click.option(
    "--delay",
    type=click.IntRange(min=0, max=MAX_DELAY),
    default=topology.DEFAULT_DELAY,
    show_default=True,
    help="Seconds the delayed replica lags behind the primary.",
)
@click.option("--haproxy", is_flag=True, help="Also start HAProxy in front of the writer.")
@click.option(
    "--tls",
    is_flag=True,
    help="A private CA and certificates; TLS required on every connection, drkit's account REQUIRE X509.",
)
@click.option("--docker", is_flag=True, help="Run the nodes in Docker containers (testcontainers).")
@click.option(
    "--mysql", "use_mysql", is_flag=True, help="With --docker: MySQL 8.4 instead of MariaDB 11.4."
)
@json_option
def up(
    directory: Path,
    delay: int,
    haproxy: bool,
    tls: bool,
    docker: bool,
    use_mysql: bool,
    as_json: bool,
) -> None:
    """Start primary, replica and delayed replica; a running sandbox is left as it is.

    \b
    Examples:
      drkit sandbox up                          # ./sandbox, delay 1h
      drkit sandbox up --dir /tmp/sb --delay 60 --haproxy
      drkit --config /tmp/sb/drkit.toml status
      mariadb --defaults-file=/tmp/sb/app.cnf   # connect as the application
    """
    if docker:
        from drkit.sandbox import containers as docker_sandbox

        docker_sandbox.up(
            directory, delay=delay, flavour="mysql" if use_mysql else "mariadb", report=say
        )
        config = directory.resolve() / "drkit.toml"
        if as_json:
            emit_json({"config": str(config), "docker": True})
        else:
            out(f"docker sandbox up: {config}")
        return
    delay_given = (
        click.get_current_context().get_parameter_source("delay")
        is click.core.ParameterSource.COMMANDLINE
    )
    _refuse_changes(directory, delay if delay_given else None, tls)
    result = topology.up(directory, delay=delay, haproxy=haproxy, tls=tls, report=say)
    if as_json:
        emit_json(
            {
                "config": str(result.layout.config_file),
                "directory": str(result.layout.root),
                "already_running": result.already_running,
                "started": list(result.started),
                "seconds": round(result.seconds, 3),
            }
        )
        return
    if result.already_running:
        out(f"sandbox already running in {result.layout.root} (config {result.layout.config_file})")
        return
    out(f"sandbox up in {result.seconds:.1f}s: {result.layout.config_file}")
    out(f"try: drkit --config {result.layout.config_file} status")


@sandbox.command()
@sandbox_dir_option
@click.option("--purge", is_flag=True, help="Also delete the data, logs and config.")
@json_option
def down(directory: Path, purge: bool, as_json: bool) -> None:
    """Stop every process the sandbox started; --purge deletes its files.

    \b
    Examples:
      drkit sandbox down --dir /tmp/sb
      drkit sandbox down --dir /tmp/sb --purge
    """
    stopped = topology.down(directory, purge=purge, report=say)
    if as_json:
        emit_json({"stopped": list(stopped), "purged": purge})
        return
    out(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


@sandbox.command(name="status")
@sandbox_dir_option
@json_option
def sandbox_status(directory: Path, as_json: bool) -> None:
    """Which sandbox processes are alive, and their ports.

    \b
    Examples:
      drkit sandbox status --dir /tmp/sb
      drkit sandbox status --dir /tmp/sb --json
    """
    layout, state, nodes = topology.runtime(directory)
    if as_json:
        emit_json(
            {
                "dir": str(layout.root),
                "config": str(layout.config_file),
                "flavour": state.flavour,
                "version": state.version,
                "delay": state.delay,
                "nodes": [
                    {"name": n.name, "port": n.port, "pid": n.pid, "running": n.running}
                    for n in nodes
                ],
                "haproxy": (
                    {"frontend_port": state.haproxy.frontend_port, "socket": state.haproxy.socket}
                    if state.haproxy
                    else None
                ),
            }
        )
        return
    out(f"{layout.root}: {state.flavour} {state.version}, delay {duration(state.delay)}")
    out(
        table(
            ["node", "port", "pid", "running"], [[n.name, n.port, n.pid, n.running] for n in nodes]
        )
    )
