"""`drkit history`: every version of one row, from the index and the archive (no server needed)."""

from __future__ import annotations

import time

import click

from drkit.cli.checks import operations
from drkit.cli.common import Context, emit_json, json_option, out, pass_context, time_window
from drkit.errors import ExitCode


@click.command(name="history")
@click.option("--table", "table", required=True, metavar="S.T", help="The table of the row.")
@click.option(
    "--key", "key", required=True, metavar="COL=VAL[,...]", help="The row's key (or @1=VAL)."
)
@click.option("--since", metavar="T", help="Only changes at or after T (ISO-8601 or -2h).")
@click.option("--until", metavar="T", help="Only changes at or before T.")
@json_option
@pass_context
def history_command(
    ctx: Context, table: str, key: str, since: str | None, until: str | None, as_json: bool
) -> int:
    """Every version of one row, oldest first, read from the archive's row images.

    \b
    Examples:
      drkit history --table shop.orders --key id=42
      drkit history --table shop.order_lines --key order_id=42,line=1 --since -6h
      drkit history --table shop.orders --key id=42 --json
    """
    window = time_window(since, until, time.time())
    report = operations(ctx).history(
        table,
        key,
        since=window[0],
        until=window[1],
    )
    if as_json:
        emit_json(report.to_json())
    else:
        out(report.render())
    return int(ExitCode.DONE)
