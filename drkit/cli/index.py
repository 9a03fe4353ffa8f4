"""`drkit index [--follow]` and `drkit events`: build and search the transaction index."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Sequence
from types import FrameType

import click

from drkit.cli.common import (
    Context,
    confirm,
    count,
    dry_run_option,
    emit_json,
    json_option,
    out,
    pass_context,
    say,
    yes_option,
)
from drkit.errors import UsageError
from drkit.index.records import IndexedTransaction
from drkit.index.store import Filters, IndexStore
from drkit.render import table
from drkit.timeparse import iso, parse_time


@click.command(name="index")
@click.option("--follow", is_flag=True, help="Keep following the primary until interrupted.")
@click.option(
    "--rebuild",
    is_flag=True,
    help="Build the index anew from the binlog archive (no primary needed); the current file "
    "is moved aside, never deleted.",
)
@click.option(
    "--metrics",
    "metrics_address",
    metavar="HOST:PORT",
    help="With --follow: serve Prometheus metrics on http://HOST:PORT/metrics.",
)
@dry_run_option
@yes_option
@pass_context
def index_command(
    ctx: Context,
    follow: bool,
    rebuild: bool,
    metrics_address: str | None,
    dry_run: bool,
    yes: bool,
) -> None:
    """Copy the primary's binlogs into the archive and index every transaction."""
    from drkit.index.indexer import Indexer

    if rebuild:
        if follow:
            raise UsageError("--rebuild and --follow do not go together")
        rebuild_index(ctx, dry_run=dry_run, yes=yes)
        return
    if dry_run or yes:
        raise UsageError("--dry-run and --yes go with --rebuild")
    if metrics_address and not follow:
        raise UsageError("--metrics goes with --follow")
    config = ctx.config
    server = None
    if metrics_address:
        from drkit.guard.metrics import TopologyMetrics
        from drkit.io.metrics import serve

        server = serve(metrics_address, TopologyMetrics(config, command="index").collect)
        say(f"metrics on http://{server.host}:{server.port}/metrics")
    indexer = Indexer(config, report=say)
    try:
        if not follow:
            result = indexer.run_once()
            out(
                f"indexed {result.new} new transactions ({result.total} in all) in "
                f"{result.seconds:.1f}s; checkpoint {result.checkpoint or '-'}"
            )
            return
        stop = threading.Event()

        def interrupt(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = signal.signal(signal.SIGINT, interrupt)
        signal.signal(signal.SIGTERM, interrupt)
        started = time.monotonic()
        counted = [0]

        def on_new(batch: Sequence[IndexedTransaction]) -> None:
            counted[0] += len(batch)
            for record in batch:
                if record.destructive is not None:
                    say(f"DESTRUCTIVE {record.label}: {record.destructive.reason}")

        say(f"following {config.require_primary().name}; Ctrl-C stops")
        try:
            indexer.follow(stop, on_new=on_new)
        finally:
            signal.signal(signal.SIGINT, previous)
        out(
            f"stopped after {time.monotonic() - started:.0f}s: {counted[0]} new transactions; "
            f"checkpoint {indexer.store.checkpoint() or '-'}"
        )
    finally:
        indexer.close()
        if server is not None:
            server.stop()


def rebuild_index(ctx: Context, *, dry_run: bool, yes: bool) -> None:
    """`drkit index --rebuild`: print the plan, ask, rebuild from the archive."""
    from drkit.index.rebuild import plan_rebuild, rebuild

    config = ctx.config
    plan = plan_rebuild(config)
    if dry_run:
        out(plan.render())
        return
    say(plan.render())
    confirm("Rebuild the index from the archive?", yes=yes)
    done = rebuild(config, plan, report=say)
    if done.aside is not None and not done.identity_kept:
        say(
            "the previous index's record of the primary could not be read: the next "
            "`drkit index` records it again"
        )
    out(
        f"rebuilt {done.index} from the archive in {done.seconds:.1f}s: {done.transactions} "
        f"transactions; checkpoint {done.checkpoint or '-'}"
        + (f"; previous index moved aside to {done.aside}" if done.aside else "")
    )
    say("run `drkit index` to copy and index what the primary wrote since")


@click.command()
@click.option("--since", metavar="T", help="ISO-8601 time or relative (-2h).")
@click.option("--until", metavar="T", help="ISO-8601 time or relative (-10m).")
@click.option(
    "--table",
    "table_name",
    metavar="S.T",
    help="Only transactions touching this table (* wildcards).",
)
@click.option("--destructive", is_flag=True, help="Only transactions flagged destructive.")
@click.option("--limit", type=count(), default=50, show_default=True)
@json_option
@pass_context
def events(
    ctx: Context,
    since: str | None,
    until: str | None,
    table_name: str | None,
    destructive: bool,
    limit: int,
    as_json: bool,
) -> None:
    """Search the index: newest first."""
    now = time.time()
    filters = Filters(
        since=parse_time(since, now) if since else None,
        until=parse_time(until, now) if until else None,
        table=table_name,
        destructive=destructive,
        limit=limit,
    )
    store = IndexStore(ctx.config.index.path, readonly=True)
    try:
        found = store.search(filters)
    finally:
        store.close()
    if as_json:
        emit_json([record.to_json() for record in found])
        return
    if not found:
        say("no matching transactions")
        return
    out(render_events(found))


def render_events(records: Sequence[IndexedTransaction]) -> str:
    rows = []
    for r in records:
        inserts, updates, deletes = r.rows
        rows.append(
            [
                r.id,
                iso(r.timestamp),
                r.gtid,
                f"{r.file}:{r.start_pos}",
                ",".join(t.table for t in r.tables)[:40] or None,
                f"+{inserts} ~{updates} -{deletes}",
                f"{r.destructive.severity.upper()} {r.destructive.category}"
                if r.destructive
                else None,
                " ".join(r.statement.split())[:60] or None,
            ]
        )
    return table(
        ["id", "time", "gtid", "start", "tables", "rows", "destructive", "statement"], rows
    )
