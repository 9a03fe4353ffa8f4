"""`drkit guard [--once]`: follow the primary and freeze every delayed replica on a destructive transaction."""

from __future__ import annotations

import logging
import shlex
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

import click

from drkit import logs
from drkit.cli.checks import operations
from drkit.cli.common import (
    Context,
    ExitCode,
    FiniteFloatRange,
    emit_json,
    json_option,
    out,
    pass_context,
    say,
)

log = logging.getLogger(__name__)


@click.command(name="guard")
@click.option("--once", is_flag=True, help="Index and judge what the primary has now, then exit.")
@click.option(
    "--poll",
    type=FiniteFloatRange(min=0.001, max=5.0),
    default=None,
    hidden=True,  # for benchmarks/guard_latency; the default is measured there
)
@click.option(
    "--log-format",
    type=click.Choice(logs.FORMATS),
    default=logs.AUTO,
    show_default=True,
    help="journald: every stderr line carries its syslog priority (<6> info, <4> warning) for "
    "systemd's journal; auto picks it when stderr is the journal.",
)
@click.option(
    "--metrics",
    "metrics_address",
    metavar="HOST:PORT",
    help="Serve Prometheus metrics on http://HOST:PORT/metrics while guarding.",
)
@json_option
@pass_context
def guard_command(
    ctx: Context,
    once: bool,
    poll: float | None,
    log_format: str,
    metrics_address: str | None,
    as_json: bool,
) -> int:
    """Follow the primary; freeze every delayed replica the moment a destructive transaction
    arrives, then alert. Rules come from [guard] and [alerts] in drkit.toml; it never recovers.

    \b
    Examples:
      drkit guard --once                      # judge what is indexed now, then exit
      drkit guard --metrics 127.0.0.1:9108    # follow; Prometheus at /metrics
    """
    from drkit.guard.state import PendingFreeze
    from drkit.guard.watch import POLL, Guard

    report: Callable[[str], None] = say
    if logs.resolve_format(log_format) == logs.JOURNALD:
        # Under systemd the guard's own narration goes to the journal at info priority, beside
        # the warnings of the modules it uses.
        logs.configure(logs.JOURNALD, level=logging.INFO)
        report = log.info
    config = ctx.config
    command = " ".join(shlex.quote(a) for a in ["drkit", *sys.argv[1:]])
    # The same prune as `drkit prune`, through the facade, every [retention] interval.
    pruner = None if once else operations(ctx).prune_schedule(report)
    guard = Guard(config, report=report, command=command, poll=poll or POLL, pruner=pruner)
    guard.preflight()
    stop = threading.Event()

    def interrupt(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous_int = signal.signal(signal.SIGINT, interrupt)
    previous_term = signal.signal(signal.SIGTERM, interrupt)
    if not once:
        rules = config.guard
        windows = len(rules.maintenance)
        report(
            f"guarding {', '.join(n.name for n in config.delayed)} against "
            f"{config.require_primary().name}: min_severity {rules.min_severity}, "
            f"{windows} maintenance window{'s' if windows != 1 else ''}, "
            f"{len(config.alerts.commands)} alert commands, {len(config.alerts.webhooks)} webhooks; "
            f"{pruner.describe() if pruner else 'no scheduled prune'}; Ctrl-C stops"
        )
    server = None
    if metrics_address:
        from drkit.guard.metrics import TopologyMetrics
        from drkit.io.metrics import serve

        server = serve(metrics_address, TopologyMetrics(config, guard, pruner=pruner).collect)
        report(f"metrics on http://{server.host}:{server.port}/metrics")
    try:
        record = guard.run(stop, once=once)
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
        if server is not None:
            server.stop()
    # A freeze still pending is a disaster that may yet apply (or a node not checked): not done.
    code = int(ExitCode.FAILED if record.pending else ExitCode.DONE)
    if as_json:
        emit_json(
            {
                "judged": record.judged,
                "findings": record.findings,
                **record.counts_json(),
                "pending": record.pending,
            }
        )
        return code
    actions = [f"{f['action']} #{f['transaction']['id']}" for f in record.findings]
    out(
        f"judged {record.judged} transactions; {record.findings_total} findings"
        + (f": {', '.join(actions)}" if actions else "")
        + (f" (the {record.dropped} oldest not listed)" if record.dropped else "")
    )
    for entry in map(PendingFreeze.from_json, record.pending):
        out(f"FREEZE PENDING on {entry.label}: {entry.reason or 'not tried'}")
    return code
