"""`drkit freeze`, `drkit recover`, `drkit resume`: the point-in-time engine's commands."""

from __future__ import annotations

import shlex
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

import click

from drkit.cli.common import (
    Context,
    confirm,
    confirm_by_typing,
    dry_run_option,
    emit_json,
    json_option,
    out,
    pass_context,
    say,
    seconds,
    yes_option,
)
from drkit.errors import ExitCode
from drkit.pitr.plan import Strategy
from drkit.render import duration
from drkit.timeparse import zone_note

if TYPE_CHECKING:
    from drkit.pitr.recovery import RecoveryReport
    from drkit.plan.steps import Plan
    from drkit.service import Operations


def _operations(ctx: Context) -> Operations:
    from drkit.service import Operations

    return Operations(ctx.config, command=_command_line())


def _command_line() -> str:
    return " ".join(shlex.quote(a) for a in ["drkit", *sys.argv[1:]])


node_option = click.option(
    "--node", metavar="NAME", help="The delayed replica (default: the only one)."
)
through_option = click.option(
    "--through",
    "through",
    metavar="TARGET",
    multiple=True,
    help="Apply this destructive transaction on purpose (repeatable). Without it, a plan that "
    "would apply an unapplied destructive transaction is refused (exit 3).",
)


@click.command(name="freeze")
@node_option
@dry_run_option
@click.option("--yes", is_flag=True, hidden=True, help="Accepted for scripts; freeze never asks.")
@json_option
@pass_context
def freeze_command(ctx: Context, node: str | None, dry_run: bool, yes: bool, as_json: bool) -> None:
    """Stop the delayed replica's applier now; keep the receiver and every relay log.

    The emergency brake: it acts at once, without asking, and `drkit resume` undoes it.

    \b
    Examples:
      drkit freeze
      drkit freeze --json        # what is pending behind the stop, for a pager hook
    """
    ops = _operations(ctx)
    plan = ops.plan_freeze(node)
    if dry_run:
        _emit_plan(plan, as_json)
        return
    report = ops.freeze(plan, node)
    if as_json:
        emit_json(report.to_json())
        return
    state = "frozen" if report.was_running else "was already frozen"
    out(
        f"{report.node} {state}: executed {report.executed_gtid or '-'} at {report.executed_at or '-'}"
    )
    pending = report.pending
    first = report.first_destructive
    if report.index_behind is not None or pending is None:
        # Unknown is not "nothing pending": no count and no transaction to recover before.
        out(report.index_behind or "what is not applied yet is unknown")
        out(
            f"to undo: drkit resume (restores {report.node}'s configured delay, restarts replication)"
        )
        return
    out(f"{pending} indexed transaction{' is' if pending == 1 else 's are'} not applied yet")
    if first is not None and first.destructive is not None:
        due = report.destructive_due_in
        when = (
            f"; the delay would have applied it in {duration(due)}"
            if due is not None and due > 0
            else ""
        )
        out(
            f"first destructive: {first.label} ({first.destructive.severity} {first.destructive.category}), "
            f"{report.destructive_distance} transactions away{when}"
        )
        out(f"next: drkit recover --before {first.id} --dry-run")
    else:
        out("no destructive transaction is pending in the index")
    out(f"to undo: drkit resume (restores {report.node}'s configured delay, restarts replication)")


