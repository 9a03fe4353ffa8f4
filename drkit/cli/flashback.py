"""`drkit flashback`: reverse row changes on the primary from the archive's row images."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

from drkit.cli.checks import operations
from drkit.cli.common import (
    Context,
    confirm_by_typing,
    dry_run_option,
    emit_json,
    json_option,
    out,
    pass_context,
    say,
    time_window,
    yes_option,
)
from drkit.errors import ExitCode, UsageError


@click.command(name="flashback")
@click.argument("targets", nargs=-1, metavar="TARGET...")
@click.option("--table", "table", metavar="S.T", help="Only this table's row changes.")
@click.option("--since", metavar="T", help="With --table: its changes at or after T.")
@click.option("--until", metavar="T", help="With --table: its changes at or before T.")
@click.option(
    "--sql",
    "sql_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the reverse statements to FILE instead of applying them.",
)
@click.option(
    "--on-conflict",
    type=click.Choice(["abort", "skip"]),
    default="abort",
    show_default=True,
    help="A row changed since: apply nothing (abort), or skip it and apply the rest.",
)
@dry_run_option
@yes_option
@json_option
@pass_context
def flashback_command(
    ctx: Context,
    targets: tuple[str, ...],
    table: str | None,
    since: str | None,
    until: str | None,
    sql_file: Path | None,
    on_conflict: str,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> int:
    """Reverse the row changes of TARGET (an id, a GTID, latest-destructive) on the primary.

    One transaction of ordinary binlogged writes, newest change first; each statement acts only
    on a row that still holds what the disaster left, and a row changed since stops everything
    (exit 3) unless --on-conflict skip. Afterwards every affected row is compared with its
    before image.

    \b
    Examples:
      drkit flashback 1234 --dry-run
      drkit flashback latest-destructive --sql undo.sql   # the statements, nothing applied
      drkit flashback 1234 --on-conflict skip
      drkit flashback --table shop.orders --since -2h --until -1h --dry-run
    """
    now = time.time()
    if sql_file is not None:
        _check_writable(sql_file)
    window = time_window(since, until, now)
    ops = operations(ctx)
    plan = ops.plan_flashback(
        targets,
        table=table,
        since=window[0],
        until=window[1],
        sql_file=sql_file,
        on_conflict=on_conflict,
    )
    if dry_run:
        statements, more = ops.preview_flashback(plan)
        if as_json:
            emit_json({"dry_run": True, "plan": plan.to_json(), "statements": statements})
        else:
            out(plan.render())
            out(f"statements on {plan.node}, in one transaction:")
            out("\n".join(f"  {text};" for text in statements))
            if more:
                out(
                    f"  ... {plan.rows - len(statements)} more at most (--sql FILE writes them all)"
                )
        return int(ExitCode.DONE)
    if sql_file is None:
        say(plan.render())
        confirm_by_typing(
            f"Reverse {plan.rows} row change{'' if plan.rows == 1 else 's'} on {plan.node} "
            "(one transaction).",
            plan.node,
            yes=yes,
        )
    report = ops.flashback(plan)
    if report.sql_file is not None:
        for line in report.changed_since():
            say(line)
    if as_json:
        emit_json(report.to_json())
    else:
        out(report.render())
    return int(ExitCode.DONE if report.verified or report.sql_file else ExitCode.FAILED)


def _check_writable(path: Path) -> None:
    """--sql FILE: its folder must exist and take a new file (drkit writes beside it, then
    renames), found before anything is read or planned."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"cannot write {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {path}: the folder {folder} is not writable")
