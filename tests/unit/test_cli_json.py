"""Every command takes --json (issue 18, item 10); `drkit tui` is the one that prints no data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from drkit.cli import cli, main

ROOT = Path(__file__).resolve().parents[2]


def commands() -> Iterator[tuple[str, click.Command]]:
    ctx = click.Context(cli)

    def walk(group: click.Group, path: list[str]) -> Iterator[tuple[str, click.Command]]:
        for name in group.list_commands(ctx):
            sub = group.get_command(ctx, name)
            assert sub is not None
            if isinstance(sub, click.Group):
                yield from walk(sub, [*path, name])
            else:
                yield " ".join([*path, name]), sub

    yield from walk(cli, [])


def test_every_command_takes_json() -> None:
    missing = [
        name
        for name, command in commands()
        if "--json" not in {o for p in command.params for o in getattr(p, "opts", [])}
    ]
    assert missing == ["tui"]


def test_drill_check_json_lists_each_playbook(capsys: pytest.CaptureFixture[str]) -> None:
    book = ROOT / "playbooks" / "drills" / "drop-table.yaml"
    with pytest.raises(SystemExit) as ended:
        main(["drill", "check", str(book), "--json"])
    assert ended.value.code in (0, None)
    shown = json.loads(capsys.readouterr().out)
    assert shown[0]["name"] == "drop-table" and shown[0]["steps"] > 0


def test_sandbox_down_json_on_an_empty_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["sandbox", "down", "--dir", str(tmp_path), "--json"])
    assert ended.value.code in (0, None)
    assert json.loads(capsys.readouterr().out) == {"stopped": [], "purged": False}


def test_index_progress_line_is_throttled_and_says_where(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from drkit.cli.index import _Progress
    from drkit.index.records import IndexedTransaction

    tx = IndexedTransaction(7, "0-1-7", "mysql-bin.000003", 4, 900, 0, 1, "dml", (), "", None)
    progress = _Progress(every=0.0)
    progress([tx, tx])
    progress.done()
    err = capsys.readouterr().err
    assert err.startswith("\rindexing: 2 transactions (") and "at mysql-bin.000003:900" in err
    assert err.endswith("\n")
    quiet = _Progress(every=3600)
    quiet.shown = 1e18  # within the interval: nothing printed
    quiet([tx])
    quiet.done()
    assert capsys.readouterr().err == ""