@click.command(name="recover")
@node_option
@click.option("--before", "before", metavar="TARGET", help="Stop just before this transaction.")
@click.option(
    "--skip", "skips", metavar="TARGET", multiple=True, help="Skip this transaction (repeatable)."
)
@click.option(
    "--until",
    "until",
    metavar="TARGET",
    help="With --skip: stop just before this one (default: the end).",
)
@click.option(
    "--until-time",
    "until_time",
    metavar="T",
    help="Apply every transaction committed at or before T (ISO-8601: local time unless Z or "
    "+HH:MM; or -10m).",
)
@through_option
@click.option(
    "--strategy", type=click.Choice([s.value for s in Strategy]), default="auto", show_default=True
)
@click.option(
    "--parallel",
    type=click.IntRange(min=0, max=64),
    default=0,
    show_default=True,
    help="Applier threads during the catch-up (MariaDB), put back afterwards; 0 leaves the "
    "replica's setting alone. Helps on many-core replicas with independent transactions; on "
    "hot rows optimistic parallel apply retries and can be slower (measure it in a drill).",
)
@click.option(
    "--timeout",
    type=seconds(0, 7 * 86400),
    default=3600.0,
    show_default=True,
    help="Seconds to wait for the catch-up (and the longest a verification query may wait).",
)
@click.option(
    "--stall",
    type=seconds(0, 86400),
    default=30.0,
    show_default=True,
    help="Seconds without an applied transaction before the catch-up is called stuck "
    "(the source gone, the applier blocked): the replica is frozen and drkit says why.",
)
@dry_run_option
@yes_option
@json_option
@pass_context
def recover_command(
    ctx: Context,
    node: str | None,
    before: str | None,
    skips: tuple[str, ...],
    until: str | None,
    until_time: str | None,
    through: tuple[str, ...],
    strategy: str,
    parallel: int,
    timeout: float,
    stall: float,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> int:
    """Roll the delayed replica forward to just before TARGET, or skip TARGET and replay the rest.

    TARGET is an index id (42), a GTID (0-1-28, uuid:28) or latest-destructive. Targets are
    resolved once and recorded: re-running the same command continues to the same target.

    \b
    Examples:
      drkit recover --before latest-destructive --dry-run
      drkit recover --skip 1234 --yes
      drkit recover --until-time 2026-12-03T14:02:00 --through 1200
    """
    note = zone_note(until_time) if until_time else None
    if note:
        say(f"drkit: {note}")
    ops = _operations(ctx)
    prepared = ops.prepare_recovery(
        before=before,
        skips=skips,
        until=until,
        until_time=until_time,
        through=through,
        strategy=strategy,
        parallel=parallel,
        node=node,
        lock=not dry_run,
    )
    if dry_run:
        _emit_plan(prepared.plan, as_json)
        return int(ExitCode.DONE)
    try:
        say(prepared.plan.render())
        if prepared.request.skips:
            confirm_by_typing(
                "Skipping a transaction cannot be undone on this replica.",
                prepared.plan.node,
                yes=yes,
            )
        else:
            confirm(f"Run this plan on {prepared.plan.node}?", yes=yes)
    except BaseException:
        prepared.release()
        raise
    interrupted = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        interrupted.set()

    previous = signal.signal(signal.SIGINT, on_signal)
    from drkit.cli.progress import ProgressLine

    progress = ProgressLine()
    try:
        report = ops.run_recovery(
            prepared,
            timeout=timeout,
            stall=stall,
            interrupted=interrupted,
            on_progress=progress,
            on_step=lambda n, s: say(f"step {n}: {s.render()}"),
        )
    finally:
        progress.finish()
        signal.signal(signal.SIGINT, previous)
    if as_json:
        emit_json(report.to_json())
    else:
        out(render_report(report))
    return int(ExitCode.DONE if report.verified else ExitCode.FAILED)


def _emit_plan(plan: Plan, as_json: bool) -> None:
    if as_json:
        emit_json({"dry_run": True, "plan": plan.to_json()})
    else:
        out(plan.render())


def render_report(report: RecoveryReport) -> str:
    skipped = f"; skipped {', '.join(report.skipped)}" if report.skipped else ""
    lines = [
        f"{report.node}: {report.description} ({report.strategy}) in {report.seconds:.1f}s",
        f"stopped at {report.stopped_at or '-'}; executed {report.executed_gtid or '-'}; "
        f"{report.applied} transactions applied{skipped}",
    ]
    lines += [f"  {'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}" for c in report.verification]
    if report.relay_backup:
        lines.append(f"relay logs copied to {report.relay_backup}")
    lines.append(
        "next: `drkit extract --table S.T` to copy a table back, `drkit check promotion`, or `drkit resume`"
    )
    return "\n".join(lines)


@click.command(name="resume")
@node_option
@through_option
@click.option(
    "--force", is_flag=True, help="Resume even though a recovery is recorded as in progress."
)
@click.option(
    "--across-gap",
    is_flag=True,
    help="Resume even though a binlog gap lies ahead: the replica applies transactions drkit never saw.",
)
@dry_run_option
@yes_option
@json_option
@pass_context
def resume_command(
    ctx: Context,
    node: str | None,
    through: tuple[str, ...],
    force: bool,
    across_gap: bool,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Restore the configured delay and restart replication.

    Refused (exit 3) while the replica would go on to apply a destructive transaction that the
    index shows it has not applied, unless each is named with --through. TARGET is an index id
    (42), a GTID (0-1-28 on MariaDB, uuid:28 on MySQL) or latest-destructive. Refused too while
    a binlog gap (binlogs purged before drkit archived them) lies ahead of the replica, unless
    --across-gap: nobody can tell what the lost transactions do.

    \b
    Examples:
      drkit resume --dry-run
      drkit resume --through latest-destructive   # after extract: the DROP is applied on purpose
    """
    ops = _operations(ctx)
    plan = ops.plan_resume(force=force, node=node, through=through, across_gap=across_gap)
    if dry_run:
        _emit_plan(plan, as_json)
        return
    say(plan.render())
    confirm(f"Resume replication on {plan.node}?", yes=yes)
    facts = ops.resume(plan, node=node)
    replica = facts.replica
    if as_json:
        emit_json({"node": plan.node, "resumed": True, "facts": facts.to_json()})
        return
    out(
        f"{plan.node} resumed: delay {replica.sql_delay if replica else '?'}s, receiver "
        f"{replica.receiver_state if replica else '?'}, applier {'running' if replica and replica.applier_running else 'stopped'}"
    )
