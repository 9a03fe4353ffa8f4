"""The README's Commands table names every command the CLI has (a newcomer's only guide)."""

from __future__ import annotations

from pathlib import Path

import click

from drkit.cli import cli

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_command_has_a_row_in_the_readme_commands_table() -> None:
    text = README.read_text()
    table = text.split("## Commands", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `drkit ")]
    named = {row.split("`")[1].split()[1] for row in rows}
    context = click.Context(cli)
    # `drkit tui` has its own section, "The incident console".
    missing = sorted(set(cli.list_commands(context)) - named - {"tui"})
    assert not missing, f"README's Commands table lacks: {', '.join(missing)}"
    assert "`drkit tui`" in text
