"""What `drkit asof` and its drill take as input: statements naming a schema, moments named in
a playbook."""

from __future__ import annotations

from pathlib import Path

import pytest

from drkit.drill.playbook import PlaybookError, load_playbook
from drkit.index.span import statement_identifiers

BOOK = """\
name: moments
description: historic inspection, small
steps:
  - sandbox: {{delay: 60}}
  - workload: {{tables: {{shop.orders: 10}}}}
  - moment: {{name: first, tables: [shop.orders]}}
  - changes: {{table: shop.orders, transactions: 5}}
  - {kind}: {{at: {at}, {what}}}
"""


@pytest.mark.parametrize(
    ("statement", "names"),
    [
        ("DROP DATABASE `shop`", {"drop", "database", "shop"}),
        ("CREATE DATABASE scratch0", {"create", "database", "scratch0"}),
        (
            "/*!40000 ALTER TABLE `t` DISABLE KEYS */",
            {"40000", "alter", "table", "t", "disable", "keys"},
        ),
        ("DROP DATABASE `we``ird`", {"drop", "database", "we`ird"}),
    ],
)
def test_statements_are_read_as_whole_identifiers(statement: str, names: set[str]) -> None:
    assert statement_identifiers(statement) == names


def test_inspect_and_asof_ask_for_recorded_moments(tmp_path: Path) -> None:
    path = tmp_path / "book.yaml"
    path.write_text(BOOK.format(kind="asof", at="first", what="table: shop.orders"))
    steps = load_playbook(path).steps
    assert [s.kind for s in steps][-3:] == ["moment", "changes", "asof"]
    path.write_text(BOOK.format(kind="inspect", at="second", what="tables: [shop.orders]"))
    with pytest.raises(PlaybookError, match=r"book.yaml:8: inspect: no moment named 'second'"):
        load_playbook(path)
