"""Defects found by a newcomer's trial run of the CLI, each checked on a real sandbox."""

from __future__ import annotations

import json

import pytest

from tests.support.sandbox import Sandbox


@pytest.fixture(scope="module")
def box(module_box: Sandbox) -> Sandbox:
    return module_box


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("freeze", "--bogus"), "No such option '--bogus'"),
        (("freeze", "extra"), "unexpected extra argument (extra)"),
        (("events", "--limit", "-1"), "Invalid value for '--limit'"),
        (("prune", "--keep", "1d"), "No such option '--keep'"),
        (("inspect", "-e", "SELECT 1"), "Missing option '--at'"),
        (("check", "nosuch"), "No such command 'nosuch'"),
    ],
)
def test_click_usage_errors_are_one_sentence_and_json_under_json(
    box: Sandbox, args: tuple[str, ...], said: str
) -> None:
    done = box.drkit(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    first, _, rest = done.stderr.partition("\n")
    assert first.startswith("drkit: ") and said in first, done.stderr
    assert rest.startswith("hint: see `drkit "), done.stderr
    assert "Traceback" not in done.stderr and "Usage:" not in done.stderr

    as_json = box.drkit(*args, "--json")
    assert as_json.returncode == 2
    error = json.loads(as_json.stdout)
    assert error["exit"] == 2 and said in error["error"]
    assert error["hint"].startswith("see `drkit ")
    # Nothing was changed: the delayed replica still applies.
    status = box.replica_status("delayed")
    assert status["Slave_SQL_Running"] == "Yes" and status["Slave_IO_Running"] == "Yes"
