"""`drkit check grants`: the privileges drkit's account lacks or holds beyond need, per node."""

from __future__ import annotations

import click

from drkit.checks.grants import render
from drkit.cli.common import Context, emit_json, json_option, out, pass_context
from drkit.errors import ExitCode


@click.command(name="grants")
@json_option
@pass_context
def grants_command(ctx: Context, as_json: bool) -> int:
    """Per node: missing and excess privileges, with the GRANT/REVOKE statements that fix them.

    \b
    Examples:
      drkit check grants
      drkit check grants --json
    """
    from drkit.checks.privileges import all_grants

    reports = all_grants(ctx.config)
    if as_json:
        emit_json({"ok": all(r.ok for r in reports), "nodes": [r.to_json() for r in reports]})
    else:
        out(render(reports))
    # Missing privileges make features fail halfway: a check that fails is exit 3, like the others.
    return int(ExitCode.DONE if all(r.ok for r in reports) else ExitCode.REFUSED)
