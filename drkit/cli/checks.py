"""`drkit check promotion` and `drkit check replication`: checklists of reasons, not booleans."""

from __future__ import annotations

import shlex
import sys

import click

from drkit.checks.result import Checklist, PromotionChecklist
from drkit.cli.common import Context, emit_json, json_option, out, pass_context
from drkit.errors import ExitCode
from drkit.service import Operations


def operations(ctx: Context) -> Operations:
    """The facade, auditing under the command line as typed."""
    command = " ".join(shlex.quote(a) for a in ["drkit", *sys.argv[1:]])
    return Operations(ctx.config, command=command)


@click.group(name="check")
def check_group() -> None:
    """Checklists: every row says what was seen, whether it is safe, and what to do."""


@check_group.command(name="promotion")
@click.option("--node", metavar="NAME", help="The delayed replica (default: the only one).")
@json_option
@pass_context
def promotion_command(ctx: Context, node: str | None, as_json: bool) -> int:
    """The evidence for promoting the delayed replica; exit 0 when `drkit promote` would go ahead
    (every critical check passes, or fails only where the promotion's own plan puts it right).

    \b
    Examples:
      drkit check promotion
      drkit check promotion --json    # the verdict and every check, for a script
    """
    checklist = operations(ctx).check_promotion(node)
    if as_json:
        emit_json(checklist.to_json())
    else:
        out(render_checklist(checklist))
    return int(ExitCode.DONE if checklist.possible else ExitCode.REFUSED)


@check_group.command(name="replication")
@json_option
@pass_context
def replication_command(ctx: Context, as_json: bool) -> int:
    """Every node's threads, errors, lag, delay and read_only; errant transactions.

    \b
    Examples:
      drkit check replication
      drkit check replication --json
    """
    checklist = operations(ctx).check_replication()
    if as_json:
        emit_json(checklist.to_json())
    else:
        out(render_checklist(checklist))
    return int(ExitCode.DONE if checklist.ok else ExitCode.REFUSED)


def render_checklist(checklist: Checklist) -> str:
    """One line per check (ok / FAIL / warn), its hint under it, the verdict last."""
    title = f"{checklist.title} checks"
    if isinstance(checklist, PromotionChecklist):
        old = checklist.old_primary or "none"
        title = f"promotion checks: {checklist.node} to replace {old}"
    lines = [title]
    width = max((len(r.name) for r in checklist.results), default=0)
    for result in checklist.results:
        mark = "ok" if result.ok else ("warn" if not result.critical else "FAIL")
        if not result.ok and result.promote_fixes:
            mark = "fix"  # failing now; the promotion's plan puts it right first
        lines.append(f"  {mark:<4}  {result.name:<{width}}  {result.reason}")
        if result.hint and not result.ok:
            lines.append(f"  {'':<4}  {'':<{width}}  hint: {result.hint}")
    if isinstance(checklist, PromotionChecklist):
        lines.append(checklist.verdict)
        return "\n".join(lines)
    failed = checklist.failed
    if not failed:
        lines.append("every critical check passes")
    else:
        names = ", ".join(r.name for r in failed)
        lines.append(
            f"{len(failed)} critical check{'s' if len(failed) > 1 else ''} failed: {names}"
        )
    return "\n".join(lines)


def _register() -> None:
    from drkit.cli.grants import grants_command

    check_group.add_command(grants_command)


_register()
