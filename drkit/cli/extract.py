"""`drkit extract`: copy a rescued table from the frozen delayed replica back into the primary."""

from __future__ import annotations

from collections.abc import Sequence

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
from drkit.errors import ExitCode, UsageError
from drkit.extract.run import ExtractReport
from drkit.service import Operations


@click.command(name="extract")
@click.option("--table", "table", required=True, metavar="S.T", help="The table to copy.")
@click.option(
    "--into", "into", metavar="S.T2", help="Copy it under this new name (never overwrites)."
)
@click.option(
    "--merge",
    is_flag=True,
    help="Insert only the rows whose key the live table lacks; never overwrite one.",
)
@click.option("--node", metavar="NAME", help="The delayed replica (default: the only one).")
@dry_run_option
@yes_option
@json_option
@pass_context
def extract_command(
    ctx: Context,
    table: str,
    into: str | None,
    merge: bool,
    node: str | None,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> int:
    """Copy a table from the frozen delayed replica into the primary, verified by checksum.

    \b
    Examples:
      drkit extract --table shop.orders --dry-run
      drkit extract --table shop.orders --into shop.orders_rescued
      drkit extract --table shop.orders --merge   # only the rows whose key the live table lacks
    """
    ops = operations(ctx)
    if merge:
        return _merge(ops, table, into, node, dry_run=dry_run, yes=yes, as_json=as_json)
    plan = ops.plan_extract(table, into, node)
    if dry_run:
        if as_json:
            emit_json({"dry_run": True, "plan": plan.to_json()})
        else:
            out(plan.render())
        return int(ExitCode.DONE)
    say(plan.render())
    confirm(f"Copy {plan.source_table} into {plan.target_table} on {plan.destination}?", yes=yes)
    report = ops.extract(plan, on_step=lambda n, s: say(f"step {n}: {s.render()}"))
    if as_json:
        emit_json(report.to_json())
    else:
        out(render_report(report))
    return int(ExitCode.DONE if report.verified else ExitCode.FAILED)


def _merge(
    ops: Operations,
    table: str,
    into: str | None,
    node: str | None,
    *,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> int:
    if into is not None:
        raise UsageError("--merge puts rows back into the table itself; it takes no --into")
    plan = ops.plan_merge(table, node)
    if dry_run:
        if as_json:
            emit_json({"dry_run": True, "plan": plan.to_json()})
        else:
            out(plan.render())
        return int(ExitCode.DONE)
    say(plan.render())
    confirm(
        f"Insert into {plan.merge_into} on {plan.destination} the rows of {plan.source}'s "
        "frozen copy whose key it lacks?",
        yes=yes,
    )
    # The merge runs its plan in parts (copy, merge, drop): number each step as the plan does.
    report = ops.merge(
        plan, on_step=lambda n, s: say(f"step {_number_in(plan.steps, s, n)}: {s.render()}")
    )
    if as_json:
        emit_json(report.to_json())
    else:
        out(report.render())
    return int(ExitCode.DONE if report.verified else ExitCode.FAILED)


def _number_in(steps: Sequence[object], step: object, fallback: int) -> int:
    return next((i for i, candidate in enumerate(steps, 1) if candidate is step), fallback)


def render_report(report: ExtractReport) -> str:
    verdict = "verified" if report.verified else "NOT VERIFIED"
    return "\n".join(
        [
            f"{report.source_table} on {report.source}: {report.rows_source} rows, "
            f"checksum {report.checksum_source}",
            f"{report.target_table} on {report.destination}: {report.rows_destination} rows, "
            f"checksum {report.checksum_destination}",
            f"{verdict} in {report.seconds:.1f}s",
        ]
    )
