"""`drkit promote`: make the frozen delayed replica the primary, with the evidence checked first."""

from __future__ import annotations

import click

from drkit.cli.checks import operations, render_checklist
from drkit.cli.common import (
    Context,
    confirm_by_typing,
    dry_run_option,
    emit_json,
    json_option,
    out,
    pass_context,
    say,
    yes_option,
)
from drkit.errors import ExitCode
from drkit.promote.plan import PromotionPlan
from drkit.promote.run import PromotionReport, refuse_if_blocked


@click.command(name="promote")
@click.option("--node", metavar="NAME", help="The delayed replica (default: the only one).")
@click.option(
    "--force",
    is_flag=True,
    help="Promote even though critical checks fail (an incident with no other way out).",
)
@dry_run_option
@yes_option
@json_option
@pass_context
def promote_command(
    ctx: Context, node: str | None, force: bool, dry_run: bool, yes: bool, as_json: bool
) -> int:
    """Fence the old primary, promote the delayed replica, switch the load balancer.

    \b
    Examples:
      drkit check promotion            # the evidence first
      drkit promote --dry-run          # every statement and its node
      drkit promote                    # type the delayed node's name to confirm
    """
    ops = operations(ctx)
    plan = ops.prepare_promotion(force=force, node=node)
    checklist = plan.checklist
    if dry_run:
        if as_json:
            emit_json(
                {
                    "dry_run": True,
                    "plan": plan.to_json(),
                    "checks": checklist.to_json() if checklist else None,
                }
            )
        else:
            out(plan.render())
        if plan.blocked_by and not force:
            say(f"drkit: the real run would be refused: {', '.join(plan.blocked_by)}")
            return int(ExitCode.REFUSED)
        return int(ExitCode.DONE)
    if checklist is not None and plan.blocked_by:
        say(render_checklist(checklist))
    refuse_if_blocked(plan)
    if plan.forced:
        say(
            "WARNING: --force: promoting although these critical checks fail: "
            + ", ".join(plan.blocked_by)
            + ". You take responsibility for what they warn about."
        )
    say(plan.render())
    confirm_by_typing(
        f"Promote {plan.node} to primary: its replication is reset for good, "
        f"and {plan.old_primary or 'no other node'} stops taking writes.",
        plan.node,
        yes=yes,
    )
    report = ops.promote(plan, on_step=lambda n, s: say(f"step {n}: {s.render()}"))
    if as_json:
        emit_json(report.to_json())
    else:
        out(render_report(report, plan))
    return int(ExitCode.DONE if report.ok else ExitCode.FAILED)


def render_report(report: PromotionReport, plan: PromotionPlan) -> str:
    writers = ", ".join(report.loadbalancer_writers) or "none"
    lines = [
        f"{report.new_primary} is the primary now: server id {report.server_id}, "
        f"{'writable' if report.writable else 'NOT writable'}, "
        f"replication {'reset' if report.replication_reset else 'NOT reset'}; "
        f"load balancer writers: {writers} ({report.steps_done} steps in {report.seconds:.1f}s)",
    ]
    for fate in report.fates[1:]:
        lines += fate.render()
    if not report.ok:
        lines.append("the promotion did not reach the planned state: see above and `drkit status`")
    lines.append(
        f'next: set role = "primary" for {report.new_primary} in drkit.toml; '
        "rebuild the nodes marked above"
    )
    return "\n".join(lines)
