"""`drkit freeze`, `drkit recover`, `drkit resume`: the point-in-time engine's commands."""

from __future__ import annotations

import os
import shlex
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

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
    yes_option,
)
from drkit.errors import ExitCode
from drkit.index.store import IndexStore
from drkit.io.audit import AuditLog
from drkit.pitr import recovery
from drkit.pitr.plan import Strategy
from drkit.render import duration


def _audit(ctx: Context) -> AuditLog:
    return AuditLog(
        ctx.config.audit_path, command=" ".join(shlex.quote(a) for a in ["drkit", *sys.argv[1:]])
    )


node_option = click.option(
    "--node", metavar="NAME", help="The delayed replica (default: the only one)."
)


@click.command(name="freeze")
@node_option
@dry_run_option
@yes_option
@json_option
@pass_context
def freeze_command(ctx: Context, node: str | None, dry_run: bool, yes: bool, as_json: bool) -> None:
    """Stop the delayed replica's applier now; keep the receiver and every relay log."""
    config = ctx.config
    target = config.require_delayed(node)
    plan = recovery.plan_freeze(config, target)
    if dry_run:
        out(plan.render())
        return
    if plan.steps:
        confirm(f"Stop the applier on {target.name}?", yes=yes)
    report = recovery.freeze(config, target, _audit(ctx), plan)
    if as_json:
        emit_json(report.to_json())
        return
    state = "frozen" if report.was_running else "was already frozen"
    out(
        f"{report.node} {state}: executed {report.executed_gtid or '-'} at {report.executed_at or '-'}"
    )
    out(f"{report.pending} indexed transactions are not applied yet")
    first = report.first_destructive
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
    help="Apply every transaction committed at or before T.",
)
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
    type=float,
    default=3600.0,
    show_default=True,
    help="Seconds to wait for the catch-up.",
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
    strategy: str,
    parallel: int,
    timeout: float,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> int:
    """Roll the delayed replica forward to just before TARGET, or skip TARGET and replay the rest."""
    import time

    from drkit.errors import UsageError
    from drkit.pitr.gather import resolve_target
    from drkit.timeparse import parse_time

    forms = sum(bool(x) for x in (before, skips, until_time))
    if forms != 1:
        raise UsageError("give exactly one of --before TARGET, --skip TARGET, --until-time T")
    if until and not skips:
        raise UsageError("--until goes with --skip")
    config = ctx.config
    target_node = config.require_delayed(node)
    _check_previous_recovery(config.folder, dry_run)
    store = IndexStore(config.index.path, readonly=True)
    try:
        prepared = recovery.prepare_recovery(
            config,
            store,
            target_node,
            before=resolve_target(store, before) if before else None,
            skips=tuple(resolve_target(store, s) for s in skips),
            until=resolve_target(store, until) if until else None,
            until_time=parse_time(until_time, time.time()) if until_time else None,
            strategy=Strategy(strategy),
            parallel=parallel,
        )
        if dry_run:
            if as_json:
                emit_json({"dry_run": True, "plan": prepared.plan.to_json()})
            else:
                out(prepared.plan.render())
            return int(ExitCode.DONE)
        say(prepared.plan.render())
        if prepared.request.skips:
            confirm_by_typing(
                "Skipping a transaction cannot be undone on this replica.",
                target_node.name,
                yes=yes,
            )
        else:
            confirm(f"Run this plan on {target_node.name}?", yes=yes)
        interrupted = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            interrupted.set()

        previous = signal.signal(signal.SIGINT, on_signal)
        from drkit.cli.progress import ProgressLine

        progress = ProgressLine()
        try:
            report = recovery.run_recovery(
                config,
                store,
                prepared,
                _audit(ctx),
                timeout=timeout,
                interrupted=interrupted,
                on_progress=progress,
                on_step=lambda n, s: say(f"step {n}: {s.render()}"),
            )
        finally:
            progress.finish()
            signal.signal(signal.SIGINT, previous)
    finally:
        store.close()
    if as_json:
        emit_json(report.to_json())
    else:
        out(render_report(report))
    return int(ExitCode.DONE if report.verified else ExitCode.FAILED)


def _check_previous_recovery(folder: Path, dry_run: bool) -> None:
    """A recovery still running elsewhere is refused; one a killed drkit left is taken over."""
    from drkit.errors import RefusedError
    from drkit.pitr import state as state_file

    previous = state_file.load(folder)
    if previous is None or not previous.in_progress:
        return
    if previous.owner_alive and previous.pid != os.getpid():
        if dry_run:
            say(
                f"note: drkit pid {previous.pid} is running a recovery now ({previous.description})"
            )
            return
        raise RefusedError(
            f"drkit pid {previous.pid} is running a recovery on {previous.node} now "
            f"({previous.description}, step {previous.step}/{previous.steps}); nothing was changed",
            hint="wait for it, or stop that process first",
        )
    say(
        f"a previous recovery ({previous.description}) was cut short at step {previous.step}/"
        f"{previous.steps} ({previous.message}); planning again from where the replica is now"
    )


def render_report(report: recovery.RecoveryReport) -> str:
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
@click.option(
    "--force", is_flag=True, help="Resume even though a recovery is recorded as in progress."
)
@dry_run_option
@yes_option
@pass_context
def resume_command(ctx: Context, node: str | None, force: bool, dry_run: bool, yes: bool) -> None:
    """Restore the configured delay and restart replication."""
    config = ctx.config
    target = config.require_delayed(node)
    plan = recovery.plan_resume(config, target, force=force)
    if dry_run:
        out(plan.render())
        return
    say(plan.render())
    confirm(f"Resume replication on {target.name}?", yes=yes)
    facts = recovery.resume(config, target, _audit(ctx), plan)
    replica = facts.replica
    out(
        f"{target.name} resumed: delay {replica.sql_delay if replica else '?'}s, receiver "
        f"{replica.receiver_state if replica else '?'}, applier {'running' if replica and replica.applier_running else 'stopped'}"
    )
