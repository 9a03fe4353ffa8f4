"""`drkit index [--follow]` and `drkit events`: build and search the transaction index."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import TYPE_CHECKING

import click

from drkit.cli.checks import operations
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
    time_window,
    yes_option,
)
from drkit.errors import UsageError
from drkit.index.delivery import StoredTransactions
from drkit.index.records import IndexedTransaction
from drkit.index.store import Filters, IndexStore
from drkit.render import table
from drkit.timeparse import iso, zone_note

if TYPE_CHECKING:
    from drkit.checks.dropped import DroppedRows
    from drkit.config import Config
    from drkit.index.indexer import Indexer
    from drkit.retention.schedule import PruneSchedule


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
@json_option
@pass_context
def index_command(
    ctx: Context,
    follow: bool,
    rebuild: bool,
    metrics_address: str | None,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Copy the primary's binlogs into the archive and index every transaction.

    \b
    Examples:
      drkit index                  # catch up once and exit
      drkit index --follow         # keep following the primary (Ctrl-C stops)
      drkit index --follow --metrics 127.0.0.1:9108
      drkit index --json           # {"new", "total", "seconds", "checkpoint"} on stdout
      drkit index --rebuild --dry-run
    """
    from drkit.index.indexer import Indexer

    if rebuild:
        if follow:
            raise UsageError("--rebuild and --follow do not go together")
        rebuild_index(ctx, dry_run=dry_run, yes=yes, as_json=as_json)
        return
    if dry_run or yes:
        raise UsageError("--dry-run and --yes go with --rebuild")
    if metrics_address and not follow:
        raise UsageError("--metrics goes with --follow")
    config = ctx.config
    # While following, the same prune as `drkit prune` (through the facade) every interval.
    pruner = operations(ctx).prune_schedule(say) if follow else None
    server = None
    if metrics_address:
        from drkit.guard.metrics import TopologyMetrics
        from drkit.io.metrics import serve

        metrics = TopologyMetrics(config, command="index", pruner=pruner)
        server = serve(metrics_address, metrics.collect)
        say(f"metrics on http://{server.host}:{server.port}/metrics")
    indexer = Indexer(config, report=say)
    try:
        if pruner is not None:
            _follow(indexer, config, pruner, as_json=as_json)
        else:
            _once(indexer, as_json=as_json)
    finally:
        indexer.close()
        if server is not None:
            server.stop()


def _once(indexer: Indexer, *, as_json: bool) -> None:
    progress = _Progress() if sys.stderr.isatty() and not as_json else None
    result = indexer.run_once(on_new=progress)
    if progress is not None:
        progress.done()
    if as_json:
        emit_json(
            {
                "new": result.new,
                "total": result.total,
                "seconds": round(result.seconds, 3),
                "checkpoint": str(result.checkpoint) if result.checkpoint else None,
            }
        )
        return
    out(
        f"indexed {result.new} new transactions ({result.total} in all) in "
        f"{result.seconds:.1f}s; checkpoint {result.checkpoint or '-'}"
    )


