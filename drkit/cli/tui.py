"""`drkit tui`: the incident console (Textual is imported only when it runs)."""

from __future__ import annotations

import click

from drkit.cli.common import Context, FiniteFloatRange, pass_context, seconds
from drkit.errors import UsageError


@click.command(name="tui")
@click.option(
    "--refresh",
    type=FiniteFloatRange(min=0.5, max=3600),
    default=3.0,
    show_default=True,
    help="Seconds between status rounds.",
)
@click.option(
    "--timeout",
    type=seconds(maximum=3600),
    default=3.0,
    show_default=True,
    help="Seconds per node and round.",
)
@pass_context
def tui_command(ctx: Context, refresh: float, timeout: float) -> None:
    """The guided incident console: dashboard, alarm, timeline, recovery, promotion, audit.

    \b
    Examples:
      drkit tui
      drkit --config /etc/drkit/drkit.toml tui --refresh 5
    """
    try:
        from tui.app import DrkitApp
    except ImportError as exc:
        raise UsageError(
            f"the console needs Textual, which cannot be imported here: {exc}",
            hint="install drkit with its dependencies (pip install drkit)",
        ) from None
    from drkit.service import Operations

    ops = Operations(ctx.config, command="drkit tui")
    DrkitApp(ops, refresh_every=refresh, status_timeout=timeout).run()
