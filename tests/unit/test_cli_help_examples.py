"""Every command's --help ends with examples (README: Shell completion), and each example runs as
written: its command exists, its options are that command's, its times parse."""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Iterator

import click
import pytest

from drkit.cli import cli, main
from drkit.timeparse import parse_time

TIME_OPTIONS = ("--at", "--since", "--until", "--until-time")


def commands() -> Iterator[tuple[tuple[str, ...], click.Command]]:
    def walk(
        path: tuple[str, ...], command: click.Command
    ) -> Iterator[tuple[tuple[str, ...], click.Command]]:
        if isinstance(command, click.Group):
            context = click.Context(command)
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                assert sub is not None, name
                yield from walk((*path, name), sub)
        else:
            yield path, command

    yield from walk((), cli)


def examples(command: click.Command) -> list[str]:
    text = command.help or ""
    assert "Examples:" in text
    lines = text.split("Examples:", 1)[1].splitlines()
    return [line.split("  #", 1)[0].strip() for line in lines if line.strip().startswith("drkit ")]


def resolve(words: list[str]) -> tuple[click.Command, list[str]]:
    """The command an example's words name, and the words after its name."""
    command: click.Command = cli
    while isinstance(command, click.Group) and words:
        sub = command.get_command(click.Context(command), words[0])
        assert sub is not None, f"no command {words[0]!r}"
        command, words = sub, words[1:]
    return command, words


@pytest.mark.parametrize("path", [p for p, _ in commands()], ids=" ".join)
def test_every_help_ends_with_examples_that_run_as_written(path: tuple[str, ...]) -> None:
    written = examples(dict(commands())[path])
    assert written, f"drkit {' '.join(path)} --help shows no example"
    for example in written:
        words = shlex.split(example)[1:]
        if words[:1] == ["--config"]:
            words = words[2:]
        command, args = resolve(words)
        assert not isinstance(command, click.Group), example
        options = {o: p for p in command.params if isinstance(p, click.Option) for o in p.opts}
        rest = iter(args)
        for word in rest:
            if word.startswith("-"):
                name, _, attached = word.partition("=")
                assert name in options, f"{example}: {command.name} has no {name}"
                if options[name].is_flag or attached:
                    continue
                value = next(rest)
                if name in TIME_OPTIONS:
                    parse_time(value, time.time())


def test_an_unknown_playbook_lists_the_names_drill_list_prints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["drill", "run", "nosuch"])
    assert ended.value.code == 2
    err = capsys.readouterr().err
    shipped = err.split("shipped: ", 1)[1].split(")", 1)[0].split(", ")
    assert len(shipped) == len(set(shipped)), err
    assert "drop-table" in shipped and "drop-table-runbook" in shipped
    with pytest.raises(SystemExit) as listed:
        main(["drill", "list", "--json"])
    assert listed.value.code == 0
    assert {e["name"] for e in json.loads(capsys.readouterr().out)} == set(shipped)
