"""`drkit drill run NAME` and `drill list` (issue 18, item 18)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drkit.cli.drill import find_playbook, first_paragraph, shipped_playbooks
from drkit.errors import UsageError


def test_a_shipped_playbook_is_found_by_its_file_stem_or_its_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # anywhere: the shipped ones are found beside drkit's source
    assert find_playbook(Path("drop-table")).name == "drop-table.yaml"
    assert find_playbook(Path("drop-table-runbook")).parts[-2:] == ("runbooks", "drop-table.yaml")
    with pytest.raises(UsageError) as raised:
        find_playbook(Path("no-such-drill"))
    assert "shipped: " in raised.value.message and "primary-lost" in raised.value.message
    given = tmp_path / "mine.yaml"
    assert find_playbook(given) == given  # a path is a path, existing or not


def test_descriptions_are_whole_sentences() -> None:
    text = "The primary dies right after a DROP TABLE. Nothing can\n  be fetched.\n\nMore."
    assert first_paragraph(text) == (
        "The primary dies right after a DROP TABLE. Nothing can be fetched."
    )
    assert {p.stem for p in shipped_playbooks()} >= {"drop-table", "primary-lost"}


def test_shell_completion_offers_shipped_drill_names() -> None:
    import click

    from drkit.cli.drill import _complete_playbooks, drill

    run = drill.commands["run"]
    ctx = click.Context(run)
    names = [item.value for item in _complete_playbooks(ctx, run.params[0], "pri")]
    assert names[0] == "primary-lost"


def test_help_shows_examples() -> None:
    from click.testing import CliRunner

    from drkit.cli import cli

    for args in (["status"], ["freeze"], ["resume"], ["events"], ["index"], ["drill", "run"]):
        shown = CliRunner().invoke(cli, [*args, "--help"]).output
        assert "Examples:" in shown, args
    assert "latest-destructive" in CliRunner().invoke(cli, ["recover", "--help"]).output