def _follow(indexer: Indexer, config: Config, pruner: PruneSchedule, *, as_json: bool) -> None:
    stop = threading.Event()

    def interrupt(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    started = time.monotonic()
    counted = [0]

    def on_new(batch: StoredTransactions) -> None:
        counted[0] += len(batch)
        for record in batch.destructive():  # the others are not read back
            if record.destructive is not None:
                say(f"DESTRUCTIVE {record.label}: {record.destructive.reason}")

    say(f"following {config.require_primary().name}; {pruner.describe()}; Ctrl-C stops")
    pruner.start()
    try:
        indexer.follow(stop, on_new=on_new)
    finally:
        pruner.stop()
        signal.signal(signal.SIGINT, previous)
    checkpoint = indexer.store.checkpoint()
    if as_json:
        emit_json(
            {
                "new": counted[0],
                "seconds": round(time.monotonic() - started, 3),
                "checkpoint": str(checkpoint) if checkpoint else None,
            }
        )
        return
    out(
        f"stopped after {time.monotonic() - started:.0f}s: {counted[0]} new transactions; "
        f"checkpoint {checkpoint or '-'}"
    )


class _Progress:
    """A terminal's progress line on a long backlog: transactions, rate, where in the binlog
    (stderr only, when it is a terminal; scripts see the summary alone)."""

    def __init__(self, every: float = 0.5) -> None:
        self.started = time.monotonic()
        self.shown = 0.0
        self.every = every
        self.count = 0
        self.wrote = False

    def __call__(self, batch: Sequence[IndexedTransaction]) -> None:
        self.count += len(batch)
        now = time.monotonic()
        if not batch or now - self.shown < self.every:
            return
        self.shown = now
        rate = self.count / max(now - self.started, 1e-6)
        last = batch[-1]
        click.echo(
            f"\rindexing: {self.count} transactions ({rate:,.0f}/s), at {last.file}:{last.end_pos}"
            f", committed {iso(last.timestamp)}   ",
            err=True,
            nl=False,
        )
        self.wrote = True

    def done(self) -> None:
        if self.wrote:
            click.echo(err=True)


def rebuild_index(ctx: Context, *, dry_run: bool, yes: bool, as_json: bool = False) -> None:
    """`drkit index --rebuild`: print the plan, ask, rebuild from the archive."""
    from drkit.index.rebuild import plan_rebuild, rebuild

    config = ctx.config
    plan = plan_rebuild(config)
    if dry_run:
        if as_json:
            emit_json({"dry_run": True, "plan": plan.render()})
        else:
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
    if as_json:
        emit_json(
            {
                "index": str(done.index),
                "transactions": done.transactions,
                "seconds": round(done.seconds, 3),
                "checkpoint": str(done.checkpoint) if done.checkpoint else None,
                "aside": str(done.aside) if done.aside else None,
            }
        )
        return
    out(
        f"rebuilt {done.index} from the archive in {done.seconds:.1f}s: {done.transactions} "
        f"transactions; checkpoint {done.checkpoint or '-'}"
        + (f"; previous index moved aside to {done.aside}" if done.aside else "")
    )
    say("run `drkit index` to copy and index what the primary wrote since")


@click.command()
@click.option(
    "--since", metavar="T", help="ISO-8601 time (local time unless Z or +HH:MM) or relative (-2h)."
)
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
    """Search the index: newest first; times are printed in UTC (Z).

    \b
    Examples:
      drkit events --destructive --since -2h
      drkit events --table 'shop.*' --since 2026-12-03T14:31   # local time, said on stderr
      drkit events --until 2026-12-03T13:31Z --limit 10 --json
    """
    now = time.time()
    for given in (since, until):
        note = zone_note(given) if given else None
        if note:
            say(f"drkit: {note}")
    window = time_window(since, until, now)
    filters = Filters(
        since=window[0],
        until=window[1],
        table=table_name,
        destructive=destructive,
        limit=limit,
    )
    with IndexStore(ctx.config.index.path, readonly=True) as store:
        found = store.search(filters)
    # A DROP or TRUNCATE has no row events: the delayed copy may still say what it took.
    from drkit.service import Drkit

    taken = Drkit(ctx.config).dropped_rows(found)
    if as_json:
        emit_json([_event_json(record, taken) for record in found])
        return
    if not found:
        say("no matching transactions")
        return
    out(render_events(found, taken))


def _event_json(
    record: IndexedTransaction, taken: Mapping[int, Sequence[DroppedRows]]
) -> dict[str, object]:
    data = record.to_json()
    tables = taken.get(record.id)
    data["rows_taken"] = [t.to_json() for t in tables] if tables is not None else None
    return data


def rows_cell(record: IndexedTransaction, taken: Sequence[DroppedRows] | None) -> str:
    """`+1 ~0 -3`; for a DROP or TRUNCATE `took 100` when every table's count is known."""
    if taken and all(t.rows is not None for t in taken):
        return f"took {sum(t.rows or 0 for t in taken)}"
    return record.rows_text


def render_events(
    records: Sequence[IndexedTransaction],
    taken: Mapping[int, Sequence[DroppedRows]] | None = None,
) -> str:
    rows = []
    for r in records:
        rows.append(
            [
                r.id,
                iso(r.timestamp),
                r.gtid,
                f"{r.file}:{r.start_pos}",
                ",".join(t.table for t in r.tables)[:40] or None,
                rows_cell(r, (taken or {}).get(r.id)),
                f"{r.destructive.severity.upper()} {r.destructive.category}"
                if r.destructive
                else None,
                " ".join(r.statement.split())[:60] or None,
            ]
        )
    return table(
        ["id", "time", "gtid", "start", "tables", "rows", "destructive", "statement"], rows
    )
