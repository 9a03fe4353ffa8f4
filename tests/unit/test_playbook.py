"""Playbook validation: the shipped ones load; every malformed one names its line and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from drkit.drill.playbook import PlaybookError, load_playbook

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "playbooks").glob("*/*.yaml"))

GOOD = """\
name: tiny
description: a small drill
parameters:
  rows: 10
  table: shop.orders
steps:
  - sandbox: {delay: 60}
  - workload: {tables: {"{table}": "{rows}"}}
  - snapshot: {name: before, tables: ["{table}"]}
  - disaster: {sql: "DROP TABLE {table}"}
  - detect: {class: drop_table}
  - recover: {before: latest-destructive}
  - verify: {snapshot: before}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "book.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_playbooks_are_valid() -> None:
    names = {path.stem for path in SHIPPED}
    assert {
        "drop-table",
        "delete-without-where",
        "truncate",
        "update-without-where",
        "primary-lost",
        "skip-and-promote",
    } <= names
    for path in SHIPPED:
        book = load_playbook(path)
        assert book.steps, path
        if path.parent.name == "runbooks":
            assert not book.uses_sandbox and not book.destructive_steps, (
                f"{path}: runbooks damage nothing"
            )


def test_parameters_are_substituted_with_their_types(tmp_path: Path) -> None:
    book = load_playbook(write(tmp_path, GOOD), {"rows": "25"})
    workload = book.steps[1]
    assert workload.params["tables"] == {"shop.orders": 25}
    assert book.steps[3].params["sql"] == "DROP TABLE shop.orders"
    assert book.steps[4].params["within"] == 30  # default
    assert [step.line for step in book.steps] == [7, 8, 9, 10, 11, 12, 13]


BAD = [
    (
        "unknown kind",
        ("  - detect: {class: drop_table}", "  - explode: {now: true}"),
        11,
        "unknown step kind 'explode'",
    ),
    (
        "unknown parameter",
        ("{class: drop_table}", "{class: drop_table, within: 5, colour: red}"),
        11,
        "detect: unknown parameter 'colour'",
    ),
    (
        "wrong type",
        ("{delay: 60}", "{delay: soon}"),
        7,
        "sandbox: delay must be int, not str 'soon'",
    ),
    (
        "missing required",
        ("{name: before, tables", "{tables"),
        9,
        "snapshot: missing required parameter 'name'",
    ),
    (
        "bad choice",
        ("{before: latest-destructive}", "{before: latest-destructive, strategy: magic}"),
        12,
        "strategy must be one of auto, upstream, relay, archive",
    ),
    (
        "two forms",
        ("{before: latest-destructive}", "{before: 3, until_time: '-1h'}"),
        12,
        "recover: give exactly one of before, skip, until_time",
    ),
    (
        "unknown placeholder",
        ("DROP TABLE {table}", "DROP TABLE {tabel}"),
        10,
        "unknown parameter {tabel}",
    ),
    (
        "verify without snapshot",
        ("{snapshot: before}", "{snapshot: after}"),
        13,
        "no snapshot named 'after'",
    ),
    (
        "sql without expect",
        ("{snapshot: before}", "{sql: 'SELECT 1'}"),
        13,
        "verify: sql needs expect",
    ),
    ("sandbox not first", ("  - sandbox: {delay: 60}\n", ""), None, None),
    (
        "bad node",
        ("{snapshot: before}", "{snapshot: before, node: standby}"),
        13,
        "node must be one of primary, replica, delayed",
    ),
    (
        "step not a mapping",
        ("  - detect: {class: drop_table}", "  - detect"),
        11,
        "each step is a one-key mapping",
    ),
    (
        "duplicate key",
        ("{class: drop_table}", "{class: drop_table, class: truncate}"),
        11,
        "duplicate key 'class'",
    ),
    ("bad yaml", ("{class: drop_table}", "{class: [drop_table}"), 11, "not valid YAML"),
]


@pytest.mark.parametrize(("case", "edit", "line", "problem"), BAD, ids=[b[0] for b in BAD])
def test_malformed_playbook_names_line_and_problem(
    tmp_path: Path, case: str, edit: tuple[str, str], line: int | None, problem: str | None
) -> None:
    old, new = edit
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    if case == "sandbox not first":
        path = write(
            tmp_path,
            GOOD.replace(old, new, 1).replace(
                "  - recover:", "  - sandbox: {delay: 5}\n  - recover:"
            ),
        )
        line, problem = 11, "sandbox must be the first step"
    with pytest.raises(PlaybookError) as raised:
        load_playbook(path)
    message = raised.value.message
    assert message.startswith(f"{path}:{line}: "), message
    assert problem is not None and problem in message
    assert raised.value.exit_code == 2


def test_unknown_top_level_key_and_unknown_override(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("description:", "descripton:"))
    with pytest.raises(PlaybookError, match=r":2: unknown key 'descripton'"):
        load_playbook(path)
    with pytest.raises(
        PlaybookError,
        match=r"--param colour: the playbook has no such parameter \(it has: rows, table\)",
    ):
        load_playbook(write(tmp_path, GOOD), {"colour": "red"})
    with pytest.raises(PlaybookError, match=r"--param rows: expected an integer, got 'many'"):
        load_playbook(write(tmp_path, GOOD), {"rows": "many"})


def test_every_step_kind_has_a_handler_and_every_handler_a_kind() -> None:
    from drkit.drill.playbook import STEP_KINDS
    from drkit.drill.steps import STEP_HANDLERS

    assert set(STEP_HANDLERS) == set(STEP_KINDS)
