"""The `drkit` command: a thin click layer over drkit.service."""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from typing import NoReturn

import click

from drkit import __version__, logs
from drkit.cli.common import Context
from drkit.errors import DrkitError, ExitCode

# Each command's module is imported only when that command runs: `drkit freeze` must start fast.
COMMANDS: dict[str, str] = {
    "sandbox": "drkit.cli.sandbox:sandbox",
    "status": "drkit.cli.status:status",
    "index": "drkit.cli.index:index_command",
    "events": "drkit.cli.index:events",
    "freeze": "drkit.cli.recovery:freeze_command",
    "recover": "drkit.cli.recovery:recover_command",
    "resume": "drkit.cli.recovery:resume_command",
    "drill": "drkit.cli.drill:drill",
    "check": "drkit.cli.checks:check_group",
    "promote": "drkit.cli.promote:promote_command",
    "extract": "drkit.cli.extract:extract_command",
    "tui": "drkit.cli.tui:tui_command",
    "guard": "drkit.cli.guard:guard_command",
    "inspect": "drkit.cli.inspect:inspect_command",
    "history": "drkit.cli.history:history_command",
    "asof": "drkit.cli.asof:asof_command",
    "flashback": "drkit.cli.flashback:flashback_command",
    "prune": "drkit.cli.prune:prune_command",
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--config",
    "config_path",
    metavar="FILE",
    envvar="DRKIT_CONFIG",
    help="Config file (default: $DRKIT_CONFIG, then ./drkit.toml).",
)
@click.version_option(__version__, prog_name="drkit")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """Disaster recovery for MySQL and MariaDB built around a delayed replica."""
    ctx.obj = Context(config_path)


def main(argv: list[str] | None = None) -> None:
    """Entry point: DrkitError becomes one sentence on stderr and its exit code, never a traceback."""
    logs.configure(logs.TEXT)
    try:
        # Commands return an ExitCode (or None for done); click hands it back without exiting.
        result = cli.main(args=argv, prog_name="drkit", standalone_mode=False)
    except DrkitError as exc:
        click.echo(f"drkit: {exc.message}", err=True)
        if exc.hint:
            click.echo(f"hint: {exc.hint}", err=True)
        if _wants_json(argv):
            # Under --json a refusal or error is also a JSON object on stdout, for scripts.
            click.echo(json.dumps(exc.to_json(), indent=2, default=str))
        sys.exit(int(exc.exit_code))
    except click.exceptions.Abort:
        click.echo("drkit: interrupted; nothing more was done", err=True)
        sys.exit(int(ExitCode.FAILED))
    except click.exceptions.NoArgsIsHelpError as exc:
        exc.show()  # a group with no command: its help, as click prints it
        sys.exit(int(ExitCode.USAGE))
    except click.UsageError as exc:
        # An unknown option or command, a missing or extra argument, a value out of range or of
        # the wrong kind: one sentence and exit 2 like drkit's own usage errors, JSON under --json.
        _usage_error(exc, argv)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("drkit: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        click.echo(f"drkit: internal error: {type(exc).__name__}: {exc}", err=True)
        if os.environ.get("DRKIT_DEBUG"):
            traceback.print_exc()
        else:
            click.echo("hint: set DRKIT_DEBUG=1 to see the traceback, and report it", err=True)
        sys.exit(int(ExitCode.FAILED))
    sys.exit(int(result) if isinstance(result, int) else 0)


def _usage_error(exc: click.UsageError, argv: list[str] | None) -> NoReturn:
    message = " ".join(exc.format_message().split())
    hint = f"see `{exc.ctx.command_path} --help`" if exc.ctx is not None else "see `drkit --help`"
    click.echo(f"drkit: {message}", err=True)
    click.echo(f"hint: {hint}", err=True)
    if _wants_json(argv):
        error = {"error": message, "exit": int(ExitCode.USAGE), "hint": hint}
        click.echo(json.dumps(error, indent=2))
    sys.exit(int(ExitCode.USAGE))


def _wants_json(argv: list[str] | None) -> bool:
    args = sys.argv[1:] if argv is None else argv
    return "--json" in args[: args.index("--")] if "--" in args else "--json" in args
