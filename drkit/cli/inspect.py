"""`drkit inspect`: query the database as it was at time T, on the delayed replica."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from drkit.cli.common import (
    Context,
    confirm,
    emit_json,
    json_option,
    out,
    pass_context,
    say,
    seconds,
    yes_option,
)
from drkit.errors import ExitCode, UsageError
from drkit.render import csv_blocks, table

if TYPE_CHECKING:
    from drkit.config import NodeConfig
    from drkit.pitr.inspect import InspectReport


@click.command(name="inspect")
@click.option("--at", "at", metavar="T", required=True, help="The moment to see (ISO-8601 or -2h).")
@click.option(
    "-e", "--execute", "executes", metavar="SQL", multiple=True, help="A query (repeatable)."
)
@click.option(
    "--file", "file", type=click.Path(dir_okay=False, path_type=Path), help="Queries from a file."
)
@click.option(
    "--shell", is_flag=True, help="Open the server's client on the replica, read-only, at T."
)
@click.option("--csv", "as_csv", is_flag=True, help="Results as CSV (one block per query).")
@click.option(
    "--hold", is_flag=True, help="Keep the replica at T afterwards (`drkit resume` ends it)."
)
@click.option(
    "--through",
    "through",
    metavar="TARGET",
    multiple=True,
    help="Roll past this destructive transaction on purpose (repeatable).",
)
@click.option("--node", metavar="NAME", help="The delayed replica (default: the only one).")
@click.option(
    "--timeout",
    type=seconds(0, 7 * 86400),
    default=3600.0,
    show_default=True,
    help="Seconds to wait for the roll-forward, and the longest a query may run.",
)
@click.option("--dry-run", is_flag=True, help="Print the plan and the queries; run nothing.")
@yes_option
@json_option
@pass_context
def inspect_command(
    ctx: Context,
    at: str,
    executes: tuple[str, ...],
    file: Path | None,
    shell: bool,
    as_csv: bool,
    hold: bool,
    through: tuple[str, ...],
    node: str | None,
    timeout: float,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> int:
    """The database as it was at T: roll the delayed replica forward to T (the last transaction
    committed at or before it), query it on one read-only snapshot, then restore the delay.

    It goes through the recovery engine: the same lock, the same refusal to roll past a
    destructive transaction nobody named, the plan printed by --dry-run. A T earlier than
    what the replica has applied is refused with the window that can be seen.

    \b
    Examples:
      drkit inspect --at 2026-12-03T14:02Z -e "SELECT * FROM shop.orders WHERE id = 42"
      drkit inspect --at -20m --file report.sql --csv > then.csv
      drkit inspect --at 2026-12-03T14:02:00 --shell --hold
    """
    from drkit.service import Operations

    statements = _statements(executes, file, shell)
    if shell and (as_json or as_csv):
        raise UsageError("--shell is interactive: it takes neither --json nor --csv")
    if as_json and as_csv:
        raise UsageError("choose one of --json and --csv")
    ops = Operations(ctx.config, command=" ".join(shlex.quote(a) for a in ["drkit", *sys.argv[1:]]))
    prepared = ops.prepare_inspect(at, through=through, node=node, lock=not dry_run)
    after = (
        "keep the replica at T (--hold)"
        if hold
        else "restore the configured delay and restart replication (unless that is unsafe)"
    )
    if dry_run:
        if as_json:
            emit_json(
                {
                    "dry_run": True,
                    "plan": prepared.plan.to_json(),
                    "statements": list(statements),
                    "afterwards": after,
                }
            )
        else:
            out(prepared.plan.render())
            out("  then, on one read-only snapshot:")
            out("\n".join(f"    {s}" for s in statements) or "    the client (--shell)")
            out(f"  then: {after}")
        return int(ExitCode.DONE)
    try:
        say(prepared.plan.render())
        confirm(f"Roll {prepared.plan.node} forward to {at} and query it?", yes=yes)
    except BaseException:
        prepared.release()
        raise
    target = ctx.config.node(prepared.plan.node)
    report = ops.inspect(
        prepared,
        statements,
        hold=hold,
        timeout=timeout,
        on_step=lambda n, s: say(f"step {n}: {s.render()}"),
        between=(lambda: _shell(target)) if shell else None,
    )
    if as_json:
        emit_json(report.to_json())
    elif as_csv:
        out(_csv(report))
    else:
        out(_text(report))
    return int(ExitCode.DONE)


def _statements(executes: tuple[str, ...], file: Path | None, shell: bool) -> tuple[str, ...]:
    from drkit.pitr.inspect import split_statements

    if sum((bool(executes), file is not None, shell)) != 1:
        raise UsageError("give exactly one of -e SQL, --file F, --shell")
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read {file}: {exc.strerror or exc}") from None
        found = split_statements(text)
    else:
        found = [s for text in executes for s in split_statements(text)]
    if not shell and not found:
        raise UsageError("no query to run")
    return tuple(found)


def _text(report: InspectReport) -> str:
    from drkit.timeparse import iso

    lines = [
        f"{report.node} as of {iso(report.at)} (stopped before {report.recovery.stop_gtid or 'the end of the index'}; "
        f"executed {report.recovery.executed_gtid or '-'}), answered in {report.seconds_to_answer:.2f}s"
    ]
    for result in report.results:
        lines.append("")
        lines.append(f"-- {result.statement}")
        if result.columns:
            lines.append(table(result.columns, result.rows))
            more = f" (first {len(result.rows)} shown)" if result.truncated else ""
            count = len(result.rows)
            lines.append(f"({count} row{'' if count == 1 else 's'}{more})")
        else:
            lines.append("(no result set)")
    lines.append("")
    if report.held:
        reason = report.held_reason
        ends = "" if "drkit resume" in reason else "; `drkit resume` ends the hold"
        lines.append(f"held at T: {reason}{ends}")
    elif report.resumed:
        lines.append("the configured delay is restored and replication restarted")
    return "\n".join(lines)


def _csv(report: InspectReport) -> str:
    return csv_blocks([(result.columns, result.rows) for result in report.results])


def _shell(node: NodeConfig) -> None:
    """The server's own client on the node, read-only; the password through an inherited fd."""
    from drkit.io.command import scrubbed_environment
    from drkit.io.optionfile import client_option_file
    from drkit.io.programs import find_program

    client = find_program("mariadb", "mysql")
    if client is None:
        raise UsageError("the mariadb/mysql client was not found on PATH")
    with client_option_file(node) as options:
        say(
            "read-only session at T; leave the client to restore the delay (or keep it with --hold)"
        )
        subprocess.run(
            [
                str(client),
                f"--defaults-extra-file={options}",
                "--init-command=SET SESSION TRANSACTION READ ONLY",
            ],
            check=False,
            pass_fds=options.pass_fds,  # the option text, in memory only
            env=scrubbed_environment(),  # no password variable reaches the client
        )
