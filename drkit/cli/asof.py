"""`drkit asof`: one table as it was at a T earlier than the delayed replica, rewound in memory."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

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
    seconds,
    yes_option,
)
from drkit.errors import ExitCode, UsageError


@click.command(name="asof")
@click.option("--table", "table", required=True, metavar="S.T", help="The table to see.")
@click.option("--at", "at", required=True, metavar="T", help="The moment (ISO-8601 or -2h).")
@click.option(
    "--where", "where", metavar="SQL", help="Only the rows that satisfied this condition at T."
)
@click.option(
    "--csv",
    "csv_file",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the rows to FILE as CSV (NULL as an empty field).",
)
@click.option(
    "--into",
    "into",
    metavar="S.T2",
    help="Write the rows as a new table on the primary (never overwrites).",
)
@click.option("--node", metavar="NAME", help="The delayed replica (default: the only one).")
@click.option(
    "--timeout",
    type=seconds(1, 7 * 86400),
    default=3600.0,
    show_default=True,
    help="The longest a statement may wait for a lock.",
)
@dry_run_option
@yes_option
@json_option
@pass_context
def asof_command(
    ctx: Context,
    table: str,
    at: str,
    where: str | None,
    csv_file: Path | None,
    into: str | None,
    node: str | None,
    timeout: float,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> int:
    """One table as it was at T, earlier than the delayed replica's position, with no server
    rewound: the replica's current rows (one read-only snapshot, its position pinned with them),
    then the archive's row changes since T undone, newest first, in memory.

    Refused (exit 3, nothing changed) when the range holds a schema change of the table, a
    binlog gap, a transaction of the table skipped on the replica, images that are not FULL, a
    file the archive lacks, a T before the oldest archived transaction, or a T after the
    replica's position (`drkit inspect --at T` then). --into writes S.T2_drkit_merge and renames
    it to S.T2 once verified.

    \b
    Examples:
      drkit asof --table shop.orders --at 2026-12-03T14:02:00Z --where "id = 42"
      drkit asof --table shop.orders --at -3h --csv orders-3h.csv
      drkit asof --table shop.orders --at -3h --into shop.orders_3h_ago
    """
    if csv_file is not None and (as_json or into is not None):
        raise UsageError("--csv FILE takes neither --json nor --into")
    from drkit.timeparse import zone_note

    note = zone_note(at)
    if note:
        say(f"drkit: {note}")
    ops = operations(ctx)
    plan = ops.plan_asof(table, at, where=where, into=into, node=node)
    if dry_run:
        if as_json:
            emit_json({"dry_run": True, "plan": plan.to_json()})
        else:
            out(plan.render())
        return int(ExitCode.DONE)
    if into is not None:
        say(plan.render())
        confirm(f"Create {plan.into} on {plan.destination} with {plan.table} as of {at}?", yes=yes)
    result = ops.asof(plan, timeout=timeout)
    if as_json:
        emit_json(result.to_json(with_rows=into is None))
    elif csv_file is not None:
        _write_csv(csv_file, result.columns, result.rows)
        out(result.summary() + f"\nwritten to {csv_file}")
    elif into is not None:
        out(result.summary())
    else:
        from drkit.flashback.values import shown
        from drkit.render import table as render_table

        out(render_table(result.columns, [[shown(v) for v in row] for row in result.rows]))
        out(result.summary())
    if into is not None and not result.verified:
        return int(ExitCode.FAILED)
    return int(ExitCode.DONE)


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[tuple[object, ...]]) -> None:
    from drkit.flashback.values import shown

    try:
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(columns)
            cell = _csv_cell(shown)
            writer.writerows([cell(v) for v in row] for row in rows)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _csv_cell(shown: Callable[[object], str]) -> Callable[[object], object]:
    """NULL as an empty field; the common types written here as `shown` writes them, without
    the call (a 100 000-row table is half a million cells)."""

    def cell(value: object) -> object:
        kind = type(value)
        if kind is str or kind is int:
            return value
        if kind is Decimal:
            return str(value)
        if kind is dt.datetime and value.tzinfo is None:  # type: ignore[attr-defined]
            return value.isoformat(sep=" ")  # type: ignore[attr-defined]
        return "" if value is None else shown(value)

    return cell
