"""`drkit prune`: apply `[retention]` to the index and the archive."""

from __future__ import annotations

import click

from drkit.cli.checks import operations
from drkit.cli.common import (
    Context,
    confirm,
    dry_run_option,
    emit_json,
    json_option,
    out,
    pass_context,
    say,
    yes_option,
)
from drkit.errors import ExitCode
from drkit.retention.run import PruneReport


@click.command(name="prune")
@dry_run_option
@yes_option
@json_option
@pass_context
def prune_command(ctx: Context, dry_run: bool, yes: bool, as_json: bool) -> int:
    """Remove index rows and archived binlogs older than [retention] keep.

    Never what a delayed replica has not applied (a replica that does not answer keeps
    everything), what a recorded recovery targets, what a running plan may need, or the file
    being written; says what it kept and why. Takes the engine lock.

    \b
    Examples:
      drkit prune --dry-run
      drkit prune --yes --json     # from a timer
    """
    ops = operations(ctx)
    plan = ops.plan_prune()
    if dry_run:
        if as_json:
            emit_json({"dry_run": True, "plan": plan.to_json()})
        else:
            out(plan.render())
        return int(ExitCode.DONE)
    if plan.empty:
        if as_json:
            emit_json(PruneReport(plan, 0, (), 0).to_json())
        else:
            out(plan.render())
        return int(ExitCode.DONE)
    say(plan.render())
    confirm(
        f"Remove {plan.rows} index rows and {len(plan.files)} archived files for good?", yes=yes
    )
    report = ops.prune(plan)
    if as_json:
        emit_json(report.to_json())
    else:
        out(report.render())
    return int(ExitCode.DONE)
