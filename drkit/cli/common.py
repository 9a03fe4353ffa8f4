"""What every command shares: the config option, output streams, confirmation, error mapping."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import click

from drkit import config as config_module
from drkit.config import Config
from drkit.errors import ExitCode, RefusedError, UsageError

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Context:
    """Per-invocation state: where the config is, loaded on first use."""

    config_path: str | None

    @cached_property
    def config(self) -> Config:
        from drkit.io.secrets import note_config

        loaded = config_module.load(self.config_path)
        note_config(loaded)  # no child of this command inherits a password variable it names
        return loaded


pass_context = click.make_pass_decorator(Context)

# The largest count a command takes (`events --limit`): far more rows than any index holds, far
# less than SQLite's 64-bit integers.
MAX_COUNT = 1_000_000_000


class FiniteFloatRange(click.FloatRange):
    """A FloatRange that also refuses nan and infinity (click's lets nan through any bound)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def seconds(minimum: float = 0.0, maximum: float = 86400.0) -> FiniteFloatRange:
    """A number of seconds above `minimum` (exclusive) and at most `maximum`."""
    return FiniteFloatRange(min=minimum, max=maximum, min_open=True)


def count(minimum: int = 1, maximum: int = MAX_COUNT) -> click.IntRange:
    return click.IntRange(min=minimum, max=maximum)


def emit_json(data: object) -> None:
    """Machine output: one JSON document on stdout, nothing else there."""
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def say(message: str) -> None:
    """Diagnostics and progress go to stderr so stdout stays parseable."""
    click.echo(message, err=True)


def out(message: str = "") -> None:
    click.echo(message)


def confirm(question: str, *, yes: bool) -> None:
    """Ask before a reversible change unless --yes; refusing changes nothing (exit 3)."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise RefusedError(
            f"{question} Not confirmed (stdin is not a terminal; pass --yes to proceed); "
            "nothing was changed"
        )
    if not click.confirm(question, default=False, err=True):
        raise RefusedError("not confirmed; nothing was changed")


def confirm_by_typing(what: str, expected: str, *, yes: bool) -> None:
    """Irreversible changes: the operator types the node's name (or passes --yes in scripts)."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise RefusedError(
            f"{what.rstrip('.')}: not confirmed (stdin is not a terminal; pass --yes to "
            "proceed); nothing was changed"
        )
    typed = click.prompt(
        f"{what}\nType the node name {expected!r} to confirm", err=True, default=""
    )
    if typed.strip() != expected:
        raise RefusedError(f"typed {typed.strip()!r}, not {expected!r}; nothing was changed")


def dry_run_option(func: F) -> F:
    return click.option(
        "--dry-run",
        is_flag=True,
        help="Print the plan (every statement and its node); run nothing.",
    )(func)


def yes_option(func: F) -> F:
    return click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")(func)


def sandbox_dir_option(func: F) -> F:
    return click.option(
        "--dir",
        "directory",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("sandbox"),
        show_default=True,
        help="Folder of the sandbox.",
    )(func)


__all__ = ["Context", "ExitCode", "confirm", "confirm_by_typing", "emit_json", "out", "say"]


def time_window(
    since: str | None, until: str | None, now: float
) -> tuple[float | None, float | None]:
    """--since and --until as Unix seconds; a window that ends before it starts is a usage error
    (it would silently match nothing)."""
    from drkit.timeparse import iso, parse_time

    start = parse_time(since, now) if since else None
    end = parse_time(until, now) if until else None
    if start is not None and end is not None and start > end:
        raise UsageError(
            f"--since {since} ({iso(round(start))}) is after --until {until} ({iso(round(end))}): "
            "the window is empty"
        )
    return start, end
